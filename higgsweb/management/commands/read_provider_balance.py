from django.core.management.base import BaseCommand

from higgsweb.ledger import read_provider_balances


class Command(BaseCommand):
    help = "Read each active provider account's credit balance and keep the reading for the reconciliation page."

    def handle(self, *args, **options):
        for reading in read_provider_balances():
            self.stdout.write(str(reading))
