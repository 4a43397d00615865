"""Submit retries that cannot double-charge (PROTOCOL.md §2.8, §2.10, §10.3): a submit is sent
again on its own only where it provably never reached the provider; a timeout or 5xx after
sending makes the job unknown, resent once with the same Idempotency-Key on the Model API and
set aside elsewhere; and a second provider request for one job is shown to admins."""

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from generations import higgsfield, pipeline, tasks
from generations.models import Generation, ProviderAccount, StrayRequest
from higgsweb import ledger
from higgsweb.simulator import catalogue as sim_catalogue
from higgsweb.simulator import model_api as sim_model_api
from tests.conftest import SIM_KEY, SIM_SECRET, WEBHOOK_SECRET

SOUL = {"prompt": "a red kite", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 1, "seed": 42}


def start(owner, project, account, model_id="higgsfield-ai/soul/standard", params=None):
    return pipeline.start(owner=owner, project=project, model_id=model_id, params=params or SOUL, account=account)


def submit(generation):
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    return generation


@pytest.mark.parametrize("surface", ["model_api", "v1"])
def test_a_connection_refused_before_sending_is_sent_again_later_on_any_surface(db, simulator, alice, project,
                                                                                surface):
    account = ProviderAccount.objects.create(name=surface, surface=surface, base_url="http://127.0.0.1:9",
                                             key_id=SIM_KEY, key_secret=SIM_SECRET)
    params = SOUL if surface == "model_api" else {"prompt": "a red kite", "width_and_height": "1152x2048",
                                                  "quality": "720p"}
    model = "higgsfield-ai/soul/standard" if surface == "model_api" else "v1/text2image/soul"
    generation = submit(start(alice, project, account, model, params))
    assert generation.status == "draft" and not generation.quarantined_at
    assert generation.next_action_at is not None  # it goes back in line
    account.base_url = simulator.url  # the provider is reachable again
    account.save()
    generation = submit(generation)
    assert generation.status == "queued"
    assert len(simulator.jobs) == 1


def test_an_answer_lost_after_sending_is_resent_once_with_the_same_key_and_charged_once(db, simulator, account,
                                                                                       alice, project):
    simulator.config.faults["submit_answer_lost_burst"] = 1  # the job is created, then a 504
    generation = submit(start(alice, project, account))
    assert generation.status == "unknown" and generation.next_action_at is not None
    (made,) = simulator.jobs
    generation = submit(generation)
    assert generation.status == "queued"
    assert generation.request_id == made and len(simulator.jobs) == 1
    job = simulator.jobs[made]
    assert simulator.config.starting_credits - simulator.balance(SIM_KEY) == sim_catalogue.estimate(job.model_id,
                                                                                                     job.payload)


def test_a_5xx_on_the_resend_too_ends_failed_with_a_plain_message_and_releases_the_credits(
        db, client, simulator, account, alice, project):
    simulator.config.faults["submit_5xx_burst"] = 2
    generation = submit(start(alice, project, account))
    assert generation.status == "unknown"
    generation = submit(generation)
    assert generation.status == "failed" and not generation.quarantined_at
    assert "twice, with the same Idempotency-Key" in generation.error and "(500)" in generation.error
    assert ledger.net(generation) == 0
    assert not simulator.jobs
    assert submit(generation).status == "failed"  # never sent a third time
    client.force_login(alice)
    card = client.get(f"/g/{generation.pk}/card/").content.decode()
    assert "Needs attention" not in card and "each time this job was sent" in card


def test_no_answer_twice_on_the_model_api_is_set_aside_for_an_operator(db, simulator, account, alice, project,
                                                                     monkeypatch):
    sent = []

    def times_out(*args, **kwargs):
        sent.append(kwargs["idempotency_key"])
        raise higgsfield.NetworkError("Could not reach the provider: ReadTimeout.")

    monkeypatch.setattr(tasks.higgsfield, "submit", times_out)
    generation = submit(start(alice, project, account))
    assert generation.status == "unknown"
    generation = submit(generation)
    assert generation.quarantined_at and "at most one job was started" in generation.quarantine_reason
    submit(generation)
    assert sent == [generation.pk, generation.pk]  # the same key, and only one resend


def test_a_5xx_on_a_surface_without_idempotency_is_set_aside_with_the_reason(db, client, simulator, alice, project):
    account = ProviderAccount.objects.create(name="legacy", surface="v1", base_url=simulator.url, key_id=SIM_KEY,
                                             key_secret=SIM_SECRET)
    simulator.config.faults["submit_5xx_burst"] = 1
    generation = submit(start(alice, project, account, "v1/text2image/soul",
                              {"prompt": "a red kite", "width_and_height": "1152x2048", "quality": "720p"}))
    assert generation.status == "unknown" and generation.quarantined_at
    assert "(500)" in generation.quarantine_reason and "not sent again" in generation.quarantine_reason
    submit(generation)
    assert not simulator.jobs  # never resent
    client.force_login(alice)
    assert "cannot recognise a repeat" in client.get(f"/g/{generation.pk}/card/").content.decode()


def test_model_api_dop_sent_with_motions_ends_with_a_plain_message(db, client, simulator, account, alice, project):
    """A job that still carries motions for Model API DoP (the studio no longer offers them) meets
    the service's 500 on every send, and ends failed with the reason, not a bare "Needs attention"."""
    params = {"prompt": "push in", "image_url": f"{simulator.url}/_files/x.png",
              "motions": [{"id": "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", "strength": 0.5}]}
    generation = submit(start(alice, project, account, "higgsfield-ai/dop/lite", params))
    generation = submit(generation)
    assert generation.status == "failed" and not generation.quarantined_at
    assert "(500)" in generation.error
    client.force_login(alice)
    assert "each time this job was sent" in client.get(f"/g/{generation.pk}/card/").content.decode()


def deliver_signed(client, url, payload):
    body = json.dumps(payload)
    when = datetime.now(UTC)
    msg_id = f"msg_{payload['request_id']}"
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": Webhook(WEBHOOK_SECRET).sign(msg_id, when, body)}
    path = url.split("://", 1)[1].split("/", 1)[1]
    return client.post("/" + path, body, content_type="application/json", headers=headers)


def test_a_second_request_for_one_job_is_shown_to_admins_as_a_possible_double_charge(
        db, client, simulator, account, alice, admin_user, project):
    """If the service ever ignored the Idempotency-Key, the resend would start a second job; the
    first one's webhook names the job through its URL and is recorded for reconciliation."""
    simulator.config.faults["submit_answer_lost_burst"] = 1
    simulator.config.faults["ignore_idempotency"] = True
    generation = submit(submit(start(alice, project, account)))
    assert generation.status == "queued" and len(simulator.jobs) == 2
    (first,) = [job for job in simulator.jobs.values() if job.request_id != generation.request_id]
    assert f"g={generation.pk}" in first.webhook_url
    simulator.advance_clock(10)
    answer = deliver_signed(client, first.webhook_url, sim_model_api.webhook_body(simulator, first))
    assert answer.status_code == 200
    stray = StrayRequest.objects.get()
    assert (stray.generation_id, stray.request_id, stray.confirmed) == (generation.pk, first.request_id, True)
    generation.refresh_from_db()
    assert generation.status == "queued"  # the other request's result is not this job's
    client.force_login(admin_user)
    page = client.get("/audit/reconciliation/").content.decode()
    assert "Possible double charges" in page and first.request_id in page and generation.request_id in page


def test_an_unsigned_report_of_a_second_request_is_listed_once_the_provider_confirms_it(
        db, client, simulator, account, alice, admin_user, project, django_capture_on_commit_callbacks):
    simulator.config.faults["submit_answer_lost_burst"] = 1
    simulator.config.faults["ignore_idempotency"] = True
    generation = submit(submit(start(alice, project, account)))
    (first,) = [job for job in simulator.jobs.values() if job.request_id != generation.request_id]
    path = "/" + first.webhook_url.split("://", 1)[1].split("/", 1)[1]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(path, json.dumps({"status": "queued", "request_id": first.request_id}),
                             content_type="application/json")
        forged = client.post(path, json.dumps({"status": "completed", "request_id": "made-up"}),
                             content_type="application/json")
    assert answer.status_code == 202 and forged.status_code == 202
    assert list(StrayRequest.objects.values_list("request_id", "confirmed")) == [(first.request_id, True)]


def test_the_webhook_url_names_the_job_and_the_old_url_still_works(db, client, account, alice, project):
    generation = start(alice, project, account)
    assert generation.webhook_url.endswith(f"/webhooks/higgsfield/?g={generation.pk}")
    Generation.objects.filter(pk=generation.pk).update(status="queued", request_id="req-old")
    body = json.dumps({"status": "nsfw", "request_id": "req-old"})
    when = datetime.now(UTC)
    headers = {"webhook-id": "m-old", "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": Webhook(WEBHOOK_SECRET).sign("m-old", when, body)}
    assert client.post("/webhooks/higgsfield/", body, content_type="application/json",
                       headers=headers).status_code == 200
    generation.refresh_from_db()
    assert generation.status == "nsfw"


def test_a_v1_delivery_for_another_job_set_at_a_jobs_own_url_is_listed_as_a_possible_double_charge(
        db, client, alice, project):
    from generations import webhooks

    account = ProviderAccount.objects.create(name="legacy", surface="v1", base_url="https://platform.example")
    generation = Generation.objects.create(owner=alice, project=project, model_id="v1/text2image/soul", account=account,
                                           params={"prompt": "p"}, status="queued", request_id="js-1")
    payload = {"id": "js-2", "type": "text2image_soul", "jobs": [{"id": "j-2", "status": "queued", "results": None}]}
    client.post(f"/webhooks/v1/{generation.pk}/", json.dumps(payload), content_type="application/json",
                headers={"X-Webhook-Secret-Key": webhooks.generation_token("v1", generation.pk)})
    stray = StrayRequest.objects.get()
    assert (stray.generation_id, stray.request_id, stray.confirmed) == (generation.pk, "js-2", True)
    generation.refresh_from_db()
    assert generation.status == "queued"


def test_a_resend_refused_as_the_same_key_with_other_parameters_is_set_aside_not_failed(db, simulator, account,
                                                                                        alice, project, settings):
    """If PUBLIC_BASE_URL changed between the two sends, the webhook URL (part of the key's
    fingerprint) differs: the provider's 422 then says the first send was accepted."""
    simulator.config.faults["submit_answer_lost_burst"] = 1
    generation = submit(start(alice, project, account))
    assert generation.status == "unknown"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8001"
    generation = submit(generation)
    assert generation.status == "unknown" and generation.quarantined_at
    assert "first send of this job was accepted" in generation.quarantine_reason
    assert ledger.net(generation) > 0  # still held: it may be charged
