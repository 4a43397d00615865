from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _history_importable():
    from generations.models import ProviderAccount

    return ProviderAccount.objects.filter(surface=ProviderAccount.Surface.FNF, active=True).exists()


def provider(request):
    return {
        "using_simulator": settings.USE_SIMULATOR,
        "provider_base_url": settings.HIGGSFIELD_BASE_URL,
        # Asked only by a page that shows the navigation: whether an fnf account has a history to import.
        "history_importable": SimpleLazyObject(_history_importable),
    }
