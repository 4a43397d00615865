from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(**kwargs):
    """Styles and motions change at the provider now and then: refresh them daily."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="characters-sync-catalogues",
        defaults={"func": "characters.tasks.sync_catalogues", "schedule_type": Schedule.DAILY, "repeats": -1})


class CharactersConfig(AppConfig):
    name = "characters"

    def ready(self):
        post_migrate.connect(ensure_schedules, sender=self)
