"""The worker's steps against a real simulator over HTTP (tasks run inline)."""

import pytest
from django.utils import timezone

from generations import pipeline, tasks
from generations.models import Generation


@pytest.fixture
def generation(alice, project, account):
    return Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                     params={"prompt": "a red kite", "aspect_ratio": "1:1", "resolution": "720p",
                                             "batch_size": 1, "seed": 42}, account=account)


def finish(simulator):
    simulator.advance_clock(10)


def test_submit_records_the_request_and_queues(generation, simulator):
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert generation.request_id in simulator.jobs
    assert generation.submitted_at is not None
    assert [e.to_status for e in generation.events.all()] == ["submitting", "queued"]


def test_poll_then_archive_stores_the_image(generation, simulator):
    tasks.submit_generation(generation.pk)
    finish(simulator)
    tasks.poll_generation(generation.pk)
    tasks.archive_outputs(generation.pk)
    generation.refresh_from_db()
    output = generation.outputs.get()
    assert generation.status == "completed"
    assert generation.archived
    assert (output.width, output.height) == (1152, 1152)
    assert output.content_type == "image/png"
    assert output.file.read(8) == b"\x89PNG\r\n\x1a\n"
    assert output.thumbnail


def test_same_prompt_and_seed_give_the_same_bytes(generation, simulator, alice, project, account):
    twin = Generation.objects.create(owner=alice, project=project, model_id=generation.model_id,
                                     params=generation.params, account=account)
    for g in (generation, twin):
        tasks.submit_generation(g.pk)
    finish(simulator)
    for g in (generation, twin):
        tasks.poll_generation(g.pk)
        tasks.archive_outputs(g.pk)
    hashes = {g.outputs.get().sha256 for g in Generation.objects.all()}
    assert len(hashes) == 1


def test_a_failed_job_shows_the_providers_reason(generation, simulator):
    generation.params["prompt"] = "simulate-failure please"
    generation.save()
    tasks.submit_generation(generation.pk)
    finish(simulator)
    tasks.poll_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed"
    assert "failed" in generation.error.lower()


def test_a_rejected_submit_fails_with_a_plain_message(generation, simulator):
    generation.params["resolution"] = "4K"
    generation.save()
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed"
    assert "resolution" in generation.error


def test_a_rate_limited_submit_waits_its_turn(generation, simulator):
    simulator.config.faults["submit_429_burst"] = 1
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "draft"
    assert generation.next_action_at is not None
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"


def test_a_lost_answer_becomes_unknown_and_resolves_without_a_second_job(generation, simulator, monkeypatch):
    simulator.config.faults["submit_answer_lost_burst"] = 1  # created and charged, then a 504
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "unknown"
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert len(simulator.jobs) == 1


def test_finished_jobs_never_move_again(generation):
    generation.advance("canceled", Generation.Source.USER)
    assert not generation.advance("completed", Generation.Source.WEBHOOK)
    assert not generation.advance("queued", Generation.Source.POLL)
    generation.refresh_from_db()
    assert generation.status == "canceled"


def test_the_sweeper_enqueues_each_due_step_once(generation, simulator, monkeypatch):
    enqueued = []
    monkeypatch.setattr(pipeline, "enqueue", lambda step, pk: enqueued.append(step))
    Generation.objects.filter(pk=generation.pk).update(next_action_at="2000-01-01T00:00Z")
    from django.db import transaction

    with transaction.atomic():
        assert pipeline.dispatch_due() == 1
    with transaction.atomic():
        assert pipeline.dispatch_due() == 0  # claimed: not due again until the claim lapses


def test_the_scheduled_sweep_is_one_pass_and_frees_its_worker(generation, monkeypatch):
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: pytest.fail("the scheduled sweep waited"))
    Generation.objects.filter(pk=generation.pk).update(next_action_at="2000-01-01T00:00Z")
    assert tasks.sweep() == 1


def test_the_worker_commands_sweeper_runs_while_its_cluster_runs_and_outlives_a_failing_pass(generation,
                                                                                             monkeypatch):
    from generations.management.commands import worker

    passes, sleeps = [], []
    real = pipeline.dispatch_due

    def dispatch_due():
        passes.append(1)
        if len(passes) == 2:
            raise RuntimeError("database is locked")
        return real()

    monkeypatch.setattr(pipeline, "dispatch_due", dispatch_due)
    monkeypatch.setattr(tasks.time, "sleep", sleeps.append)
    monkeypatch.setattr(worker.time, "sleep", sleeps.append)
    Generation.objects.filter(pk=generation.pk).update(next_action_at="2000-01-01T00:00Z")
    worker.sweep_while(lambda: len(passes) < 4)  # the cluster stops during the fourth pass
    assert len(passes) == 4
    assert Generation.objects.get(pk=generation.pk).next_action_at > timezone.now()  # dispatched
    assert set(sleeps) == {1}  # a second between passes, failed or not
