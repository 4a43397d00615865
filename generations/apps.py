from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(**kwargs):
    """The sweeper re-enqueues whatever is overdue; it must always be scheduled. Provider
    estimates are refreshed hourly, and idempotency keys older than a day are forgotten hourly."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="generations-sweep",
        defaults={"func": "generations.tasks.sweep", "schedule_type": Schedule.MINUTES, "minutes": 1,
                  "repeats": -1})
    # The provider's own prices, where its surface offers /estimate (generations/pricing.py).
    Schedule.objects.update_or_create(
        name="generations-refresh-estimates",
        defaults={"func": "generations.pricing.refresh_estimates", "schedule_type": Schedule.HOURLY,
                  "repeats": -1})
    Schedule.objects.update_or_create(
        name="generations-forget-idempotency-keys",
        defaults={"func": "generations.idempotency.forget_expired", "schedule_type": Schedule.HOURLY,
                  "repeats": -1})


class GenerationsConfig(AppConfig):
    name = "generations"

    def ready(self):
        post_migrate.connect(ensure_schedules, sender=self)
