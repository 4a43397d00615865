"""Worker tasks. Each takes an id, re-reads the database and writes with update_fields.
The database records what must happen next (`next_action_at`); `sweep` turns overdue
rows into tasks, so a task the broker loses is simply enqueued again."""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from generations import archive, higgsfield
from generations.models import Generation, WebhookDelivery, record_result

log = logging.getLogger("generations.tasks")
Status = Generation.Status
Source = Generation.Source
MAX_ATTEMPTS = 3
SUBMIT_GRACE = 120  # seconds a "submitting" row may wait for its answer before it is re-checked
POLL_MAX_INTERVAL = 60.0
DEADLINE = timedelta(hours=6)


def enqueue(step, generation_id):
    async_task(f"generations.tasks.{step}", str(generation_id), task_name=f"{step}:{generation_id}")


def fresh_connection():
    """Long-lived workers drop stale connections before DB work (not inside a transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _load(generation_id):
    fresh_connection()
    return Generation.objects.select_related("account").filter(pk=generation_id).first()


def submit_generation(generation_id):
    generation = _load(generation_id)
    if generation is None or generation.status not in (Status.DRAFT, Status.UNKNOWN, Status.SUBMITTING):
        return
    if generation.account is None:
        Generation.objects.filter(pk=generation.pk).update(account=_default_account())
        generation.refresh_from_db()
    if generation.status != Status.SUBMITTING and not generation.advance(
            Status.SUBMITTING, Source.SUBMIT,
            next_action_at=timezone.now() + timedelta(seconds=SUBMIT_GRACE),
            submit_attempts=generation.submit_attempts + 1):
        return
    try:
        receipt = higgsfield.submit(
            generation.account.connection(), generation.model_id, generation.params,
            idempotency_key=generation.pk, webhook_url=generation.webhook_url)
    except (higgsfield.ConcurrencyLimit, higgsfield.RateLimited, higgsfield.ModelBlocked) as exc:
        wait = exc.retry_after or 5
        generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message,
                           next_action_at=timezone.now() + timedelta(seconds=wait))
    except (higgsfield.NetworkError, higgsfield.ServerError) as exc:
        # The provider may or may not have accepted it: never resubmit blindly.
        _unknown_or_quarantine(generation, exc)
    except higgsfield.ValidationFailed as exc:
        # Kept per field so the member can reopen the form with the provider's messages in place.
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message,
                           field_errors=exc.field_errors)
    except higgsfield.ProviderError as exc:
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message)
    else:
        status = receipt.status if receipt.status in (Status.QUEUED, Status.IN_PROGRESS) else Status.QUEUED
        generation.advance(status, Source.SUBMIT, request_id=receipt.request_id, submitted_at=timezone.now(),
                           poll_interval=2.0, next_action_at=timezone.now() + timedelta(seconds=2))
        # A fast provider can call the webhook before the request id was saved.
        for delivery in WebhookDelivery.objects.filter(request_id=receipt.request_id):
            apply_delivery(delivery)


def _default_account():
    from generations.models import ProviderAccount

    return ProviderAccount.objects.default()


def _unknown_or_quarantine(generation, exc):
    generation.refresh_from_db()
    if generation.submit_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"submit failed {generation.submit_attempts} times: {exc.message}")
        return
    wait = 5 * 2 ** generation.submit_attempts
    generation.advance(Status.UNKNOWN, Source.SUBMIT, detail=exc.message,
                       next_action_at=timezone.now() + timedelta(seconds=wait))


def quarantine(generation, reason):
    log.warning("quarantining %s: %s", generation.pk, reason)
    Generation.objects.filter(pk=generation.pk).update(quarantined_at=timezone.now(), quarantine_reason=reason)


def poll_generation(generation_id):
    generation = _load(generation_id)
    if generation is None or not generation.request_id or generation.is_finished:
        return
    try:
        result = higgsfield.status(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:
        attempts = generation.poll_attempts + 1
        if not exc.retry_safe and attempts >= MAX_ATTEMPTS:
            quarantine(generation, f"status check failed {attempts} times: {exc.message}")
        generation.schedule(min(POLL_MAX_INTERVAL, 5 * 2 ** attempts), poll_attempts=attempts)
        return
    moved = record_result(generation, result, Source.POLL)
    generation.refresh_from_db()
    if generation.status == Status.COMPLETED:
        if moved:
            kick(generation)
        return
    if generation.is_finished:
        return
    if generation.submitted_at and timezone.now() - generation.submitted_at > DEADLINE:
        generation.advance(Status.FAILED, Source.POLL, error="The provider did not finish this job in time.")
        return
    interval = min(POLL_MAX_INTERVAL, generation.poll_interval * 2)
    generation.schedule(generation.poll_interval, poll_interval=interval, poll_attempts=0)


def archive_outputs(generation_id):
    generation = _load(generation_id)
    if generation is None or generation.status != Status.COMPLETED or generation.archived:
        return
    failures = []
    for output in generation.outputs.filter(archived_at__isnull=True):
        try:
            archive.archive_output(output)
        except higgsfield.ProviderError as exc:
            output.error = exc.message
            output.save(update_fields=["error"])
            failures.append(exc)
    if not failures:
        Generation.objects.filter(pk=generation.pk).update(archived=True, next_action_at=None)
        return
    attempts = generation.archive_attempts + 1
    if attempts >= MAX_ATTEMPTS or not all(exc.retry_safe for exc in failures):
        Generation.objects.filter(pk=generation.pk).update(archive_attempts=attempts, next_action_at=None)
        quarantine(generation, f"archiving failed: {failures[0].message}")
        return
    generation.schedule(10 * 2 ** attempts, archive_attempts=attempts)


def apply_delivery(delivery):
    """Apply a recorded webhook delivery to its generation, if that is known yet."""
    generation = Generation.objects.filter(request_id=delivery.request_id).first()
    if generation is None:
        return False  # the submit task applies it once it has saved the request id
    result = higgsfield.parse_result(delivery.surface, delivery.payload)
    if record_result(generation, result, Source.WEBHOOK):
        generation.refresh_from_db()
        if generation.status == Status.COMPLETED:
            kick(generation)
    return True


def step_for(generation):
    if generation.status in (Status.DRAFT, Status.SUBMITTING, Status.UNKNOWN):
        return "submit_generation"
    if generation.status in (Status.QUEUED, Status.IN_PROGRESS):
        return "poll_generation"
    if generation.status == Status.COMPLETED and not generation.archived:
        return "archive_outputs"
    return None


def kick(generation, now=None):
    """Claim one generation's next step and enqueue it. The claim pushes
    `next_action_at` forward with a compare-and-set, so parallel sweepers (or a
    webhook racing a poll) never enqueue the same step twice; if the task is then
    lost, the row simply comes due again."""
    now = now or timezone.now()
    step = step_for(generation)
    if step is None:
        Generation.objects.filter(pk=generation.pk).update(next_action_at=None)
        return False
    claimed = Generation.objects.filter(pk=generation.pk, next_action_at=generation.next_action_at).update(
        next_action_at=now + timedelta(seconds=settings.Q_CLUSTER["retry"]))
    if claimed:
        transaction.on_commit(lambda: enqueue(step, generation.pk))
    return bool(claimed)


def dispatch_due(now=None, limit=50):
    """Enqueue the next step of every generation whose next action is overdue."""
    now = now or timezone.now()
    candidates = (Generation.objects.filter(next_action_at__lte=now, quarantined_at__isnull=True)
                  .exclude(status__in=(Status.FAILED, Status.NSFW, Status.CANCELED))
                  .order_by("next_action_at")[:limit])
    return sum(kick(generation, now) for generation in candidates)


def sweep(seconds=None):
    """Scheduled every minute: keeps dispatching due work for `seconds`, once a second."""
    seconds = settings.SWEEP_SECONDS if seconds is None else seconds
    deadline = time.monotonic() + seconds
    total = 0
    while True:
        fresh_connection()
        total += dispatch_due()
        if time.monotonic() >= deadline:
            return total
        time.sleep(1)
