"""Signals other apps hook into (the credit ledger charges training like a generation)."""

from django.dispatch import Signal

# Sent inside the transaction that changes a character's training status.
# kwargs: character, old, new
status_changed = Signal()
