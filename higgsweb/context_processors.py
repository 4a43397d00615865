from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _history_importable():
    from generations.models import ProviderAccount
    from higgsweb import compiled

    return bool(compiled.rows("history-importable", lambda: ProviderAccount.objects.filter(
        surface=ProviderAccount.Surface.FNF, active=True).values_list("pk")[:1]))


def _webhook_mode():
    """The environment's account, from settings alone (no query: the login page shows the banner)."""
    from generations import webhook_mode

    return webhook_mode.for_account(None)


def provider(request):
    return {
        "using_simulator": settings.USE_SIMULATOR,
        "provider_base_url": settings.HIGGSFIELD_BASE_URL,
        # Asked only by a page that shows the navigation: whether an fnf account has a history to import.
        "history_importable": SimpleLazyObject(_history_importable),
        # How results come back (webhook or polling) and why, for the banner and the studio.
        "webhook_mode": SimpleLazyObject(_webhook_mode),
    }
