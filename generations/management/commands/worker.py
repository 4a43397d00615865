from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_q.tasks import async_task


class Command(BaseCommand):
    help = "Start the django-q2 worker cluster, first queueing a sweep so unfinished jobs resume at once."

    def handle(self, *args, **options):
        async_task("generations.tasks.sweep", task_name="sweep-at-start")
        call_command("qcluster")
