from django.core.management.base import BaseCommand

from characters import catalogues


class Command(BaseCommand):
    help = "Fetch Soul styles (v1, v2) and motion presets from the provider; fall back to the preset tables."

    def handle(self, *args, **options):
        for report in catalogues.sync_all():
            style = self.style.SUCCESS if report.source == "provider" else self.style.WARNING
            self.stdout.write(style(str(report)))
