"""The life of a job, in one place.

How a job starts (`start`: the job, its credit hold and its submit, together), what each answer
from the provider means for it (a receipt, a result, a webhook delivery, an error, a refused
cancel), and when its next step runs (`kick`, `kick_line`, `dispatch_due`, claims, `backoff`).
The worker's tasks (generations/tasks.py) load a job, lease it, call the provider and hand the
answer here; views and the JSON API start, cancel and deliver through here.

Rows change only through the models' verbs (Generation.advance, a compare-and-set that records
its StatusEvent; schedule; leases). The ledger and notifications hear of every status change
through generations.signals.status_changed, never from here. The database records what must
happen next (`next_action_at`): a step that is queued and lost, or never queued because the
broker was away, simply comes due again and the sweeper sends it."""

import enum
import logging
import threading
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q, Value
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task
from redis.exceptions import RedisError

from generations import higgsfield, routing, webhook_mode
from generations.models import Generation, Output, ProviderAccount, StatusEvent, StrayRequest, WebhookDelivery
from higgsweb import ledger

log = logging.getLogger("generations.pipeline")
Status = Generation.Status
Source = Generation.Source
Surface = ProviderAccount.Surface
# A step that keeps dying or failing is set aside for an operator after this many tries in a row.
MAX_ATTEMPTS = 3
# A job the provider has not finished this long after its submit is failed.
DEADLINE = timedelta(hours=6)
# Surfaces whose callbacks carry no signature: a delivery only makes the worker poll.
HINT_ONLY_SURFACES = (Surface.PIXAZO,)
# A waiting job looks for a slot again after this many seconds: none was free, or others are ahead.
NO_SLOT_WAIT, NOT_YET_WAIT = 5, 2


# --- backoff -------------------------------------------------------------------------

# Waits between tries grow by DOUBLING from a first wait, and never pass MAX_WAIT.
DOUBLING = 2
MAX_WAIT = 60.0
FIRST_POLL = 2.0  # the first status check, 2 s after the submit; then 4, 8, … 60 s
FIRST_SUBMIT_RETRY = 2.0  # a submit whose answer was lost (network, 5xx)
FIRST_CHECK_RETRY = 5.0  # a status check the provider refused
FIRST_ARCHIVE_RETRY = 10.0  # a download that failed for now


def backoff(first, tries, factor=DOUBLING):
    """Seconds to wait before the next try, after `tries` tries: first × factor^tries, at most
    MAX_WAIT. A poll's stored interval grows one step at a time: backoff(interval, 1)."""
    return min(MAX_WAIT, first * factor ** tries)


# --- start ---------------------------------------------------------------------------

def start(*, owner, project, model_id, params, account=None, retry_of=None, sweep=None):
    """Start a job: create it, hold its estimated credits against its owner's and its project's
    budgets, and queue its submit once that is committed. Every way of starting a job (the
    studio form with its sweeps and grids, retries, the JSON API) goes through here. Raises
    ledger.BudgetExceeded past a hard limit, and then nothing was created.

    The job is due from the start (`next_action_at`), so queueing its submit cannot fail the
    caller: with the broker away, the sweeper sends it once the broker is back."""
    if account is None:
        account = routing.account_for(model_id)
        if account is None:
            raise ValueError(f"No active provider account can run {model_id}.")
    with transaction.atomic():  # the hold and the job are created together or not at all
        generation = Generation.objects.create(owner=owner, project=project, model_id=model_id, params=params,
                                               account=account, next_action_at=timezone.now(), retry_of=retry_of,
                                               sweep=sweep)
        ledger.hold(generation)  # raises ledger.BudgetExceeded past a hard limit
        enqueue_on_commit("submit_generation", generation.pk)
    return generation


def record_import(*, owner, project, account, model_id, params, result, made_at=None):
    """A job finished elsewhere (the web app's history) joins the gallery: completed at once, with
    its outputs to be copied here like any other job's, and nothing held or charged (it was paid
    for where it was made). Returns the generation, or None when the account's job is here already
    (imported before, or made here and sent there): the provider's id is the dedupe."""
    made_at = made_at or timezone.now()
    with transaction.atomic():
        # One import per account at a time gets past this line, so the check below cannot race.
        ProviderAccount.objects.select_for_update().filter(pk=account.pk).first()
        if Generation.objects.filter(account=account, request_id=result.request_id).exists():
            return None
        generation = Generation.objects.create(
            owner=owner, project=project, account=account, model_id=model_id, params=params,
            request_id=result.request_id, status=Status.COMPLETED, imported=True, created_at=made_at,
            submitted_at=made_at, finished_at=made_at, expires_at=result.expires_at, next_action_at=claim_until())
        Output.objects.bulk_create(
            [Output(generation=generation, position=position, kind=output.kind, provider_url=output.url,
                    preview_url=output.preview_url or "") for position, output in enumerate(result.outputs)])
        # Written directly, not through Generation.advance: the ledger hears of no status change.
        StatusEvent.objects.create(generation=generation, from_status=Status.DRAFT, to_status=Status.COMPLETED,
                                   source=Source.SYSTEM,
                                   detail=f"Imported from the web app's history of {account.name} "
                                          f"(job set {result.request_id}).")
        enqueue_on_commit("archive_outputs", generation.pk)
    return generation


# --- queueing, claims and the worker's connection -------------------------------------

# What a broker that cannot take a task raises: Redis away, or the ORM broker's table locked.
BROKER_ERRORS = (RedisError, DatabaseError, OSError)
_held = threading.local()


def send(task, object_id, name):
    """Hand one task to the broker. The row it is for already says when its step is due, so a
    broker that cannot take it is logged, not raised: the sweeper sends the step again once the
    broker is back, and a request whose work is committed never fails because of it."""
    try:
        async_task(task, str(object_id), task_name=name)
    except BROKER_ERRORS as exc:
        if Conf.SYNC:  # the task itself ran here and failed: its error, not the broker's
            raise
        log.warning("could not queue %s (%s); the sweeper sends it when it is due", name, exc)
        return False
    return True


def enqueue(step, generation_id):
    """Queue a step of a job for the worker (held until the end of a `follow_ups` block)."""
    held = getattr(_held, "steps", None)
    if held is not None:
        held.append((step, generation_id))
        return
    send(f"generations.tasks.{step}", generation_id, f"{step}:{generation_id}")


def enqueue_on_commit(step, generation_id):
    """Queue a step once the transaction that made it due commits (at once outside one), so
    the broker's write (an INSERT with the ORM broker) stays out of that transaction."""
    transaction.on_commit(partial(enqueue, step, generation_id))


@contextmanager
def follow_ups():
    """Hold the steps queued inside the block and send them when it ends (those still in the
    list it yields). A worker step runs inside one, so a follow-up it queues (poll → archive)
    is sent only after it released its lease, and never finds the job taken."""
    outer, _held.steps = getattr(_held, "steps", None), []
    try:
        yield _held.steps
    finally:
        steps, _held.steps = _held.steps, outer
        for step in steps:
            enqueue(*step)


def lease_seconds():
    # A step never runs longer than the worker's timeout, so its lease can lapse then.
    return settings.Q_CLUSTER["timeout"]


def claim_until(now=None):
    """The `next_action_at` of a step just enqueued: if its task is lost, the row comes due again then."""
    return (now or timezone.now()) + timedelta(seconds=settings.PIPELINE_CLAIM_SECONDS)


def claim(row, now=None):
    """Take the next step of a due row (a job or a character): push its `next_action_at` to
    claim_until with a compare-and-set on the value read, so parallel sweepers (or a webhook
    racing a poll) never enqueue the same step twice; if the task is then lost, the row simply
    comes due again. True when this caller took it."""
    rows = type(row).objects.filter(pk=row.pk, next_action_at=row.next_action_at)
    return bool(rows.update(next_action_at=claim_until(now)))


def fresh_connection():
    """Long-lived workers drop stale connections before DB work (not inside a transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def quarantine(generation, reason):
    log.warning("quarantining %s: %s", generation.pk, reason)
    Generation.objects.filter(pk=generation.pk).update(quarantined_at=timezone.now(), quarantine_reason=reason,
                                                       next_action_at=None)


# --- submit --------------------------------------------------------------------------

def begin_submit(generation):
    """The connection to send a job on now, with the try counted; None when it is not sent now
    (it is not waiting, it waits for a slot or its turn, or it was set aside for an operator)."""
    if generation.status not in (Status.DRAFT, Status.UNKNOWN, Status.SUBMITTING) or generation.quarantined_at:
        return None  # a task redelivered for a job set aside sends nothing
    if generation.account is None:
        generation.account = routing.account_for(generation.model_id)
        if generation.account is None:
            quarantine(generation, "No active provider account can run this model now.")
            return None
        generation.save(update_fields=["account"])
    conn = generation.account.connection()
    if generation.status != Status.DRAFT and not higgsfield.supports_idempotency(conn):
        # Its earlier submit may have been accepted; without an idempotency key a resend
        # could start (and bill) a second job.
        quarantine(generation, "The answer to the submit was lost and this surface cannot recognise a "
                               "repeat. Check the provider's history, then resolve it with "
                               f"`manage.py jobs resolve {generation.pk} …`.")
        return None
    if generation.submit_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Submitting failed {generation.submit_attempts} times in a row.")
        return None
    if generation.status == Status.DRAFT:
        if not _take_slot(generation):  # counts the attempt when it takes the slot
            return None
    else:
        Generation.objects.filter(pk=generation.pk).update(submit_attempts=generation.submit_attempts + 1)
        generation.submit_attempts += 1
    return conn


def _take_slot(generation):
    """Move a waiting job to `submitting` if the account has a free slot and this job is
    within the free slots of the fair line; otherwise keep it waiting."""
    with transaction.atomic():
        account = ProviderAccount.objects.select_for_update().get(pk=generation.account_id)
        free = account.concurrency_limit - account.in_flight()
        if free <= 0 or not _within_free_slots(generation, account, free):
            generation.schedule(NO_SLOT_WAIT if free <= 0 else NOT_YET_WAIT)
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


def inputs_refused(generation, exc):
    """An input file could not be handed to the provider. Nothing was submitted yet: wait and
    try again, or fail plainly if it cannot work."""
    if exc.retry_safe:
        generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                           next_action_at=timezone.now() + timedelta(seconds=max(5.0, exc.retry_after or 5)))
    else:
        message = f"An input file could not be handed to the provider: {exc.message}"
        generation.advance(Status.FAILED, Source.SUBMIT, detail=message, error=message)
        kick_line(generation.account_id)


def note_refused_credentials(generation, exc):
    """The provider refused the account's credentials: the accounts page shows it at once."""
    if isinstance(exc, higgsfield.AuthError) and generation.account_id:
        generation.account.record_error(exc.message)


def submit_refused(generation, exc):
    """What a provider error in answer to a submit means for the job."""
    note_refused_credentials(generation, exc)
    if isinstance(exc, (higgsfield.ConcurrencyLimit, higgsfield.RateLimited, higgsfield.ModelBlocked)):
        # Not a failure: the job goes back in line and waits as long as the provider asks.
        wait = max(1.0, exc.retry_after or 5)
        generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                           next_action_at=timezone.now() + timedelta(seconds=wait))
    elif isinstance(exc, higgsfield.ConnectFailed):
        # Nothing reached the provider, so sending again cannot start a second job on any surface.
        # A job whose earlier answer was lost stays unknown: that earlier send may have been accepted.
        wait = max(float(NO_SLOT_WAIT), exc.retry_after or 0)
        if generation.status == Status.UNKNOWN:
            generation.schedule(wait, submit_attempts=0)
        else:
            generation.advance(Status.DRAFT, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                               next_action_at=timezone.now() + timedelta(seconds=wait))
    elif isinstance(exc, (higgsfield.NetworkError, higgsfield.ServerError)):
        answer_lost(generation, exc)
    elif isinstance(exc, higgsfield.ValidationFailed) and generation.status == Status.UNKNOWN \
            and "Idempotency-Key" in exc.field_errors:
        # The resend differs from the first send (its webhook URL changed with PUBLIC_BASE_URL, or
        # a deploy changed the body), and the provider says the first one was accepted.
        quarantine(generation, "The first send of this job was accepted (the provider refused the resend as the "
                               "same Idempotency-Key with different parameters), but its answer was lost. Find its "
                               "request in the provider's history, then `manage.py jobs resolve "
                               f"{generation.pk} retry --request-id …`.")
    elif isinstance(exc, higgsfield.ValidationFailed):
        # Kept per field so the member can reopen the form with the provider's messages in place.
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message,
                           field_errors=exc.field_errors)
        kick_line(generation.account_id)
    else:
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=exc.message)
        kick_line(generation.account_id)


def answer_lost(generation, exc):
    """A timeout or 5xx after the submit was sent: the provider may or may not have started the
    job. On a surface that honours Idempotency-Key it is sent once more with the same key (a
    repeat returns the original request); elsewhere, or when that resend fares no better, it is
    set aside for an operator, or failed plainly when the provider answered 5xx both times."""
    answered = isinstance(exc, higgsfield.ServerError)
    what = (f"The provider answered the submit with an error ({exc.status or 500}): {exc.message}" if answered
            else f"No answer to the submit ({exc.message})")
    resolve = (f"Check the provider's history, then resolve it with `manage.py jobs resolve {generation.pk} …`.")
    if not higgsfield.supports_idempotency(generation.account.connection()):
        if generation.status != Status.UNKNOWN:
            generation.advance(Status.UNKNOWN, Source.SUBMIT, detail=exc.message)
        quarantine(generation, f"{what}. It may still have started the job, and {generation.account.via} cannot "
                               f"recognise a repeat, so it was not sent again. {resolve}")
        return
    if generation.status != Status.UNKNOWN:  # the first send: resend once with the same key
        generation.advance(Status.UNKNOWN, Source.SUBMIT, detail=exc.message, submit_attempts=0,
                           next_action_at=timezone.now() + timedelta(seconds=FIRST_SUBMIT_RETRY))
        return
    if answered:  # the resend with the same key failed too: nothing was started
        message = (f"The provider failed with an error ({exc.status or 500}) each time this job was sent "
                   "(twice, with the same Idempotency-Key), so it was not started; the credits held for it "
                   f"are released. {exc.message}")
        generation.advance(Status.FAILED, Source.SUBMIT, detail=exc.message, error=message)
        kick_line(generation.account_id)
        return
    quarantine(generation, f"{what}, twice. Both were sent with the same Idempotency-Key, so at most one job was "
                           f"started. {resolve}")


def record_receipt(generation, receipt):
    """The provider accepted the job: it is queued (or already running) there, and polled from now on."""
    status = receipt.status if receipt.status in (Status.QUEUED, Status.IN_PROGRESS) else Status.QUEUED
    generation.advance(status, Source.SUBMIT, request_id=receipt.request_id, submitted_at=timezone.now(),
                       poll_interval=FIRST_POLL, submit_attempts=0,
                       next_action_at=timezone.now() + timedelta(seconds=FIRST_POLL))
    # A fast provider can call the webhook before the request id was saved.
    for delivery in WebhookDelivery.objects.filter(request_id=receipt.request_id):
        apply_delivery(delivery)


# --- results: polls and webhook deliveries ---------------------------------------------

def record_result(generation, result, source):
    """Apply a normalised provider Result (from a webhook or a poll) to a generation.
    Idempotent: duplicates and late, out-of-order reports change nothing.
    Returns True when the status moved. A job that completes has its archive step claimed in
    the same UPDATE (see kick) and queued once the transaction commits."""
    status = result.status
    if status not in Generation.RANK or status in (Status.DRAFT, Status.SUBMITTING, Status.UNKNOWN):
        return False
    changes = {}
    if result.expires_at:
        changes["expires_at"] = result.expires_at
    if status == Status.FAILED:
        changes["error"] = result.error or "The provider reported the generation as failed."
    elif status == Status.NSFW:
        changes["error"] = "The provider's moderation rejected this input or output (credits refunded)."
    elif status == Status.COMPLETED:
        changes["next_action_at"] = claim_until()
    with transaction.atomic(savepoint=False):
        moved = generation.advance(status, source, detail=result.error, **changes)
        if moved and status == Status.COMPLETED:
            # Only the one move to completed writes them; a conflict would be a redelivery.
            Output.objects.bulk_create(
                [Output(generation=generation, position=position, kind=output.kind, provider_url=output.url,
                        preview_url=output.preview_url or "") for position, output in enumerate(result.outputs)],
                ignore_conflicts=True)
            enqueue_on_commit("archive_outputs", generation.pk)
    return moved


def begin_poll(generation):
    """Whether to ask the provider for the job's status now; counts the try."""
    if not generation.request_id or generation.is_finished:
        return False
    if generation.poll_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Checking the status failed {generation.poll_attempts} times in a row.")
        return False
    Generation.objects.filter(pk=generation.pk).update(poll_attempts=generation.poll_attempts + 1)
    return True


def poll_refused(generation, exc):
    note_refused_credentials(generation, exc)
    if exc.retry_safe:  # provider weather: wait longer, never give up on the job
        wait = backoff(generation.poll_interval, 1)
        generation.schedule(wait, poll_interval=wait, poll_attempts=0)
    else:
        generation.schedule(backoff(FIRST_CHECK_RETRY, generation.poll_attempts),
                            poll_attempts=generation.poll_attempts + 1, notice=exc.message)


def record_poll(generation, result):
    """The provider's answer to a status check: apply it, then end the job, give up on it after
    DEADLINE, or check again a little later than last time."""
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
    age = (timezone.now() - generation.submitted_at).total_seconds() if generation.submitted_at else None
    if age is not None and webhook_mode.polls_fast(generation, age):  # no webhook is coming: ask often at first
        generation.schedule(webhook_mode.FAST_POLL, poll_interval=FIRST_POLL)
        return
    generation.schedule(generation.poll_interval, poll_interval=backoff(generation.poll_interval, 1))


def after_finish(generation):
    """A job just reached a final state: give its slot to the line (its archive step, if it
    completed, was claimed and queued by record_result)."""
    account_id = generation.account_id
    transaction.on_commit(lambda: kick_line(account_id))


def receive_delivery(webhook_id, surface, payload, generation_pk=None):
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
            if generation is None and generation_pk:  # the URL names a job that recorded another request
                note_stray(surface, generation_pk, request_id, payload, confirmed=True)
            apply_delivery(delivery, generation)
    except IntegrityError:
        if WebhookDelivery.objects.filter(webhook_id=webhook_id).exists():
            return False
        raise
    return True


# An unsigned delivery wakes at most one poll of its job per this many seconds.
HINT_SECONDS = 5


def receive_hint(surface, payload, generation_pk=None):
    """An unsigned Model API delivery (the service signs only once the account's whsec_ secret
    was revealed): never trusted, it only makes the worker ask the provider about a job we know,
    at most once per job per HINT_SECONDS (the unique webhook_id of each window is the throttle).
    Returns True when it woke a poll."""
    request_id = str(payload.get("request_id") or "")[:200]
    if not request_id:
        return False
    generation = _by_request_id(request_id)
    if generation is None:
        # A job whose URL this is may have a second request; one such report is checked at a time.
        checking = StrayRequest.objects.filter(generation_id=generation_pk, confirmed=False).exists()
        stray = None if checking or not generation_pk else note_stray(
            surface, generation_pk, request_id, {"status": payload.get("status"), "request_id": request_id},
            confirmed=False)
        if stray is not None and stray.created:
            transaction.on_commit(partial(enqueue_stray_check, stray.pk))
        return False
    window = int(timezone.now().timestamp() // HINT_SECONDS)
    _, created = WebhookDelivery.objects.get_or_create(
        webhook_id=f"unsigned:{request_id}:{window}",
        defaults={"surface": surface, "request_id": request_id, "payload": payload, "signed": False})
    if not created or generation.is_finished:  # recorded (the health page shows it), nothing to ask
        return False
    transaction.on_commit(partial(enqueue, "poll_generation", generation.pk))
    return True


def note_stray(surface, generation_pk, request_id, payload, *, confirmed):
    """Record a provider request that names a job but is not the one the job recorded (see
    StrayRequest), once per job and request. None while the job's own receipt may still be
    coming (no request id yet and not finished): that request is then simply its own."""
    job = Generation.objects.filter(pk=generation_pk).values("request_id", "status").first()
    if job is None or job["request_id"] == request_id:
        return None
    if not job["request_id"] and job["status"] not in Generation.FINAL:
        return None
    status = str(payload.get("status") or "")[:20] if isinstance(payload, dict) else ""
    stray, created = StrayRequest.objects.get_or_create(
        generation_id=generation_pk, request_id=request_id,
        defaults={"surface": surface, "status": status, "confirmed": confirmed, "payload": payload})
    if not created and (confirmed and not stray.confirmed or status and status != stray.status):
        StrayRequest.objects.filter(pk=stray.pk).update(confirmed=stray.confirmed or confirmed,
                                                        status=status or stray.status)
    stray.created = created
    if created:
        log.warning("possible double charge: request %s names job %s, which recorded %r", request_id,
                    generation_pk, job["request_id"])
    return stray


def enqueue_stray_check(stray_id):
    send("generations.tasks.check_stray_request", stray_id, f"check_stray_request:{stray_id}")


def record_stray_check(stray, result):
    """The provider's answer about an unconfirmed stray request: it exists on the account."""
    StrayRequest.objects.filter(pk=stray.pk).update(confirmed=True, status=result.status or stray.status)


def receive_job_delivery(surface, generation_pk, payload):
    """Record a delivery to one job's own webhook URL (v1, Pixazo), once per request id and
    status, and act on it. Returns (delivery, created); delivery is None when it names no job
    or another job than the URL's."""
    with transaction.atomic():
        delivery, created = _record_delivery(surface, generation_pk, payload)
        if not created:
            return delivery, False
        if surface in HINT_ONLY_SURFACES:
            # Unsigned (only the URL's token says which job it is about): a hint that the job
            # moved, never applied as it is. The poll that confirms it is queued once this
            # record has committed.
            transaction.on_commit(partial(apply_delivery, delivery))
        else:
            # Signed (v1 echoes the job's own secret): applied in the transaction that records it.
            apply_delivery(delivery)
    return delivery, True


def _record_delivery(surface, generation_pk, payload):
    """Record a per-generation delivery once per request id and status. The request id
    must be this generation's (or not yet known), so a callback URL that leaked for one
    job cannot touch another. Returns (delivery or None, created)."""
    result = higgsfield.parse_result(surface, payload)
    if not result.request_id:
        return None, False
    if Generation.objects.filter(request_id=result.request_id).exclude(pk=generation_pk).exists():
        return None, False
    known = Generation.objects.filter(pk=generation_pk).values_list("request_id", flat=True).first()
    if known and known != result.request_id:  # a second request for this job: possibly charged twice
        if note_stray(surface, generation_pk, result.request_id, payload, confirmed=surface not in HINT_ONLY_SURFACES):
            transaction.on_commit(partial(_check_unconfirmed, generation_pk, result.request_id))
        return None, False
    if known is None:
        return None, False
    return WebhookDelivery.objects.get_or_create(
        webhook_id=f"{surface}:{result.request_id}:{result.status}",
        defaults={"surface": surface, "request_id": result.request_id, "payload": payload})


def _check_unconfirmed(generation_pk, request_id):
    stray = StrayRequest.objects.filter(generation_id=generation_pk, request_id=request_id, confirmed=False).first()
    if stray is not None:
        enqueue_stray_check(stray.pk)


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
    if delivery.surface in HINT_ONLY_SURFACES or not delivery.signed:  # unsigned: confirm with the provider first
        enqueue("poll_generation", generation.pk)
        return True
    result = higgsfield.parse_result(delivery.surface, delivery.payload)
    if record_result(generation, result, Source.WEBHOOK) and generation.is_finished:
        after_finish(generation)
    return True


# --- cancel --------------------------------------------------------------------------

class Cancel(enum.StrEnum):
    """What a user's cancel did."""

    CANCELED = "canceled"  # not sent yet: canceled here and now
    REQUESTED = "requested"  # queued at the provider: the worker asks it to cancel
    REFUSED = "refused"  # already running or finished


def request_cancel(generation):
    """A user's cancel. A job not sent yet is canceled here and now; a queued one is handed
    to the worker, which asks the provider (the card shows its answer)."""
    if generation.status == Status.DRAFT and generation.advance(
            Status.CANCELED, Source.USER, notice="Canceled before it was sent; nothing was charged."):
        kick_line(generation.account_id)
        return Cancel.CANCELED
    if generation.status == Status.QUEUED and not generation.cancel_requested_at:
        Generation.objects.filter(pk=generation.pk).update(cancel_requested_at=timezone.now(),
                                                           next_action_at=timezone.now(), notice="")
        generation.refresh_from_db()
        kick(generation)
        return Cancel.REQUESTED
    if not generation.is_finished:
        Generation.objects.filter(pk=generation.pk).update(
            notice="It has already started, so it can no longer be canceled.")
    generation.refresh_from_db()
    return Cancel.REFUSED


def begin_cancel(generation):
    """Whether to ask the provider to cancel the job now. One never sent is canceled here."""
    if generation.is_finished or not generation.cancel_requested_at:
        return False
    if not generation.request_id:
        generation.advance(Status.CANCELED, Source.USER, notice="Canceled before it was sent; nothing was charged.")
        return False
    return True


def cancel_refused(generation, exc):
    """The provider would not cancel (it has started it, or cannot cancel): say why on the card."""
    Generation.objects.filter(pk=generation.pk).update(cancel_requested_at=None, notice=exc.message)


def record_cancel(generation):
    if generation.advance(Status.CANCELED, Source.USER,
                          notice="Canceled while queued; the provider refunds canceled jobs."):
        kick_line(generation.account_id)


# --- archive -------------------------------------------------------------------------

def begin_archive(generation):
    """Whether a completed job's outputs are to be saved now; counts the try."""
    if generation.status != Status.COMPLETED or generation.archived:
        return False
    if generation.archive_attempts >= MAX_ATTEMPTS:
        quarantine(generation, f"Saving the outputs failed {generation.archive_attempts} times in a row.")
        return False
    Generation.objects.filter(pk=generation.pk).update(archive_attempts=generation.archive_attempts + 1)
    return True


def record_archive(generation, failures):
    """The outcome of saving a job's outputs, given the (output, ProviderError) pairs that
    failed: set aside for an operator if one cannot work, tried again later if they may, or
    archived. True when every output is saved."""
    for output, exc in failures:
        output.error = exc.message
        output.save(update_fields=["error"])
    permanent = [exc for _, exc in failures if not exc.retry_safe]
    if permanent and generation.archive_attempts + 1 >= MAX_ATTEMPTS:
        quarantine(generation, f"An output could not be saved: {permanent[0].message}")
        return False
    if permanent:  # a refusal (redirect loop, CDN error page) counts: set aside after MAX_ATTEMPTS
        generation.schedule(backoff(FIRST_ARCHIVE_RETRY, generation.archive_attempts))
        return False
    if failures:
        generation.schedule(backoff(FIRST_ARCHIVE_RETRY, generation.archive_attempts), archive_attempts=0)
        return False
    Generation.objects.filter(pk=generation.pk).update(archived=True, next_action_at=None, archive_attempts=0)
    return True


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
    """Claim one generation's next step (see claim) and enqueue it once committed."""
    now = now or timezone.now()
    step = step_for(generation)
    if step is None:
        Generation.objects.filter(pk=generation.pk).update(next_action_at=None)
        return False
    claimed = claim(generation, now)
    if claimed:
        enqueue_on_commit(step, generation.pk)
    return claimed


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


# A step that found its job leased by another step comes due again this many seconds later.
BUSY_RETRY = 1.0


def lease_busy(generation_id):
    """A step found its job leased by another step (a webhook's archive step while the poll is
    asking, say): the job comes due again in a moment rather than when its claim runs out, so
    whatever the holder leaves to do next is done then. A job already due sooner is left alone."""
    soon = timezone.now() + timedelta(seconds=BUSY_RETRY)
    (Generation.objects.filter(pk=generation_id).filter(Q(next_action_at__isnull=True) | Q(next_action_at__gt=soon))
     .exclude(status__in=(Status.FAILED, Status.NSFW, Status.CANCELED)).exclude(archived=True)
     .update(next_action_at=soon))


def recover_after(worker, now=None):
    """A worker stopped beating (killed, or its machine gone): free the leases it held and
    make every unsettled job not held by a live step due now, since the steps it had taken
    from the broker (and not started) died with it and nothing says which those were. A step
    sent twice is harmless (leases, and each step checks the job's state first). Returns how
    many jobs came due."""
    now = now or timezone.now()
    Generation.objects.filter(lease_holder=worker).update(lease_until=None, lease_holder="")
    return (Generation.objects.filter(next_action_at__gt=now, quarantined_at__isnull=True)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .exclude(status__in=(Status.FAILED, Status.NSFW, Status.CANCELED)).exclude(archived=True)
            .update(next_action_at=now))


def dispatch_due(now=None, limit=50):
    """Enqueue the next step of every generation whose next action is overdue."""
    now = now or timezone.now()
    candidates = (Generation.objects.filter(next_action_at__lte=now, quarantined_at__isnull=True)
                  .exclude(status__in=(Status.FAILED, Status.NSFW, Status.CANCELED))
                  .order_by("next_action_at")[:limit])
    return sum(kick(generation, now) for generation in candidates)
