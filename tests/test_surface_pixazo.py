"""Surface E, the Pixazo gateway: the client module against the simulator's /pixazo
prefix over real HTTP, the callback endpoint, and one generation through the worker."""

import io
import json
import time

import httpx
import pytest
from PIL import Image

from generations import higgsfield, pipeline, tasks, webhooks
from generations.higgsfield import pixazo
from generations.models import Generation, ProviderAccount, WebhookDelivery
from tests import cdn

KEY = "pixazo-demo-key"


@pytest.fixture
def conn(simulator):
    return higgsfield.Connection("pixazo", simulator.url + "/pixazo", "", KEY)


def soul(**body):
    return {"prompt": "Woman on rooftop", "width_and_height": "1536x1152", **body}


def finished(simulator, conn, receipt):
    simulator.advance_clock(10)
    return higgsfield.status(conn, receipt.request_id)


def test_a_soul_request_is_queued_then_completes_with_an_image(simulator, conn):
    receipt = higgsfield.submit(conn, "generateSoul", soul(quality="1080p"))
    assert receipt.status == "queued"
    assert receipt.request_id.startswith("ai-model-api_")
    assert receipt.status_url.endswith(f"/pixazo/v2/requests/status/{receipt.request_id}")
    result = finished(simulator, conn, receipt)
    assert result.status == "completed"
    assert result.raw["status"] == "COMPLETED"
    image = result.outputs[0]
    assert image.kind == "image"
    assert Image.open(io.BytesIO(cdn.get(image.url).content)).size == (1536, 1152)


def test_the_documented_base_url_with_its_api_path_works_too(simulator):
    documented = higgsfield.Connection("pixazo", simulator.url + "/pixazo/ai-model-api/v1", "", KEY)
    receipt = higgsfield.submit(documented, "generateSoul", soul())
    assert higgsfield.status(documented, receipt.request_id).status == "queued"


def test_processing_reads_as_in_progress(simulator, conn):
    receipt = higgsfield.submit(conn, "generateSoul", soul())
    simulator.advance_clock(0.3)
    result = higgsfield.status(conn, receipt.request_id)
    assert (result.raw["status"], result.status) == ("PROCESSING", "in_progress")


def test_image_to_video_gives_an_mp4(simulator, conn):
    receipt = higgsfield.submit(conn, "generateImageToVideoRequest", {
        "model": "dop-lite", "prompt": "lake", "seed": 123456, "motions_id": "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a",
        "motions_strength": 0.7, "input_images": ["https://example.com/lake.jpg"], "enhance_prompt": True})
    result = finished(simulator, conn, receipt)
    assert result.outputs[0].kind == "video"
    assert cdn.get(result.outputs[0].url).content[4:8] == b"ftyp"


def test_failed_and_system_errors_read_as_failed_with_the_reason(simulator, conn):
    failed = finished(simulator, conn, higgsfield.submit(conn, "generateSoul", soul(prompt="simulate-failure")))
    assert (failed.status, failed.raw["status"]) == ("failed", "FAILED")
    assert "simulated" in failed.error
    with httpx.Client() as client:
        answer = client.post(simulator.url + "/pixazo/ai-model-api/v1/generateSoul", json=soul(),
                             headers={"Ocp-Apim-Subscription-Key": KEY, "X-Simulate-Outcome": "error"})
    errored = finished(simulator, conn, higgsfield.Receipt(answer.json()["request_id"]))
    assert (errored.status, errored.raw["status"]) == ("failed", "ERROR")
    assert "not charged" in errored.error


def test_a_moderated_request_reads_as_nsfw(simulator, conn):
    result = finished(simulator, conn, higgsfield.submit(conn, "generateSoul", soul(prompt="simulate-nsfw")))
    assert result.status == "nsfw"


def test_a_wrong_subscription_key_is_an_auth_error(simulator):
    bad = higgsfield.Connection("pixazo", simulator.url + "/pixazo", "", "wrong")
    with pytest.raises(higgsfield.AuthError):
        higgsfield.submit(bad, "generateSoul", soul())


def test_an_empty_wallet_is_a_402_with_the_gateway_s_message(simulator, conn):
    simulator.pixazo.wallet = 0.05
    with pytest.raises(higgsfield.NotEnoughCredits) as caught:
        higgsfield.submit(conn, "generateSoul", soul())
    assert caught.value.status == 402
    assert "Your wallet does not have enough balance." in caught.value.message


def test_failed_requests_are_not_charged(simulator, conn):
    simulator.pixazo.wallet = 0.10
    receipt = higgsfield.submit(conn, "generateSoul", soul(prompt="simulate-failure"))
    assert simulator.pixazo.wallet == pytest.approx(0)
    finished(simulator, conn, receipt)
    assert simulator.pixazo.wallet == pytest.approx(0.10)


def test_a_missing_field_is_a_readable_bad_request(simulator, conn):
    with pytest.raises(higgsfield.BadRequest, match="width_and_height: Field required"):
        higgsfield.submit(conn, "generateSoul", {"prompt": "x"})


def test_an_unknown_operation_is_model_not_found(simulator, conn):
    with pytest.raises(higgsfield.BadRequest, match="not found or is disabled"):
        higgsfield.submit(conn, "generateTeleport", soul())


def test_pixazo_requests_cannot_be_canceled(simulator, conn):
    receipt = higgsfield.submit(conn, "generateSoul", soul())
    with pytest.raises(higgsfield.ProviderError, match="no way to cancel"):
        higgsfield.cancel(conn, receipt.request_id)


def test_the_form_s_soul_request_is_translated_to_generate_soul():
    operation, body = pixazo.native("higgsfield-ai/soul/standard",
                                    {"prompt": "p", "aspect_ratio": "16:9", "resolution": "720p", "seed": 4})
    assert operation == "generateSoul"
    assert body["width_and_height"] == "2048x1152"
    assert body["quality"] == "720p"


# --- callbacks ------------------------------------------------------------------------

@pytest.fixture
def pixazo_account(db, simulator):
    return ProviderAccount.objects.create(name="pixazo", surface="pixazo", base_url=simulator.url + "/pixazo",
                                          key_secret=KEY)


def test_a_callback_is_only_a_hint_the_worker_confirms_by_polling(client, simulator, conn, alice, project,
                                                                  pixazo_account, monkeypatch):
    receipt = higgsfield.submit(conn, "generateSoul", soul())  # still queued at the gateway
    generation = Generation.objects.create(owner=alice, project=project, model_id="generateSoul", params=soul(),
                                           account=pixazo_account, status="queued", request_id=receipt.request_id)
    monkeypatch.setattr("django.db.transaction.on_commit", lambda func, **kwargs: func())
    forged = {"request_id": receipt.request_id, "status": "COMPLETED",
              "output": {"media_url": ["https://evil.example/x.png"], "media_type": "image/png"}}
    token = webhooks.generation_token("pixazo", generation.pk)
    response = client.post(f"/webhooks/pixazo/{generation.pk}/{token}/", json.dumps(forged),
                           content_type="application/json")
    assert response.content == b"ok"
    generation.refresh_from_db()
    assert generation.status == "queued"  # the gateway still says QUEUED, so nothing was trusted
    assert not generation.outputs.exists()
    assert WebhookDelivery.objects.get().surface == "pixazo"


def test_a_callback_with_a_wrong_token_is_not_found(client, alice, project, pixazo_account):
    generation = Generation.objects.create(owner=alice, project=project, model_id="generateSoul", params={},
                                           account=pixazo_account, status="queued", request_id="ai-model-api_1")
    body = json.dumps({"request_id": "ai-model-api_1", "status": "FAILED"})
    assert client.post(f"/webhooks/pixazo/{generation.pk}/guess/", body,
                       content_type="application/json").status_code == 404
    assert not WebhookDelivery.objects.exists()


@pytest.mark.slow
def test_a_generation_on_a_pixazo_account_is_confirmed_after_its_callback(live_server, simulator, settings,
                                                                          transactional_db, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    account = ProviderAccount.objects.create(name="pixazo", surface="pixazo", base_url=simulator.url + "/pixazo",
                                             key_secret=KEY)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "a green bicycle", "aspect_ratio": "3:4",
                                        "resolution": "720p", "batch_size": 1, "seed": 11},
                                account=account)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert simulator.jobs[generation.request_id].webhook_url == generation.webhook_url
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not generation.archived:
        time.sleep(0.1)
        generation.refresh_from_db()
    assert generation.archived, f"stuck in {generation.status}"
    assert generation.events.get(to_status="completed").source == "poll"  # confirmed, not taken on trust
    assert WebhookDelivery.objects.filter(surface="pixazo", request_id=generation.request_id).exists()
    output = generation.outputs.get()
    assert (output.width, output.height) == (1152, 1536)


def test_the_simulator_control_endpoint_empties_the_wallet_and_rotates_keys(simulator, conn):
    changed = httpx.post(simulator.url + "/_sim/pixazo", json={"wallet": 0, "keys": [KEY, "second-key"]}).json()
    assert changed == {"keys": [KEY, "second-key"], "wallet": 0}
    with pytest.raises(higgsfield.NotEnoughCredits):
        higgsfield.submit(conn, "generateSoul", soul())
    assert httpx.post(simulator.url + "/_sim/pixazo", json={"balance": 1}).status_code == 400
