"""Worker tasks. Each takes an id, re-reads the database, takes the job's lease and writes
with update_fields. The database records what must happen next (`next_action_at`);
`sweep` turns overdue rows into tasks, so a task the broker loses is enqueued again, and a
step that keeps dying is quarantined after MAX_ATTEMPTS instead of looping."""

import logging
import threading
import time
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q, Value
from django.utils import timezone
from django_q.tasks import async_task

from generations import archive, higgsfield, inputs
from generations.models import Generation, ProviderAccount, WebhookDelivery, record_result
from higgsweb import logs
from higgsweb.models import WorkerHeartbeat

log = logging.getLogger("generations.tasks")
Status = Generation.Status
Source = Generation.Source
MAX_ATTEMPTS = 3
POLL_MAX_INTERVAL = 60.0
DEADLINE = timedelta(hours=6)
HEARTBEAT_SECONDS = 10
HINT_ONLY_SURFACES = ("pixazo",)  # callbacks carry no signature: they only trigger a poll


def lease_seconds():
    # A step never runs longer than the worker's timeout, so its lease can lapse then.
    return settings.Q_CLUSTER["timeout"]


_running = threading.local()


def enqueue(step, generation_id):
    """Queue a step for the worker. A step that queues a follow-up (poll → archive) has it
    sent only after it released its lease, so the follow-up never finds the job taken."""
    deferred = getattr(_running, "deferred", None)
    if deferred is not None:
        deferred.append((step, generation_id))
        return
    async_task(f"generations.tasks.{step}", str(generation_id), task_name=f"{step}:{generation_id}")


def enqueue_on_commit(step, generation_id):
    """Queue a step once the transaction that made it due commits (at once outside one), so
    the broker's write (an INSERT with the ORM broker) stays out of that transaction."""
    transaction.on_commit(partial(enqueue, step, generation_id))


def claim_until(now=None):
    """The `next_action_at` of a step just enqueued: if its task is lost, the row comes due again then."""
    return (now or timezone.now()) + timedelta(seconds=settings.PIPELINE_CLAIM_SECONDS)


def fresh_connection():
    """Long-lived workers drop stale connections before DB work (not inside a transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def _load(generation_id):
    fresh_connection()
    return Generation.objects.select_related("account").filter(pk=generation_id).first()


def leased(step):
    """Run a step only while holding the job's lease, and always give it back."""
    def wrapper(generation_id):
        with logs.bound(generation_id=generation_id):
            generation = _load(generation_id)
            if generation is None or not generation.acquire_lease(lease_seconds()):
                return None
            outer, _running.deferred = getattr(_running, "deferred", None), []
            try:
                return step(generation)
            finally:
                generation.release_lease()
                deferred, _running.deferred = _running.deferred, outer
                for follow_up in deferred:
                    enqueue(*follow_up)
    wrapper.__name__ = step.__name__
    wrapper.__doc__ = step.__doc__
    return wrapper


def quarantine(generation, reason):
    log.warning("quarantining %s: %s", generation.pk, reason)
    Generation.objects.filter(pk=generation.pk).update(quarantined_at=timezone.now(), quarantine_reason=reason,
                                                       next_action_at=None)


# --- submit --------------------------------------------------------------------------

@leased
def submit_generation(generation):
    """Send a waiting job to the provider once a slot is free and it is its turn."""
    if generation.status not in (Status.DRAFT, Status.UNKNOWN, Status.SUBMITTING):
        return
    if generation.account is None:
        generation.account = ProviderAccount.objects.default()
        generation.save(update_fields=["account"])
    conn = generation.account.connection()
    if generation.status != Status.DRAFT and not higgsfield.supports_idempotency(conn):
        # Its earlier submit may have been accepted; without an idempotency key a resend
        # could start (and bill) a second job.
        quarantine(generation, "The answer to the submit was lost and this surface cannot recognise a "
                               "repeat. Check the provider's history, then resolve it with "
                               f"`manage.py jobs resolve {generation.pk} …`.")
        return
    if generation.submit_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Submitting failed {generation.submit_attempts} times in a row.")
        return
    if generation.status == Status.DRAFT:
        if not _take_slot(generation):  # counts the attempt when it takes the slot
            return
    else:
        Generation.objects.filter(pk=generation.pk).update(submit_attempts=generation.submit_attempts + 1)
        generation.submit_attempts += 1
    _submit(generation, conn)


def _take_slot(generation):
    """Move a waiting job to `submitting` if the account has a free slot and this job is
    within the free slots of the fair line; otherwise keep it waiting."""
    with transaction.atomic():
        account = ProviderAccount.objects.select_for_update().get(pk=generation.account_id)
        free = account.concurrency_limit - account.in_flight()
        if free <= 0 or not _within_free_slots(generation, account, free):
            generation.schedule(5 if free <= 0 else 2)
            return False
        return generation.advance(Status.SUBMITTING, Source.SUBMIT, next_action_at=timezone.now() + timedelta(
            seconds=lease_seconds()), submit_attempts=generation.submit_attempts + 1)


def _within_free_slots(generation, account, free):
    """Whether the job is among the first `free` of the fair line. When every waiting job
    fits, the order does not matter and the line is not worked out (it reads every
    waiting job, and a big batch would pay that on each submit)."""
    if Generation.objects.waiting(account).count() <= free:
        return generation.status == Status.DRAFT and generation.quarantined_at is None
    return generation.pk in Generation.objects.line(account)[:free]


def _submit(generation, conn):
    try:
        params = inputs.provider_params(generation, generation.account)
    except higgsfield.ProviderError as exc:
        # Nothing was submitted yet: wait and try again, or fail plainly if it cannot work.
        if exc.retry_safe:
            generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                               next_action_at=timezone.now() + timedelta(seconds=max(5.0, exc.retry_after or 5)))
        else:
            message = f"An input file could not be handed to the provider: {exc.message}"
            generation.advance(Status.FAILED, Source.SUBMIT, detail=message, error=message)
            kick_line(generation.account_id)
        return
    try:
        legacy = {"webhook_secret": generation.webhook_secret} if conn.surface == "v1" else {}
        receipt = higgsfield.submit(conn, generation.model_id, params,
                                    idempotency_key=generation.pk, webhook_url=generation.webhook_url, **legacy)
    except (higgsfield.ConcurrencyLimit, higgsfield.RateLimited, higgsfield.ModelBlocked) as exc:
        # Not a failure: the job goes back in line and waits as long as the provider asks.
        wait = max(1.0, exc.retry_after or 5)
        generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                           next_action_at=timezone.now() + timedelta(seconds=wait))
    except (higgsfield.NetworkError, higgsfield.ServerError) as exc:
        # The provider may or may not have accepted it. With an idempotency key, the
        # resend that resolves this cannot create a second job.
        wait = min(POLL_MAX_INTERVAL, 2 * 2 ** generation.submit_attempts)
        if generation.status == Status.UNKNOWN:
            generation.schedule(wait, submit_attempts=0)
        else:
            generation.advance(Status.UNKNOWN, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                               next_action_at=timezone.now() + timedelta(seconds=wait))
    except higgsfield.ValidationFailed as exc:
        # Kept per field so the member can reopen the form with the provider's messages in place.
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message,
                           field_errors=exc.field_errors)
        kick_line(generation.account_id)
    except higgsfield.ProviderError as exc:
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message)
        kick_line(generation.account_id)
    else:
        status = receipt.status if receipt.status in (Status.QUEUED, Status.IN_PROGRESS) else Status.QUEUED
        generation.advance(status, Source.SUBMIT, request_id=receipt.request_id, submitted_at=timezone.now(),
                           poll_interval=2.0, submit_attempts=0,
                           next_action_at=timezone.now() + timedelta(seconds=2))
        # A fast provider can call the webhook before the request id was saved.
        for delivery in WebhookDelivery.objects.filter(request_id=receipt.request_id):
            apply_delivery(delivery)


# --- poll ----------------------------------------------------------------------------

@leased
def poll_generation(generation):
    """Ask the provider for the status: the fallback when no webhook arrives."""
    if not generation.request_id or generation.is_finished:
        return
    if generation.poll_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Checking the status failed {generation.poll_attempts} times in a row.")
        return
    Generation.objects.filter(pk=generation.pk).update(poll_attempts=generation.poll_attempts + 1)
    try:
        result = higgsfield.status(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:
        if exc.retry_safe:  # provider weather: wait longer, never give up on the job
            generation.schedule(min(POLL_MAX_INTERVAL, generation.poll_interval * 2),
                                poll_interval=min(POLL_MAX_INTERVAL, generation.poll_interval * 2), poll_attempts=0)
        else:
            generation.schedule(min(POLL_MAX_INTERVAL, 5 * 2 ** generation.poll_attempts),
                                poll_attempts=generation.poll_attempts + 1, notice=exc.message)
        return
    moved = record_result(generation, result, Source.POLL)
    generation.refresh_from_db()
    Generation.objects.filter(pk=generation.pk).update(poll_attempts=0)
    if moved and generation.is_finished:
        after_finish(generation)
        return
    if generation.is_finished:
        return
    if generation.submitted_at and timezone.now() - generation.submitted_at > DEADLINE:
        generation.advance(Status.FAILED, Source.POLL, error="The provider did not finish this job in time.")
        kick_line(generation.account_id)
        return
    interval = min(POLL_MAX_INTERVAL, generation.poll_interval * 2)
    generation.schedule(generation.poll_interval, poll_interval=interval)


def after_finish(generation):
    """A job just reached a final state: give its slot to the line (its archive step, if it
    completed, was claimed and queued by record_result)."""
    account_id = generation.account_id
    transaction.on_commit(lambda: kick_line(account_id))


def receive_delivery(webhook_id, surface, payload):
    """Record a verified delivery and act on it in one short write transaction: the job (and
    its owner) is read first (the write lock is not needed for that; its status is checked again by the
    compare-and-set in Generation.advance), then the delivery is inserted — its unique
    webhook_id is the dedupe — and applied; the archive task and the line are queued after
    the commit. Returns False for a redelivery, which changes nothing."""
    request_id = str(payload["request_id"])
    generation = _by_request_id(request_id)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(webhook_id=webhook_id, surface=surface, request_id=request_id,
                                                      payload=payload)
            apply_delivery(delivery, generation)
    except IntegrityError:
        if WebhookDelivery.objects.filter(webhook_id=webhook_id).exists():
            return False
        raise
    return True


def _by_request_id(request_id):
    # The owner (away from the gallery? see higgsweb.notify) comes in the same query.
    return (Generation.objects.select_related("owner").annotate(owner_fresh=Value(True))
            .filter(request_id=request_id).first())


def apply_delivery(delivery, generation=None):
    """Apply a recorded webhook delivery to its generation, if that is known yet. `generation`
    is the job as read before the transaction; without it (or when it was not found, and the
    submit may have saved the request id since) it is read here."""
    if generation is None:
        generation = _by_request_id(delivery.request_id)
    if generation is None:
        return False  # the submit task applies it once it has saved the request id
    if delivery.surface in HINT_ONLY_SURFACES:  # unsigned: confirm with the provider first
        enqueue("poll_generation", generation.pk)
        return True
    result = higgsfield.parse_result(delivery.surface, delivery.payload)
    if record_result(generation, result, Source.WEBHOOK) and generation.is_finished:
        after_finish(generation)
    return True


# --- cancel --------------------------------------------------------------------------

def request_cancel(generation):
    """A user's cancel. A job not sent yet is canceled here and now; a queued one is handed
    to the worker, which asks the provider (the card shows its answer). Returns
    "canceled", "requested" or "refused"."""
    if generation.status == Status.DRAFT and generation.advance(
            Status.CANCELED, Source.USER, notice="Canceled before it was sent; nothing was charged."):
        kick_line(generation.account_id)
        return "canceled"
    if generation.status == Status.QUEUED and not generation.cancel_requested_at:
        Generation.objects.filter(pk=generation.pk).update(cancel_requested_at=timezone.now(),
                                                           next_action_at=timezone.now(), notice="")
        generation.refresh_from_db()
        kick(generation)
        return "requested"
    if not generation.is_finished:
        Generation.objects.filter(pk=generation.pk).update(
            notice="It has already started, so it can no longer be canceled.")
    generation.refresh_from_db()
    return "refused"


@leased
def cancel_generation(generation):
    """Ask the provider to cancel a queued job; explain a refusal on the card."""
    if generation.is_finished or not generation.cancel_requested_at:
        return
    if not generation.request_id:
        generation.advance(Status.CANCELED, Source.USER, notice="Canceled before it was sent; nothing was charged.")
        return
    try:
        higgsfield.cancel(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:
        Generation.objects.filter(pk=generation.pk).update(cancel_requested_at=None, notice=exc.message)
        return
    if generation.advance(Status.CANCELED, Source.USER,
                          notice="Canceled while queued; the provider refunds canceled jobs."):
        kick_line(generation.account_id)


# --- archive -------------------------------------------------------------------------

@leased
def archive_outputs(generation):
    """Copy a completed job's outputs into local storage before the provider deletes them."""
    if generation.status != Status.COMPLETED or generation.archived:
        return
    if generation.archive_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Saving the outputs failed {generation.archive_attempts} times in a row.")
        return
    Generation.objects.filter(pk=generation.pk).update(archive_attempts=generation.archive_attempts + 1)
    permanent, transient = [], []
    for output in generation.outputs.filter(archived_at__isnull=True):
        try:
            archive.archive_output(output)
        except higgsfield.ProviderError as exc:
            output.error = exc.message
            output.save(update_fields=["error"])
            (transient if exc.retry_safe else permanent).append(exc)
    if permanent and generation.archive_attempts + 1 >= MAX_ATTEMPTS:
        quarantine(generation, f"An output could not be saved: {permanent[0].message}")
    elif permanent:  # a refusal (redirect loop, CDN error page) counts: set aside after MAX_ATTEMPTS
        generation.schedule(min(POLL_MAX_INTERVAL, 10 * 2 ** generation.archive_attempts))
    elif transient:
        generation.schedule(min(POLL_MAX_INTERVAL, 10 * 2 ** generation.archive_attempts), archive_attempts=0)
    else:
        Generation.objects.filter(pk=generation.pk).update(archived=True, next_action_at=None, archive_attempts=0)
        if settings.HIGGSFIELD_DELETE_AFTER_ARCHIVE and generation.request_id:
            _delete_provider_copy(generation)


def _delete_provider_copy(generation):
    try:
        higgsfield.delete(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:  # the provider deletes it on expiry anyway
        log.info("could not delete the provider's copy of %s: %s", generation.pk, exc.message)


# --- dispatch --------------------------------------------------------------------------

def step_for(generation):
    if generation.status in (Status.DRAFT, Status.SUBMITTING, Status.UNKNOWN):
        return "submit_generation"
    if generation.status in (Status.QUEUED, Status.IN_PROGRESS):
        return "cancel_generation" if generation.cancel_requested_at else "poll_generation"
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
        next_action_at=now + timedelta(seconds=settings.PIPELINE_CLAIM_SECONDS))
    if claimed:
        transaction.on_commit(lambda: enqueue(step, generation.pk))
    return bool(claimed)


def kick_line(account_id):
    """A slot came free: wake the jobs at the head of the account's line now. Waking only
    brings a job's next action forward, in one UPDATE: a job already due is left alone."""
    if account_id is None:
        return
    waiting = Generation.objects.waiting(account_id)
    count = waiting.count()
    if not count:  # one query when nobody is waiting
        return
    account = ProviderAccount.objects.get(pk=account_id)
    free = account.concurrency_limit - account.in_flight()
    if free <= 0:
        return
    head = waiting if count <= free else Generation.objects.filter(pk__in=Generation.objects.line(account_id)[:free])
    now = timezone.now()
    head.filter(Q(next_action_at__isnull=True) | Q(next_action_at__gt=now)).update(next_action_at=now)


def dispatch_due(now=None, limit=50):
    """Enqueue the next step of every generation whose next action is overdue."""
    now = now or timezone.now()
    candidates = (Generation.objects.filter(next_action_at__lte=now, quarantined_at__isnull=True)
                  .exclude(status__in=(Status.FAILED, Status.NSFW, Status.CANCELED))
                  .order_by("next_action_at")[:limit])
    return sum(kick(generation, now) for generation in candidates)


def sweep(seconds=0, running=None):
    """Enqueue every overdue step now, and keep doing so once a second for `seconds` (while
    `running()`, if given). The worker command runs this beside its cluster for as long as the
    cluster runs; the schedule (every minute) is one pass, so a cluster started without that
    command still moves. Beats for the health page at most every HEARTBEAT_SECONDS."""
    from characters.tasks import dispatch_due as dispatch_due_characters

    deadline = time.monotonic() + seconds
    total = 0
    next_beat = 0.0
    while running is None or running():
        fresh_connection()
        if time.monotonic() >= next_beat:  # tells the health page a worker is alive
            WorkerHeartbeat.beat()
            next_beat = time.monotonic() + HEARTBEAT_SECONDS
        total += dispatch_due() + dispatch_due_characters()
        if time.monotonic() >= deadline:
            break
        time.sleep(1)
    return total
