"""Worker tasks. Each takes an id and reads the job again, takes the job's lease, calls the
provider (generations.higgsfield) and hands the answer to generations.pipeline, which decides
what it means and what happens next. `sweep` turns overdue rows into tasks, so a task the
broker loses is enqueued again."""

import logging
import time

from django.conf import settings
from django.db import transaction

from characters import tasks as character_tasks
from generations import archive, higgsfield, history, inputs, pipeline, webhook_mode
from generations.models import Generation, ProviderAccount, StrayRequest
from higgsweb import ledger, logs
from higgsweb.models import WorkerHeartbeat

log = logging.getLogger("generations.tasks")
HEARTBEAT_SECONDS = 10  # a sweep outside the worker command (health page only)


def _load(generation_id):
    pipeline.fresh_connection()
    return Generation.objects.select_related("account").filter(pk=generation_id).first()


def leased(step):
    """Run a step only while holding the job's lease, and always give it back; the steps it
    queues are sent after that."""
    def wrapper(generation_id):
        with logs.bound(generation_id=generation_id):
            generation = _load(generation_id)
            if generation is None:
                return None
            if not generation.acquire_lease(pipeline.lease_seconds(), WorkerHeartbeat.identity()):
                pipeline.lease_busy(generation_id)  # never dropped: due again once the holder is done
                return None
            generation.refresh_from_db()  # as the last holder left it, not as read before the lease
            with pipeline.follow_ups():
                try:
                    return step(generation)
                finally:
                    generation.release_lease()
    wrapper.__name__ = step.__name__
    wrapper.__doc__ = step.__doc__
    return wrapper


@leased
def submit_generation(generation):
    """Send a waiting job to the provider once a slot is free and it is its turn."""
    conn = pipeline.begin_submit(generation)
    if conn is None:
        return
    try:
        params = inputs.provider_params(generation, generation.account)
    except higgsfield.ProviderError as exc:
        pipeline.inputs_refused(generation, exc)
        return
    legacy = {"webhook_secret": generation.webhook_secret} if conn.surface == ProviderAccount.Surface.V1 else {}
    if media := inputs.provider_media(params, generation.account):  # inputs the surface names by id
        legacy["media"] = media
    try:
        receipt = higgsfield.submit(conn, generation.model_id, params,
                                    idempotency_key=generation.pk, webhook_url=webhook_mode.url_for(generation),
                                    **legacy)
    except higgsfield.ProviderError as exc:
        pipeline.submit_refused(generation, exc)
    else:
        pipeline.record_receipt(generation, receipt)


@leased
def poll_generation(generation):
    """Ask the provider for the status: the fallback when no webhook arrives."""
    if not pipeline.begin_poll(generation):
        return
    try:
        result = higgsfield.status(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:
        pipeline.poll_refused(generation, exc)
        return
    pipeline.record_poll(generation, result)


@leased
def cancel_generation(generation):
    """Ask the provider to cancel a queued job; explain a refusal on the card."""
    if not pipeline.begin_cancel(generation):
        return
    try:
        higgsfield.cancel(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:
        pipeline.cancel_refused(generation, exc)
        return
    pipeline.record_cancel(generation)


@leased
def archive_outputs(generation):
    """Copy a completed job's outputs into local storage before the provider deletes them."""
    if not pipeline.begin_archive(generation):
        return
    failures = []
    for output in generation.outputs.filter(archived_at__isnull=True):
        try:
            archive.archive_output(output)
        except higgsfield.ProviderError as exc:
            failures.append((output, exc))
    if pipeline.record_archive(generation, failures) and settings.HIGGSFIELD_DELETE_AFTER_ARCHIVE \
            and generation.request_id:
        _delete_provider_copy(generation)


def _delete_provider_copy(generation):
    try:
        higgsfield.delete(generation.account.connection(), generation.request_id)
    except higgsfield.ProviderError as exc:  # the provider deletes it on expiry anyway
        log.info("could not delete the provider's copy of %s: %s", generation.pk, exc.message)


def check_account(account_id):
    """Read an account's balance and whether the provider accepts its credentials (the
    accounts page shows the reading)."""
    pipeline.fresh_connection()
    account = ProviderAccount.objects.filter(pk=account_id).first()
    return ledger.read_provider_balance(account).key_valid if account is not None else None


def import_history(import_id):
    """Bring an fnf account's web-app history into the gallery (generations/history.py)."""
    pipeline.fresh_connection()
    return history.run(import_id)


def sweep(seconds=0, running=None):
    """Enqueue every overdue step now, and keep doing so once a second for `seconds` (while
    `running()`, if given). The worker command runs this beside its cluster for as long as the
    cluster runs; the schedule (every minute) is one pass, so a cluster started without that
    command still moves. Beats for the health page at most every HEARTBEAT_SECONDS, and every
    WorkerHeartbeat.BEAT_SECONDS in a worker command, whose beats also keep its steps' leases:
    each pass first takes over the work of workers that stopped beating (recover_dead_workers)."""
    deadline = time.monotonic() + seconds
    total = 0
    next_beat = 0.0
    every = WorkerHeartbeat.BEAT_SECONDS if WorkerHeartbeat.identity() else HEARTBEAT_SECONDS
    while running is None or running():
        pipeline.fresh_connection()
        if time.monotonic() >= next_beat:  # tells the health page (and other workers) this one is alive
            WorkerHeartbeat.beat()
            next_beat = time.monotonic() + every
        recover_dead_workers()
        total += pipeline.dispatch_due() + character_tasks.dispatch_due()
        if time.monotonic() >= deadline:
            break
        time.sleep(1)
    return total


def check_stray_request(stray_id):
    """Ask the provider whether an unsigned report of a second request for a job is real (see
    StrayRequest): listed for admins once it is, forgotten when the provider does not know it."""
    pipeline.fresh_connection()
    stray = StrayRequest.objects.select_related("generation__account").filter(pk=stray_id).first()
    if stray is None or stray.confirmed or stray.generation.account is None:
        return
    try:
        result = higgsfield.status(stray.generation.account.connection(), stray.request_id)
    except higgsfield.NotFound:
        stray.delete()
        return
    except higgsfield.ProviderError as exc:  # asked again when the next report of it arrives
        log.info("could not check stray request %s: %s", stray.request_id, exc.message)
        return
    pipeline.record_stray_check(stray, result)


def recover_dead_workers():
    """Take over the work of every worker that stopped beating: its leases are freed and the
    steps it may have held come due now (pipeline.recover_after, characters.tasks.recover_after),
    each worker's once, by one sweeper."""
    recovered = 0
    if not WorkerHeartbeat.stale().exists():  # the usual pass: one read, no write lock taken
        return recovered
    with transaction.atomic():
        for worker in WorkerHeartbeat.take_dead():
            count = pipeline.recover_after(worker) + character_tasks.recover_after(worker)
            log.warning("worker %s stopped beating; %s steps sent again", worker, count)
            recovered += count
    return recovered
