"""Surface C, the web app's fnf API (unofficial): the client module against the
simulator's /fnf prefix over real HTTP, and one generation through the worker."""

import io

import httpx
import pytest
from PIL import Image

from generations import higgsfield, pipeline, tasks
from generations.models import Generation, ProviderAccount
from tests import cdn

TOKEN = "fnf-demo-token"


@pytest.fixture
def conn(simulator):
    return higgsfield.Connection("fnf", simulator.url + "/fnf", "", TOKEN)


def soul(**params):
    return {"prompt": "a red kite", "quality": "720p", "aspect_ratio": "1:1", "width": 1152, "height": 1152,
            "batch_size": 1, "seed": 3, **params}


def finished(simulator, conn, receipt):
    simulator.advance_clock(10)
    return higgsfield.status(conn, receipt.request_id)


def png(size=(320, 240)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_soul_job_completes_with_image_and_preview(simulator, conn):
    receipt = higgsfield.submit(conn, "jobs/text2image-soul", soul())
    assert receipt.status == "queued"
    result = finished(simulator, conn, receipt)
    assert result.status == "completed"
    output = result.outputs[0]
    assert output.kind == "image"
    assert output.preview_url.endswith("_min.webp")
    assert Image.open(io.BytesIO(cdn.get(output.url).content)).size == (1152, 1152)


def test_processing_reads_as_in_progress(simulator, conn):
    receipt = higgsfield.submit(conn, "text2image-soul", soul())
    simulator.advance_clock(0.3)
    result = higgsfield.status(conn, receipt.request_id)
    assert result.raw["jobs"][0]["status"] == "processing"
    assert result.status == "in_progress"


def test_the_form_s_soul_request_is_translated_to_the_web_app_sizes(simulator, conn):
    receipt = higgsfield.submit(conn, "higgsfield-ai/soul/standard",
                                {"prompt": "tram", "aspect_ratio": "9:16", "resolution": "720p", "batch_size": 1})
    result = finished(simulator, conn, receipt)
    assert (result.raw["input_params"]["width"], result.raw["input_params"]["height"]) == (864, 1536)


def test_a_failed_job_carries_the_web_app_error(simulator, conn):
    result = finished(simulator, conn, higgsfield.submit(conn, "text2image-soul", soul(prompt="simulate-failure")))
    assert result.status == "failed"
    assert "simulated" in result.error


def test_a_moderated_job_reads_as_nsfw(simulator, conn):
    result = finished(simulator, conn, higgsfield.submit(conn, "text2image-soul", soul(prompt="simulate-nsfw")))
    assert result.status == "nsfw"


def test_an_expired_token_asks_for_a_fresh_one(simulator):
    stale = higgsfield.Connection("fnf", simulator.url + "/fnf", "", "an-expired-jwt")
    with pytest.raises(higgsfield.AuthError, match="paste it"):
        higgsfield.submit(stale, "text2image-soul", soul())
    with pytest.raises(higgsfield.AuthError, match="fresh token"):
        higgsfield.fnf.balance(stale)


def test_the_user_endpoint_shows_the_credits_and_jobs_spend_them(simulator, conn):
    assert higgsfield.fnf.balance(conn)["credits"] == 500
    higgsfield.submit(conn, "text2image-soul", soul(batch_size=4))
    assert higgsfield.fnf.balance(conn)["credits"] == 494


def test_too_few_credits_is_a_plain_not_enough_credits(simulator, conn):
    simulator.fnf.credits = 1
    with pytest.raises(higgsfield.NotEnoughCredits):
        higgsfield.submit(conn, "text2image-soul", soul())


def test_unlimited_plans_use_unlim_for_single_images_only(simulator, conn):
    simulator.fnf.has_unlim = True
    higgsfield.submit(conn, "text2image-soul", soul(), use_unlim=True)
    assert higgsfield.fnf.balance(conn)["credits"] == 500
    higgsfield.submit(conn, "text2image-soul", soul(batch_size=4), use_unlim=True)
    assert higgsfield.fnf.balance(conn)["credits"] == 494


def test_missing_and_invalid_params_come_back_as_field_errors(simulator, conn):
    with pytest.raises(higgsfield.ValidationFailed) as caught:
        higgsfield.submit(conn, "text2image-soul", {"prompt": "x", "quality": "4k", "aspect_ratio": "1:1",
                                                    "width": 1152})
    assert set(caught.value.field_errors) == {"quality", "height"}


def test_an_unknown_web_app_model_is_not_found(simulator, conn):
    with pytest.raises(higgsfield.NotFound):
        higgsfield.submit(conn, "no-such-model", soul())


def test_an_upload_round_trips_and_starts_a_video(simulator, conn):
    data = png((400, 300))
    url = higgsfield.fnf.upload(conn, data, "image/png")
    assert cdn.get(url).content == data
    media_id = url.rsplit("/", 1)[-1].split(".")[0]
    receipt = higgsfield.submit(conn, "image2video", {
        "prompt": "push in", "model": "lite", "frames": 85, "width": 400, "height": 300,
        "input_image": {"id": media_id, "url": url, "type": "media_input"}})
    result = finished(simulator, conn, receipt)
    video = result.outputs[0]
    assert video.kind == "video"
    assert cdn.get(video.url).content[4:8] == b"ftyp"
    assert simulator.jobs[receipt.request_id].outputs[0][1:3] == (640, 480)  # the uploaded frame's shape


def test_the_presigned_put_refuses_another_content_type(simulator, conn):
    created = httpx.post(simulator.url + "/fnf/media", json={"content_type": "image/png"},
                         headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert httpx.put(created["upload_url"], content=png(), headers={"Content-Type": "image/jpeg"}).status_code == 403
    confirm = httpx.post(f"{simulator.url}/fnf/media/{created['id']}/upload", json={},
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert confirm.status_code == 400


def test_fnf_jobs_cannot_be_canceled(simulator, conn):
    receipt = higgsfield.submit(conn, "text2image-soul", soul())
    with pytest.raises(higgsfield.ProviderError, match="no way to cancel"):
        higgsfield.cancel(conn, receipt.request_id)


def test_the_account_choice_says_fnf_is_unofficial():
    assert "unofficial" in ProviderAccount.Surface.FNF.label


def test_a_generation_on_an_fnf_account_is_polled_to_an_archived_image(simulator, alice, project):
    account = ProviderAccount.objects.create(name="web app", surface="fnf", base_url=simulator.url + "/fnf",
                                             key_secret=TOKEN)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "a blue door", "aspect_ratio": "4:3",
                                        "resolution": "720p", "batch_size": 1, "seed": 9},
                                account=account)
    assert generation.webhook_url == ""  # fnf has no webhooks: the worker polls
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    simulator.advance_clock(10)
    tasks.poll_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "completed"
    tasks.archive_outputs(generation.pk)
    generation.refresh_from_db()
    assert generation.archived
    output = generation.outputs.get()
    assert (output.width, output.height) == (1536, 1152)
    assert output.file.read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_detail_page_labels_an_fnf_run_as_unofficial(client, simulator, alice, project):
    account = ProviderAccount.objects.create(name="web app", surface="fnf", base_url=simulator.url + "/fnf",
                                             key_secret=TOKEN)
    generation = Generation.objects.create(owner=alice, project=project, model_id="text2image-soul",
                                           params={"prompt": "p"}, account=account)
    client.force_login(alice)
    page = client.get(f"/g/{generation.pk}/").content.decode()
    assert "web app · Web app fnf API (unofficial, Bearer token)" in page


@pytest.mark.parametrize("seconds, frames", [(3, 85), (5, 145)])
def test_a_dop_request_becomes_a_web_app_video_job_with_frames(simulator, conn, seconds, frames):
    media = higgsfield.upload_media(conn, png(), "image/png")
    frame = higgsfield.Media(media.url, media.id, "image/png", 320, 240)
    receipt = higgsfield.submit(conn, "higgsfield-ai/dop/turbo", {
        "prompt": "slow push-in", "image_url": media.url, "duration": seconds,
        "motions": [{"id": "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", "strength": 0.7}]}, media={media.url: frame})
    job = next(j for j in simulator.jobs.values() if j.request_id == receipt.request_id or
               receipt.request_id in str(j.extra))
    assert job.payload["frames"] == frames
    assert job.payload["model"] == "turbo"
    result = finished(simulator, conn, receipt)
    assert result.status == "completed"
    assert result.outputs[0].kind == "video"
