"""Signals other apps hook into (the credit ledger, notifications), so that the models
that send them need not know who listens."""

from django.dispatch import Signal

# Sent inside the transaction that changes a generation's status, after the change is saved.
# kwargs: generation, old, new, source
status_changed = Signal()

# Sent after a client's verdict on a gallery item (approved, or changes requested) is saved.
# kwargs: feedback
feedback_given = Signal()
