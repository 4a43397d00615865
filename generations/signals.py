"""Signals other apps hook into (the credit ledger, notifications)."""

from django.dispatch import Signal

# Sent inside the transaction that changes a generation's status, after the change is saved.
# kwargs: generation, old, new, source
status_changed = Signal()
