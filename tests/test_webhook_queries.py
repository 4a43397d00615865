"""What one verified webhook costs the database, and that the short transaction keeps every
guarantee: verified before any query, recorded before acting, deduped on webhook-id, safe
against out-of-order reports, one confirm, and the download left to the worker."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf

from generations import pipeline
from generations.models import Generation, WebhookDelivery
from higgsweb import ledger
from higgsweb.models import LedgerEntry, Notification
from tests.test_webhook import URL, signed

COMPLETED = {"status": "completed", "request_id": "req-1",
             "images": [{"url": "https://cdn.example/a.png"}, {"url": "https://cdn.example/b.png"}]}


@pytest.fixture
def running(db, alice, project, account, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # tasks go to the broker, as in production
    real_async_task = pipeline.async_task

    def recorded(*args, **kwargs):
        QUEUED.append(kwargs["task_name"])
        return real_async_task(*args, **kwargs)

    QUEUED.clear()
    monkeypatch.setattr(pipeline, "async_task", recorded)
    generation = Generation.objects.create(owner=alice, project=project, account=account,
                                           model_id="higgsfield-ai/soul/standard", params={"prompt": "p"},
                                           status="in_progress", request_id="req-1")
    ledger.hold(generation, 2)
    return generation


def post(client, payload, msg_id="msg_1"):
    body, headers = signed(payload, msg_id=msg_id)
    return client.post(URL, body, content_type="application/json", headers=headers)


QUEUED = []


def queued_tasks():
    """What went to the broker (the ORM's table or Redis), by task name."""
    return list(QUEUED)


def test_a_completed_delivery_is_applied_in_a_dozen_queries_and_one_short_transaction(
        client, running, django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks(execute=True):
        response = post(client, COMPLETED)
    assert response.content == b"ok"
    sql = [query["sql"] for query in ctx.captured_queries]
    # It was 40: the job read four times, a savepoint per insert, an INSERT per output, the
    # owner and project read for the ledger, the archive task queued inside the transaction.
    assert len(sql) <= 12, "\n".join(sql)
    begins = [i for i, q in enumerate(sql) if q.startswith("SAVEPOINT")]  # the test's own transaction wraps it
    assert len(begins) == 1, "one transaction, no savepoints inside it"
    end = next(i for i, q in enumerate(sql) if q.startswith("RELEASE SAVEPOINT"))
    inside = sql[begins[0] + 1:end]
    assert len(inside) <= 7, "\n".join(inside)
    assert inside[0].startswith('INSERT INTO "generations_webhookdelivery"'), "recorded before it is acted on"
    assert not any(q.startswith('SELECT "generations_generation"') for q in inside), "the job is read before"
    assert not any("django_q_ormq" in q for q in inside), "the archive task is queued after the commit"

    running.refresh_from_db()
    assert running.status == "completed"
    assert list(running.outputs.values_list("position", "provider_url")) == [
        (0, "https://cdn.example/a.png"), (1, "https://cdn.example/b.png")]
    assert list(running.events.values_list("from_status", "to_status", "source")) == [
        ("in_progress", "completed", "webhook")]
    assert running.ledger_entries.filter(kind="confirm").count() == 1
    assert running.credits == 2
    assert Notification.objects.filter(user=running.owner, kind="job").count() == 1  # alice is away
    assert queued_tasks() == [f"archive_outputs:{running.pk}"]  # the download is the worker's
    assert running.next_action_at > running.finished_at  # claimed: the sweeper will not queue it twice


def test_a_forged_delivery_is_refused_before_any_query(client, running):
    body, headers = signed(COMPLETED, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(URL, body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert ctx.captured_queries == []


def test_a_redelivery_and_a_second_completed_report_change_nothing(client, running,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, COMPLETED).content == b"ok"
        assert post(client, COMPLETED).content == b"duplicate"  # same webhook-id
        assert post(client, COMPLETED, msg_id="msg_2").content == b"ok"  # recorded, but the job already moved
    assert WebhookDelivery.objects.count() == 2
    assert running.events.count() == 1
    assert running.outputs.count() == 2
    assert LedgerEntry.objects.filter(generation=running, kind="confirm").count() == 1
    assert queued_tasks() == [f"archive_outputs:{running.pk}"]


def test_a_report_checked_against_a_stale_read_of_the_job_is_still_refused(
        client, running, monkeypatch, django_capture_on_commit_callbacks):
    """The job is read before the write transaction; if a poll completed it in between, a
    late 'failed' must not move it back or refund it."""
    stale = Generation.objects.select_related("owner").get(pk=running.pk)
    monkeypatch.setattr("generations.pipeline._by_request_id", lambda request_id: stale)
    with django_capture_on_commit_callbacks(execute=True):
        Generation.objects.get(pk=running.pk).advance("completed", "poll")
        response = post(client, {"status": "failed", "request_id": "req-1", "error": "late"})
    assert response.content == b"ok"
    running.refresh_from_db()
    assert running.status == "completed"
    assert list(running.events.values_list("to_status", flat=True)) == ["completed"]
    assert not running.ledger_entries.filter(kind="refund").exists()
    assert running.credits == 2


def test_a_failed_delivery_refunds_once_and_wakes_the_line(client, running, alice, project, account,
                                                           django_capture_on_commit_callbacks):
    waiting = Generation.objects.create(owner=alice, project=project, account=account, model_id="nano-banana",
                                        params={"prompt": "next"}, status="draft", next_action_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, {"status": "failed", "request_id": "req-1", "error": "boom"})
    assert response.content == b"ok"
    running.refresh_from_db()
    assert running.status == "failed" and running.error == "boom"
    assert running.credits == 0
    assert running.ledger_entries.filter(kind="refund").count() == 1
    waiting.refresh_from_db()
    assert waiting.next_action_at is not None  # its turn: the sweeper submits it now
    assert queued_tasks() == []
