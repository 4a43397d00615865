"""Steps that collide or lose their worker are taken up again at once: a step that finds its
job leased comes back a moment later, and a worker that stops beating has its leases freed and
its steps sent again by the next sweep (not when a lease or a claim of minutes runs out)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generations import higgsfield, pipeline, tasks
from generations.models import Generation
from higgsweb.models import WorkerHeartbeat

PARAMS = {"prompt": "a glass harbour", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 4, "seed": 3}


@pytest.fixture
def generation(alice, project, account):
    return Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                     params=PARAMS, account=account)


def test_a_result_the_webhook_brings_while_the_poll_holds_the_job_is_saved_by_the_next_step(
        generation, simulator, monkeypatch, django_capture_on_commit_callbacks):
    tasks.submit_generation(generation.pk)
    simulator.advance_clock(10)
    real_status = higgsfield.status
    seen = {}

    def status_while_the_webhook_lands(conn, request_id):
        result = real_status(conn, request_id)
        # The provider's webhook arrives now: the job completes, and its archive step runs at
        # once — while this poll still holds the job's lease.
        job = Generation.objects.get(pk=generation.pk)
        seen["completed_by_webhook"] = pipeline.record_result(job, result, Generation.Source.WEBHOOK)
        tasks.archive_outputs(generation.pk)
        seen["archived_by_that_step"] = Generation.objects.get(pk=generation.pk).archived
        return result

    monkeypatch.setattr(higgsfield, "status", status_while_the_webhook_lands)
    tasks.poll_generation(generation.pk)
    monkeypatch.setattr(higgsfield, "status", real_status)
    generation.refresh_from_db()
    assert seen == {"completed_by_webhook": True, "archived_by_that_step": False}
    assert generation.status == "completed" and not generation.archived
    assert generation.lease_until is None
    # Due again a moment later, not when the archive's claim of minutes runs out …
    assert generation.next_action_at <= timezone.now() + timedelta(seconds=pipeline.BUSY_RETRY)
    # … so the sweeper's next pass saves it.
    with django_capture_on_commit_callbacks(execute=True):
        assert pipeline.dispatch_due(now=timezone.now() + timedelta(seconds=pipeline.BUSY_RETRY)) == 1
    generation.refresh_from_db()
    assert generation.archived
    assert generation.outputs.filter(archived_at__isnull=False).count() == 4


def test_a_step_whose_worker_stopped_beating_is_sent_again_by_the_next_sweep(
        generation, simulator, monkeypatch, django_capture_on_commit_callbacks):
    now = timezone.now()
    stale = now - timedelta(seconds=WorkerHeartbeat.STALE_SECONDS + 5)
    WorkerHeartbeat.objects.create(worker="gone:101", seen_at=stale, holds_steps=True)
    WorkerHeartbeat.objects.create(worker="alive:202", seen_at=now, holds_steps=True)
    # The dead worker was submitting this job: its lease and the claim would last minutes.
    Generation.objects.filter(pk=generation.pk).update(
        status="submitting", lease_until=now + timedelta(seconds=120), lease_holder="gone:101",
        next_action_at=now + timedelta(seconds=180))
    busy = Generation.objects.create(owner=generation.owner, project=generation.project, account=generation.account,
                                     model_id=generation.model_id, params=PARAMS, status="queued",
                                     lease_until=now + timedelta(seconds=120), lease_holder="alive:202",
                                     next_action_at=now + timedelta(seconds=180))

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.recover_dead_workers() == 1
        assert tasks.recover_dead_workers() == 0  # once per dead worker
        pipeline.dispatch_due()
    generation.refresh_from_db()
    busy.refresh_from_db()
    assert generation.status == "queued" and generation.request_id in simulator.jobs
    assert busy.lease_holder == "alive:202" and busy.next_action_at > now  # a live worker's step is left alone
    assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["alive:202"]


def test_a_worker_commands_steps_carry_its_name_and_its_beats_keep_them(generation, simulator, monkeypatch):
    monkeypatch.setenv(WorkerHeartbeat.IDENTITY_VARIABLE, "here:303")
    held = {}
    real_submit = higgsfield.submit

    def submit(*args, **kwargs):
        held["holder"] = Generation.objects.get(pk=generation.pk).lease_holder
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(higgsfield, "submit", submit)
    tasks.sweep()
    assert WorkerHeartbeat.objects.get(worker="here:303").holds_steps
    tasks.submit_generation(generation.pk)
    assert held == {"holder": "here:303"}
    generation.refresh_from_db()
    assert generation.lease_holder == "" and generation.status == "queued"
