import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from generations.models import Generation, WebhookDelivery
from tests.conftest import WEBHOOK_SECRET

URL = "/webhooks/higgsfield/"


def signed(payload, secret=WEBHOOK_SECRET, msg_id="msg_1", when=None):
    body = json.dumps(payload)
    when = when or datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, when, body)}
    return body, headers


@pytest.fixture
def queued(db, alice, project):
    return Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                     params={"prompt": "p"}, status="queued", request_id="req-1")


def post(client, body, headers):
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_a_valid_delivery_records_the_result(client, queued, monkeypatch, django_capture_on_commit_callbacks):
    kicked = []
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: kicked.append(step))
    payload = {"status": "completed", "request_id": "req-1", "images": [{"url": "https://cdn.example/a.png"}]}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, *signed(payload))
    assert response.status_code == 200
    queued.refresh_from_db()
    assert queued.status == "completed"
    assert list(queued.outputs.values_list("provider_url", flat=True)) == ["https://cdn.example/a.png"]
    assert queued.events.last().source == "webhook"
    assert kicked == ["archive_outputs"]  # the download is the worker's job


def test_a_forged_signature_is_refused_and_changes_nothing(client, queued):
    payload = {"status": "failed", "request_id": "req-1", "error": "x"}
    body, headers = signed(payload, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    assert post(client, body, headers).status_code == 401
    queued.refresh_from_db()
    assert queued.status == "queued"
    assert not WebhookDelivery.objects.exists()


def test_a_tampered_body_is_refused(client, queued):
    body, headers = signed({"status": "completed", "request_id": "req-1"})
    assert post(client, body.replace("completed", "failed"), headers).status_code == 401


def test_a_stale_delivery_is_refused(client, queued):
    body, headers = signed({"status": "nsfw", "request_id": "req-1"}, when=datetime.now(UTC) - timedelta(minutes=6))
    assert post(client, body, headers).status_code == 401
    queued.refresh_from_db()
    assert queued.status == "queued"


def test_an_unsigned_delivery_is_answered_2xx_and_only_wakes_a_poll(client, queued, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    """Before the account's whsec_ secret is revealed the service sends deliveries unsigned; a 4xx
    would never be retried, and the body cannot be trusted, so it only makes the worker ask."""
    kicked = []
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: kicked.append((step, pk)))
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(URL, json.dumps({"status": "nsfw", "request_id": "req-1"}),
                             content_type="application/json")
    assert answer.status_code == 202
    queued.refresh_from_db()
    assert queued.status == "queued"  # not trusted
    assert kicked == [("poll_generation", queued.pk)]
    assert WebhookDelivery.objects.get().signed is False


def test_unsigned_deliveries_wake_at_most_one_poll_per_job_every_few_seconds(client, queued, monkeypatch,
                                                                           django_capture_on_commit_callbacks):
    kicked = []
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: kicked.append(step))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert client.post(URL, json.dumps({"status": "completed", "request_id": "req-1"}),
                               content_type="application/json").status_code == 202
    assert 1 <= len(kicked) <= 2  # one per 5-second window; the loop may straddle two
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(URL, json.dumps({"status": "completed", "request_id": "nobody-knows"}),
                             content_type="application/json")
    assert answer.status_code == 202 and len(kicked) <= 2  # a request id we do not know wakes nothing


def test_signature_headers_that_fail_verification_stay_401(client, queued):
    body = json.dumps({"status": "nsfw", "request_id": "req-1"})
    assert client.post(URL, body, content_type="application/json",
                       headers={"webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
                       ).status_code == 401
    assert client.post(URL, body, content_type="application/json",
                       headers={"webhook-signature": "v1,AAAA"}).status_code == 401
    queued.refresh_from_db()
    assert queued.status == "queued"


def test_a_replayed_delivery_changes_nothing(client, queued, monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    body, headers = signed({"status": "failed", "request_id": "req-1", "error": "first"})
    assert post(client, body, headers).content == b"ok"
    assert post(client, body, headers).content == b"duplicate"
    assert WebhookDelivery.objects.count() == 1
    assert queued.events.filter(to_status="failed").count() == 1


def test_the_previous_secret_still_verifies_during_rotation(client, queued, settings):
    settings.HIGGSFIELD_WEBHOOK_SECRET = "whsec_" + "TmV3U2VjcmV0TmV3U2VjcmV0TmV3U2Vj"
    settings.HIGGSFIELD_WEBHOOK_SECRET_PREVIOUS = WEBHOOK_SECRET
    assert post(client, *signed({"status": "nsfw", "request_id": "req-1"})).status_code == 200
    queued.refresh_from_db()
    assert queued.status == "nsfw"


def test_a_late_in_progress_after_completion_is_ignored(client, queued, monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    post(client, *signed({"status": "completed", "request_id": "req-1", "images": []}, msg_id="m1"))
    post(client, *signed({"status": "in_progress", "request_id": "req-1"}, msg_id="m2"))
    queued.refresh_from_db()
    assert queued.status == "completed"


def test_a_delivery_before_the_request_id_is_saved_is_applied_later(client, alice, project, account, monkeypatch):
    """The provider can answer the webhook faster than the submit task saves its answer."""
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "p"}, account=account)
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    from generations import higgsfield, tasks

    monkeypatch.setattr(tasks.higgsfield, "submit", lambda *a, **k: higgsfield.Receipt("req-early"))
    post(client, *signed({"status": "nsfw", "request_id": "req-early"}))
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "nsfw"
