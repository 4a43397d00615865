import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_q.tasks import async_task

from characters.models import Style


def wait_for_provider(seconds=15):
    """With the simulator starting beside the worker, give it a moment to listen."""
    parts = urlsplit(settings.HIGGSFIELD_BASE_URL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


class Command(BaseCommand):
    help = ("Start the django-q2 worker cluster. First it queues a sweep, so unfinished jobs resume at once, "
            "and a sync of the style and motion lists when none are stored yet.")

    def handle(self, *args, **options):
        async_task("generations.tasks.sweep", task_name="sweep-at-start")
        if not Style.objects.exists():
            if settings.USE_SIMULATOR:
                wait_for_provider()
            async_task("characters.tasks.sync_catalogues", task_name="sync-catalogues-at-start")
        call_command("qcluster")
