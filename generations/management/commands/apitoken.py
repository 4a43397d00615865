from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from generations.models import ApiToken


class Command(BaseCommand):
    help = "Create a personal access token for the JSON API and print it (it is stored only as a hash)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="script")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        _, raw = ApiToken.objects.issue(user, options["name"])
        self.stdout.write(raw)
