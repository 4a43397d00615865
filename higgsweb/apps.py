from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(**kwargs):
    """Read the provider balance every hour, for the reconciliation page."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="ledger-provider-balance",
        defaults={"func": "higgsweb.ledger.read_provider_balances", "schedule_type": Schedule.HOURLY,
                  "repeats": -1})


class HiggswebConfig(AppConfig):
    name = "higgsweb"
    verbose_name = "higgsweb"

    def ready(self):
        from higgsweb import checks, ledger, notify  # noqa: F401  (system checks; ledger and notification receivers)

        post_migrate.connect(ensure_schedules, sender=self)
