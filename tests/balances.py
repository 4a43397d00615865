"""Shared check: every cached budget balance equals the sum of its ledger entries."""

from decimal import Decimal

from django.db.models import Q, Sum

from higgsweb.models import Budget, LedgerEntry


def assert_budgets_match_ledger():
    for budget in Budget.objects.all():
        total = LedgerEntry.objects.filter(Q(user_budget=budget) | Q(project_budget=budget)).aggregate(
            total=Sum("amount", default=Decimal(0)))["total"]
        assert budget.spent == total, f"{budget}: cached {budget.spent} != ledger {total}"
