"""The job pipeline under duplicates, reordering, drops, storms, limits, cancels and crashes."""

import logging
import socket
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.conf import Conf

from generations import higgsfield, pipeline, tasks
from generations.models import ApiToken, Generation, ProviderAccount
from higgsweb.models import Budget

PARAMS = {"prompt": "a paper boat", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 1, "seed": 5}


def later(minutes=10):
    return timezone.now() + timedelta(minutes=minutes)


def start(owner, project, **params):
    return pipeline.start(owner=owner, project=project, model_id="higgsfield-ai/soul/standard",
                          params={**PARAMS, **params})


def drive(until, timeout=15, jump=False):
    """Act as the sweeper until `until()` holds; `jump` treats every scheduled step as due."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until():
            return True
        pipeline.dispatch_due(now=later() if jump else None)
        time.sleep(0.05)
    return until()


def settled(*generations):
    def check():
        for g in generations:
            g.refresh_from_db()
        return all(g.is_settled for g in generations)
    return check


@pytest.fixture
def live(live_server, settings, simulator):
    settings.PUBLIC_BASE_URL = live_server.url
    return simulator


@pytest.mark.slow
def test_duplicate_webhooks_change_nothing(transactional_db, live, alice, project):
    live.config.faults["webhook_duplicate"] = True
    generation = start(alice, project, batch_size=4)
    assert drive(lambda: settled(generation)() and len(live.delivery_log) >= 2)
    assert generation.status == "completed"
    assert generation.events.filter(to_status="completed").count() == 1
    assert generation.outputs.count() == 4
    assert sum(1 for _, status, _ in live.delivery_log if status == 200) == 2  # both copies answered 2xx


@pytest.mark.slow
def test_reordered_deliveries_end_each_job_in_its_own_state(transactional_db, live, alice, project):
    live.config.faults["webhook_reorder"] = True
    ok = start(alice, project, prompt="fine")
    failed = start(alice, project, prompt="simulate-failure")
    blocked = start(alice, project, prompt="simulate-nsfw")
    assert drive(settled(ok, failed, blocked))
    assert (ok.status, failed.status, blocked.status) == ("completed", "failed", "nsfw")


@pytest.mark.slow
def test_dropped_webhooks_are_recovered_by_polling(transactional_db, live, alice, project):
    live.config.faults["webhook_drop"] = True
    generation = start(alice, project)
    assert drive(settled(generation), jump=True)
    assert generation.status == "completed" and generation.archived
    assert generation.events.get(to_status="completed").source == "poll"


def test_a_5xx_storm_on_status_delays_the_job_but_never_fails_it(db, simulator, alice, project, monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    generation = start(alice, project)
    tasks.submit_generation(generation.pk)
    simulator.advance_clock(10)
    simulator.config.faults["status_5xx_burst"] = 12  # four polls' worth of 500s
    for _ in range(4):
        tasks.poll_generation(generation.pk)
        generation.refresh_from_db()
        assert generation.status == "queued" and not generation.quarantined_at
    tasks.poll_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "completed"
    assert len(simulator.jobs) == 1


def test_a_429_storm_on_submit_keeps_the_job_waiting_and_creates_one_job(db, simulator, alice, project):
    generation = start(alice, project)
    simulator.config.faults["submit_429_burst"] = 5
    for _ in range(5):
        tasks.submit_generation(generation.pk)
        generation.refresh_from_db()
        assert generation.status == "draft" and not generation.quarantined_at
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert len(simulator.jobs) == 1


def test_the_providers_concurrency_answer_puts_the_job_back_in_line(db, account, alice, project, monkeypatch):
    def full(*args, **kwargs):
        raise higgsfield.ConcurrencyLimit(detail="Maximum number of concurrent requests (4) has been reached")
    monkeypatch.setattr(tasks.higgsfield, "submit", full)
    generation = start(alice, project)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "draft"
    assert generation.next_action_at > timezone.now()
    assert generation.events.last().detail.startswith("The provider account is running")


def test_never_more_in_flight_than_the_account_allows_and_the_line_is_fair(db, simulator, account, alice, bob,
                                                                            project):
    ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=2)
    batch = [start(alice, project, prompt=f"alice {i}") for i in range(6)]
    bobs = start(bob, project, prompt="bob's only job")  # created after alice's whole batch
    for generation in [*batch, bobs]:
        tasks.submit_generation(generation.pk)
    assert account.in_flight() == 2
    assert len(simulator.jobs) == 2
    bobs.refresh_from_db()
    assert bobs.status == "queued"  # alice's batch of six did not starve bob
    waiting = [Generation.objects.get(pk=g.pk) for g in batch[1:]]
    assert [g.place_in_line for g in waiting] == [1, 2, 3, 4, 5]
    # A slot frees up: alice's next job takes it, in order, and no more than one.
    Generation.objects.get(pk=batch[0].pk).advance("completed", Generation.Source.POLL)
    for generation in reversed(batch):
        tasks.submit_generation(generation.pk)
    assert account.in_flight() == 2
    assert Generation.objects.get(pk=batch[1].pk).status == "queued"


def test_the_waiting_card_shows_its_place_in_line(client, db, account, alice, project):
    ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=1)
    start(alice, project)
    second = start(alice, project)
    client.force_login(alice)
    assert "#2 in line" in client.get(f"/g/{second.pk}/card/").content.decode()


def test_cancel_while_queued_is_refunded_and_shown(db, client, simulator, alice, project,
                                                   django_capture_on_commit_callbacks):
    simulator.config.queue_seconds = 60  # still waiting at the provider when the cancel arrives
    generation = start(alice, project)
    tasks.submit_generation(generation.pk)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/g/{generation.pk}/cancel/", headers={"HX-Request": "true"})
    generation.refresh_from_db()
    assert generation.status == "canceled"
    assert "refund" in generation.notice
    assert simulator.jobs[generation.request_id].status(simulator) == "canceled"
    assert "refund" in client.get(f"/g/{generation.pk}/card/").content.decode()


def test_cancel_after_the_job_started_is_explained(db, client, simulator, alice, project,
                                                   django_capture_on_commit_callbacks):
    generation = start(alice, project)
    tasks.submit_generation(generation.pk)
    simulator.config.queue_seconds = 0  # the provider has started it; our row still says queued
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/g/{generation.pk}/cancel/", headers={"HX-Request": "true"})
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert "already started" in generation.notice
    assert generation.cancel_requested_at is None  # withdrawn, not left pending
    assert not generation.was_refunded
    card = client.get(f"/g/{generation.pk}/card/").content.decode()
    assert "already started" in card and "Cancel requested" not in card


def test_cancel_before_submission_needs_no_provider(db, client, account, alice, project):
    generation = start(alice, project)
    client.force_login(alice)
    client.post(f"/g/{generation.pk}/cancel/")
    generation.refresh_from_db()
    assert generation.status == "canceled"
    assert "nothing was charged" in generation.notice


def test_retry_makes_a_new_job_with_the_same_settings(db, client, simulator, alice, project,
                                                      django_capture_on_commit_callbacks):
    failed = start(alice, project, prompt="simulate-failure then fine")
    failed.advance("failed", Generation.Source.POLL, error="boom")
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/g/{failed.pk}/retry/")
    retry = Generation.objects.get(retry_of=failed)
    assert retry.params == failed.params
    assert retry.status == "queued"  # submitted by the (inline) worker


def test_a_retry_past_the_budget_is_refused_on_the_card(db, client, account, alice, project):
    failed = start(alice, project)
    failed.advance("failed", Generation.Source.POLL, error="boom")
    Budget.objects.filter(scope="project", project=project).update(hard_limit=0)  # spent up since
    client.force_login(alice)
    response = client.post(f"/g/{failed.pk}/retry/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "Over budget" in response.content.decode()
    assert not Generation.objects.filter(retry_of=failed).exists()
    response = client.post(f"/g/{failed.pk}/retry/", follow=True)
    assert "Over budget" in response.content.decode()


def test_others_cannot_cancel_or_retry(db, client, account, alice, bob, project):
    generation = start(alice, project)
    client.force_login(bob)
    assert client.post(f"/g/{generation.pk}/cancel/").status_code == 404
    assert client.post(f"/g/{generation.pk}/retry/").status_code == 404


def test_a_step_that_keeps_crashing_is_quarantined_visibly(db, client, account, alice, project, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("worker died")
    monkeypatch.setattr(tasks.higgsfield, "submit", crash)
    generation = start(alice, project)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            tasks.submit_generation(generation.pk)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.quarantined_at is not None
    assert generation.next_action_at is None
    client.force_login(alice)
    assert "Needs attention" in client.get(f"/g/{generation.pk}/card/").content.decode()


def test_a_step_does_nothing_while_another_holds_the_lease(db, simulator, alice, project):
    generation = start(alice, project)
    assert generation.acquire_lease(60)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "draft"
    assert not simulator.jobs


def test_an_unknown_submit_on_a_surface_without_idempotency_is_never_resent(db, account, alice, project,
                                                                            monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.higgsfield, "supports_idempotency", lambda conn: False)
    monkeypatch.setattr(tasks.higgsfield, "submit", lambda *a, **k: sent.append(1))
    generation = start(alice, project)
    generation.advance("submitting", Generation.Source.SUBMIT)
    generation.advance("unknown", Generation.Source.SUBMIT)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert not sent
    assert generation.quarantined_at and "cannot recognise a repeat" in generation.quarantine_reason


def test_jobs_command_lists_and_resolves(db, account, alice, project, capsys):
    generation = start(alice, project)
    pipeline.quarantine(generation, "stuck for a test")
    call_command("jobs", "list", "quarantined")
    assert str(generation.pk) in capsys.readouterr().out
    call_command("jobs", "resolve", str(generation.pk), "failed", "--reason", "checked by hand")
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.quarantined_at is None
    assert generation.events.last().source == "system"


def test_jobs_command_repolls_one(db, simulator, alice, project, capsys):
    generation = start(alice, project)
    tasks.submit_generation(generation.pk)
    simulator.advance_clock(10)
    call_command("jobs", "repoll", str(generation.pk))
    assert "completed" in capsys.readouterr().out


def test_system_check_refuses_timeout_not_below_retry(settings):
    from higgsweb.checks import q_cluster_check

    settings.Q_CLUSTER = {"orm": "default", "timeout": 200, "retry": 180}
    assert [e.id for e in q_cluster_check(None)] == ["higgsweb.E002"]
    settings.Q_CLUSTER = {"timeout": 60, "retry": 180}
    assert [e.id for e in q_cluster_check(None)] == ["higgsweb.E001"]


def test_a_freed_slot_wakes_the_head_of_the_line_only(db, account, alice, bob, project):
    ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=3)
    later = timezone.now() + timedelta(seconds=30)
    running = start(alice, project, prompt="running")
    Generation.objects.filter(pk=running.pk).update(status="queued")
    batch = [start(alice, project, prompt=f"alice {i}") for i in range(3)]
    bobs = start(bob, project, prompt="bob's only job")
    Generation.objects.filter(pk__in=[g.pk for g in [*batch, bobs]]).update(next_action_at=later)
    due = timezone.now() - timedelta(seconds=5)
    Generation.objects.filter(pk=batch[0].pk).update(next_action_at=due)  # already due: not moved

    pipeline.kick_line(account.pk)  # two free slots: bob's job (fair line) and alice's first
    after = {g.pk: Generation.objects.get(pk=g.pk).next_action_at for g in [*batch, bobs]}
    assert after[batch[0].pk] == due
    assert after[bobs.pk] <= timezone.now()
    assert after[batch[1].pk] == after[batch[2].pk] == later

    ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=10)
    pipeline.kick_line(account.pk)  # room for everyone waiting
    assert all(Generation.objects.get(pk=g.pk).next_action_at <= timezone.now() for g in batch)


@pytest.fixture
def broker_down(monkeypatch, caplog):
    """The task broker is Redis on a port nothing listens on, so every enqueue fails. Calling
    the fixture's value brings a broker back (tasks run inline again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port}/0")
    caplog.set_level(logging.WARNING, logger="generations.pipeline")
    return lambda: monkeypatch.setattr(Conf, "SYNC", True)


def test_with_the_broker_down_the_api_answers_201_and_the_job_runs_once_it_is_back(
        transactional_db, client, simulator, account, alice, project, broker_down, caplog):
    token = ApiToken.objects.issue(alice)[1]
    response = client.post("/api/generations", {"model": "higgsfield-ai/soul/standard", "project": project.pk,
                                                 "params": PARAMS},
                           content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    generation = Generation.objects.get(pk=response.json()["id"])
    assert generation.status == "draft" and generation.credits > 0  # committed with its hold
    assert f"could not queue submit_generation:{generation.pk}" in caplog.text
    assert not simulator.jobs

    broker_down()  # back
    assert pipeline.dispatch_due() == 1  # the sweeper's pass
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert len(simulator.jobs) == 1


def test_with_the_broker_down_the_studio_form_and_a_retry_still_start_their_jobs(
        transactional_db, client, simulator, account, alice, project, broker_down):
    client.force_login(alice)
    response = client.post("/generations/new/", {
        "project": project.pk, "prompt": "a paper lantern", "aspect_ratio": "1:1", "resolution": "720p",
        "batch_size": "1", "random_seed": "on"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "generationCreated" in response["HX-Trigger"]
    failed = start(alice, project, prompt="tried before")
    failed.advance("failed", Generation.Source.POLL, error="boom")
    assert client.post(f"/g/{failed.pk}/retry/").status_code == 302
    waiting = Generation.objects.filter(status="draft")
    assert waiting.count() == 2 and not simulator.jobs

    broker_down()  # back
    assert pipeline.dispatch_due() == 2
    assert Generation.objects.filter(status="queued").count() == 2
    assert len(simulator.jobs) == 2
