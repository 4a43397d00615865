"""Surface B, the legacy v1 API: the client module against the simulator over real HTTP,
the app's v1 webhook, and one generation through the worker on a v1 account."""

import io
import json
import subprocess
import tempfile
import time
import wave

import httpx
import pytest
from django.test import Client
from PIL import Image

from generations import higgsfield, pipeline, tasks, webhooks
from generations.archive import ffmpeg_exe
from generations.higgsfield import v1
from generations.models import Generation, ProviderAccount, WebhookDelivery
from tests import cdn
from tests.conftest import SIM_KEY, SIM_SECRET


@pytest.fixture
def conn(simulator):
    return higgsfield.Connection("v1", simulator.url, SIM_KEY, SIM_SECRET)


def soul(**params):
    return {"prompt": "a lighthouse at dusk", "width_and_height": "1152x2048", "quality": "720p", **params}


def finished(simulator, conn, receipt):
    simulator.advance_clock(10)
    return higgsfield.status(conn, receipt.request_id)


def wav_bytes(seconds=1):
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x10" * 16000 * seconds)
    return buffer.getvalue()


def probe(data):
    with tempfile.NamedTemporaryFile(suffix=".mp4") as video:
        video.write(data)
        video.flush()
        return subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", video.name], capture_output=True,
                              text=True).stderr


def test_a_soul_batch_of_four_gives_four_images_each_with_a_preview(simulator, conn):
    receipt = higgsfield.submit(conn, "v1/text2image/soul", soul(batch_size=4, seed=7))
    assert receipt.status == "queued"
    result = finished(simulator, conn, receipt)
    assert result.status == "completed"
    assert len(result.outputs) == 4
    first = result.outputs[0]
    assert first.kind == "image"
    full = cdn.get(first.url)
    preview = cdn.get(first.preview_url)
    assert Image.open(io.BytesIO(full.content)).size == (864, 1536)  # 1152x2048 rendered at 720p
    assert preview.headers["content-type"] == "image/webp"
    assert len(result.raw["jobs"]) == 4


def test_a_model_api_soul_request_is_translated_for_a_v1_account(simulator, conn):
    receipt = higgsfield.submit(conn, "higgsfield-ai/soul/standard",
                                {"prompt": "a tram", "aspect_ratio": "1:1", "resolution": "1080p", "batch_size": 1})
    result = finished(simulator, conn, receipt)
    assert result.raw["input_params"]["width"] == 1536
    assert Image.open(io.BytesIO(cdn.get(result.outputs[0].url).content)).size == (1536, 1536)


def test_a_failed_job_set_reads_as_failed(simulator, conn):
    result = finished(simulator, conn, higgsfield.submit(conn, "v1/text2image/soul", soul(prompt="simulate-failure")))
    assert result.status == "failed"
    assert result.error
    assert result.outputs == []


def test_a_moderated_job_set_reads_as_nsfw(simulator, conn):
    result = finished(simulator, conn, higgsfield.submit(conn, "v1/text2image/soul", soul(prompt="simulate-nsfw")))
    assert result.status == "nsfw"


def test_wrong_v1_credentials_are_an_auth_error(simulator):
    bad = higgsfield.Connection("v1", simulator.url, SIM_KEY, "not-the-secret")
    with pytest.raises(higgsfield.AuthError):
        higgsfield.submit(bad, "v1/text2image/soul", soul())


def test_an_account_without_credits_is_told_so_and_failures_are_refunded(simulator, conn):
    simulator.v1.credits = 1.0
    with pytest.raises(higgsfield.NotEnoughCredits):
        higgsfield.submit(conn, "v1/text2image/soul", soul())
    simulator.v1.credits = 1.5
    receipt = higgsfield.submit(conn, "v1/text2image/soul", soul(prompt="simulate-failure"))
    assert simulator.v1.credits == 0
    assert finished(simulator, conn, receipt).status == "failed"
    assert simulator.v1.credits == 1.5


def test_invalid_params_come_back_as_field_errors(simulator, conn):
    with pytest.raises(higgsfield.ValidationFailed) as caught:
        higgsfield.submit(conn, "v1/text2image/soul", {"prompt": "x", "width_and_height": "1000x1000"})
    assert set(caught.value.field_errors) == {"width_and_height", "quality"}
    assert caught.value.field_errors["quality"] == ["Field required"]
    assert "2048x2048" in caught.value.field_errors["width_and_height"][0]


def test_a_body_without_params_gets_the_v1_422(simulator):
    response = httpx.post(f"{simulator.url}/v1/text2image/soul", json={"prompt": "flat"},
                          headers={"hf-api-key": SIM_KEY, "hf-secret": SIM_SECRET})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "params"]


def test_dop_animates_the_given_start_image_into_an_mp4(simulator, conn):
    still = finished(simulator, conn, higgsfield.submit(conn, "v1/text2image/soul", soul())).outputs[0].url
    receipt = higgsfield.submit(conn, "v1/image2video", {
        "model": "dop-lite", "prompt": "slow push in", "input_images": [{"type": "image_url", "image_url": still}]})
    result = finished(simulator, conn, receipt)
    video = result.outputs[0]
    assert video.kind == "video"
    body = cdn.get(video.url).content
    assert body[4:8] == b"ftyp"
    assert Image.open(io.BytesIO(cdn.get(video.preview_url).content)).format == "WEBP"
    assert result.raw["type"] == "image2video"


def test_speak_returns_a_video_with_the_given_audio(simulator, conn):
    fnf = higgsfield.Connection("fnf", simulator.url + "/fnf", "", "fnf-demo-token")
    audio_url = higgsfield.fnf.upload(fnf, wav_bytes(), "audio/wav")
    receipt = higgsfield.submit(conn, "v1/speak/higgsfield", {
        "prompt": "hello", "quality": "mid", "duration": 5,
        "input_image": {"type": "image_url", "image_url": "https://example.com/avatar.jpg"},
        "input_audio": {"type": "audio_url", "audio_url": audio_url}})
    result = finished(simulator, conn, receipt)
    data = cdn.get(result.outputs[0].url, timeout=60).content
    assert data[4:8] == b"ftyp"
    assert b"mp4a" in data  # an AAC audio track
    assert "Duration: 00:00:01" in probe(data)  # as long as the one-second WAV, not the 4 s stand-in tone


def test_a_v1_job_set_cannot_be_canceled(simulator, conn):
    receipt = higgsfield.submit(conn, "v1/text2image/soul", soul())
    with pytest.raises(higgsfield.ProviderError, match="cannot cancel"):
        higgsfield.cancel(conn, receipt.request_id)


def test_a_batch_is_still_running_while_any_job_runs():
    assert v1.aggregate(["completed", "in_progress"]) == "in_progress"
    assert v1.aggregate(["queued", "queued"]) == "queued"
    assert v1.aggregate(["nsfw", "completed"]) == "completed"
    assert v1.aggregate(["failed", "nsfw"]) == "nsfw"


# --- the app's v1 webhook -------------------------------------------------------------

@pytest.fixture
def v1_account(db, simulator):
    return ProviderAccount.objects.create(name="legacy", surface="v1", base_url=simulator.url,
                                          key_id=SIM_KEY, key_secret=SIM_SECRET)


@pytest.fixture
def queued(alice, project, v1_account):
    return Generation.objects.create(owner=alice, project=project, model_id="v1/text2image/soul",
                                     params=soul(), account=v1_account, status="queued", request_id="js-1")


def deliver(client, generation, secret, status="nsfw"):
    body = {"id": "js-1", "type": "text2image_soul", "jobs": [{"id": "j", "status": status, "results": None}]}
    return client.post(f"/webhooks/v1/{generation.pk}/", json.dumps(body), content_type="application/json",
                       headers={"X-Webhook-Secret-Key": secret})


def test_a_v1_delivery_with_the_generations_secret_is_applied_once(client, queued):
    secret = queued.webhook_secret
    assert deliver(client, queued, secret).content == b"ok"
    assert deliver(client, queued, secret).content == b"duplicate"
    queued.refresh_from_db()
    assert queued.status == "nsfw"
    assert WebhookDelivery.objects.get().surface == "v1"


def test_a_forged_v1_secret_is_refused(client, queued, alice, project, v1_account):
    other = Generation.objects.create(owner=alice, project=project, model_id="v1/text2image/soul", params={},
                                      account=v1_account)
    assert deliver(client, queued, "guessed").status_code == 401
    assert deliver(client, queued, other.webhook_secret).status_code == 401  # another job's secret
    queued.refresh_from_db()
    assert queued.status == "queued"
    assert not WebhookDelivery.objects.exists()


def test_each_generation_gets_its_own_derived_v1_secret(queued, settings):
    assert queued.webhook_secret == webhooks.generation_token("v1", queued.pk)
    before = queued.webhook_secret
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert queued.webhook_secret != before  # derived from SECRET_KEY, never stored


@pytest.mark.slow
def test_a_generation_on_a_v1_account_ends_archived_via_the_legacy_webhook(live_server, simulator, settings,
                                                                          transactional_db, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    account = ProviderAccount.objects.create(name="legacy", surface="v1", base_url=simulator.url,
                                             key_id=SIM_KEY, key_secret=SIM_SECRET)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "an orange tram", "aspect_ratio": "3:4",
                                        "resolution": "720p", "batch_size": 1, "seed": 5},
                                account=account)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    job = simulator.jobs[generation.request_id]
    assert job.webhook_secret == generation.webhook_secret
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not generation.archived:
        time.sleep(0.1)
        generation.refresh_from_db()
    assert generation.archived, f"stuck in {generation.status}"
    assert generation.events.get(to_status="completed").source == "webhook"
    output = generation.outputs.get()
    assert (output.width, output.height) == (1152, 1536)
    assert output.preview_url.endswith("_min.webp")
    client = Client()
    client.force_login(alice)
    assert client.get(f"/g/{generation.pk}/card/", headers={"HX-Request": "true"}).status_code == 286


def test_v1_uploads_through_the_same_upload_url_flow(simulator):
    conn = higgsfield.Connection("v1", simulator.url, "test-key", "test-secret")
    url = higgsfield.upload(conn, b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    assert url.startswith(simulator.url)
    assert simulator.upload_bytes(url).startswith(b"\x89PNG")
