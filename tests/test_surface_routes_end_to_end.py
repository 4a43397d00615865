"""A member's job routed to the web app (fnf) or to Pixazo runs end to end through that surface
against the simulator, in the bodies its documents show: fnf DoP with the start frame uploaded
through the three-step /media flow and named by id, url and size (seed 002), Soul 2 through
/jobs/v2 (examples/fnf.json), Pixazo's DoP with every required field and `input_images` as
strings (seed 003). The simulator refuses what the service would."""

import io

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations import higgsfield, pipeline, routing, tasks, uploads
from generations.models import Generation, ProviderAccount
from higgsweb.models import LedgerEntry

GENERAL = "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a"


@pytest.fixture
def web_app(db, simulator):
    return ProviderAccount.objects.create(name="Web app", surface="fnf", base_url=simulator.url + "/fnf",
                                          key_secret="fnf-demo-token")


@pytest.fixture
def pixazo(db, simulator):
    return ProviderAccount.objects.create(name="Pixazo", surface="pixazo", base_url=simulator.url + "/pixazo",
                                          key_secret="pixazo-demo-key")


@pytest.fixture
def frame(alice):
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 120, 30)).save(buffer, "PNG")
    return uploads.store(SimpleUploadedFile("frame.png", buffer.getvalue()), "image", alice)


def run(generation, simulator):
    """Submit, let the simulator finish, poll, archive: the worker's steps in order."""
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued", generation.error
    simulator.advance_clock(10)
    tasks.poll_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "completed", generation.error
    tasks.archive_outputs(generation.pk)
    generation.refresh_from_db()
    assert generation.archived
    return generation


def job_for(simulator, generation):
    return simulator.jobs[generation.request_id]


def card(client, generation):
    return client.get(f"/g/{generation.pk}/card/", headers={"HX-Request": "true"}).content.decode()


def test_fnf_dop_uploads_the_frame_through_media_and_names_it_by_id_url_and_size(client, simulator, alice, project,
                                                                                 web_app, frame):
    routing.set_route("higgsfield-ai/dop/turbo", web_app)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/dop/turbo",
                                params={"prompt": "slow push-in", "image_url": frame.public_url, "seed": 77})
    assert generation.account == web_app
    generation = run(generation, simulator)
    frame.refresh_from_db()
    sent = job_for(simulator, generation).payload
    assert sent["input_image"] == {"id": frame.provider_media_id, "url": frame.provider_url, "type": "media_input"}
    assert simulator.fnf.media[frame.provider_media_id]["confirmed"]  # the three steps, all done
    assert (sent["width"], sent["height"], sent["model"], sent["seed"]) == (400, 300, "turbo", 77)
    assert sent["frames"] == 145 and sent["use_unlim"] is False
    assert generation.outputs.get().kind == "video"
    client.force_login(alice)
    assert "via web app (fnf)" in card(client, generation)
    assert "via web app (fnf)" in client.get(f"/g/{generation.pk}/").content.decode()


def test_the_fnf_frame_is_uploaded_once_per_account(simulator, alice, project, web_app, frame):
    routing.set_route("higgsfield-ai/dop/lite", web_app)
    for _ in range(2):
        tasks.submit_generation(pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/dop/lite",
                                               params={"prompt": "orbit", "image_url": frame.public_url}).pk)
    assert len(simulator.fnf.media) == 1


def test_a_url_that_is_not_an_upload_fails_plainly_on_fnf(simulator, alice, project, web_app):
    routing.set_route("higgsfield-ai/dop/lite", web_app)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/dop/lite",
                                params={"prompt": "orbit", "image_url": "https://cdn.example/elsewhere.png"})
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed"
    assert "takes input files only as its own uploads" in generation.error
    assert not simulator.jobs


def test_fnf_soul_2_goes_through_jobs_v2_and_its_answer_is_read(client, simulator, alice, project, web_app):
    routing.set_route("higgsfield-ai/soul/v2/standard", web_app)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/v2/standard",
                                params={"prompt": "a tram in fog", "aspect_ratio": "3:4", "resolution": "720p",
                                        "batch_size": 1, "seed": 5})
    generation = run(generation, simulator)
    job = job_for(simulator, generation)
    assert job.extra["type"] == "text2image_soul_v2"
    assert (job.payload["model"], job.payload["width"], job.payload["height"]) == ("soul_v2", 1152, 1536)
    output = generation.outputs.get()
    assert (output.kind, output.width, output.height) == ("image", 1152, 1536)
    client.force_login(alice)
    assert "via web app (fnf)" in card(client, generation)


def test_pixazo_dop_sends_the_documented_body_with_image_strings(client, simulator, alice, project, pixazo):
    routing.set_route("higgsfield-ai/dop/lite", pixazo)
    image = "https://cdn.example/lake.png"
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/dop/lite",
                                params={"prompt": "a serene lake", "image_url": image, "seed": 123456})
    generation = run(generation, simulator)
    assert job_for(simulator, generation).payload == {
        "model": "dop-lite", "prompt": "a serene lake", "seed": 123456, "motions_id": GENERAL,
        "motions_strength": 1.0, "input_images": [image], "enhance_prompt": True}
    assert generation.outputs.get().kind == "video"
    client.force_login(alice)
    assert "via Pixazo" in card(client, generation)
    assert "via Pixazo" in client.get(f"/g/{generation.pk}/").content.decode()


def test_pixazo_runs_v1_dop_with_its_motion_and_end_frame(simulator, alice, project, pixazo):
    routing.set_route("v1/image2video/dop", pixazo)
    generation = pipeline.start(owner=alice, project=project, model_id="v1/image2video/dop", params={
        "prompt": "push in", "model": "dop-turbo", "seed": 9, "enhance_prompt": False,
        "input_images": [{"type": "image_url", "image_url": "https://cdn.example/a.png"}],
        "input_images_end": [{"type": "image_url", "image_url": "https://cdn.example/b.png"}],
        "motions": [{"id": "0bdbf318-f918-4f9b-829a-74cab681d806", "strength": 0.4}]})
    run(generation, simulator)
    sent = job_for(simulator, generation).payload
    assert (sent["model"], sent["motions_id"], sent["motions_strength"]) == (
        "dop-turbo", "0bdbf318-f918-4f9b-829a-74cab681d806", 0.4)
    assert (sent["input_images"], sent["input_images_end"]) == (["https://cdn.example/a.png"],
                                                                ["https://cdn.example/b.png"])


def test_pixazo_soul_carries_the_style_and_the_reference_image(simulator, alice, project, pixazo):
    routing.set_route("higgsfield-ai/soul/standard", pixazo)
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard", params={
        "prompt": "rooftop", "aspect_ratio": "16:9", "resolution": "1080p", "style_id": "464ea177-8d40",
        "style_strength": 0.8, "image_reference_url": "https://cdn.example/ref.png"})
    run(generation, simulator)
    sent = job_for(simulator, generation).payload
    assert sent["width_and_height"] == "2048x1152" and sent["quality"] == "1080p"
    assert sent["style_id"] == sent["soul_style_id"] == "464ea177-8d40" and sent["style_strength"] == 0.8
    assert (sent["image_reference_type"], sent["image_reference_image_url"]) == ("image_url",
                                                                                 "https://cdn.example/ref.png")


def test_each_surface_s_job_is_charged_through_the_ledger_like_any_other(simulator, alice, project, pixazo):
    routing.set_route("higgsfield-ai/soul/standard", pixazo)
    generation = run(pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                    params={"prompt": "a kite", "batch_size": 1}), simulator)
    kinds = set(LedgerEntry.objects.filter(generation=generation).values_list("kind", flat=True))
    assert kinds == {"hold", "confirm"}
    assert not Generation.objects.get(pk=generation.pk).imported


# --- the simulator refuses what the service would ------------------------------------

def fnf_post(simulator, path, params):
    return httpx.post(f"{simulator.url}/fnf{path}", json={"params": params, "use_unlim": False},
                      headers={"Authorization": "Bearer fnf-demo-token"})


def test_the_simulated_web_app_refuses_a_frame_that_was_never_uploaded(simulator):
    body = {"prompt": "x", "model": "lite", "width": 400, "height": 300, "frames": 85,
            "input_image": {"id": "never-uploaded", "url": "https://cdn.example/x.png", "type": "media_input"}}
    answer = fnf_post(simulator, "/jobs/image2video", body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "params", "input_image", "id"]
    bare = fnf_post(simulator, "/jobs/image2video", {**body, "input_image": {"url": "https://cdn.example/x.png"}})
    assert bare.status_code == 422
    sizeless = fnf_post(simulator, "/jobs/image2video", {k: v for k, v in body.items() if k not in ("width",
                                                                                                     "height")})
    assert {tuple(item["loc"][-1:]) for item in sizeless.json()["detail"]} >= {("width",), ("height",)}


def test_the_simulated_web_app_answers_jobs_v2_with_the_workspace_and_its_job_sets(simulator):
    answer = fnf_post(simulator, "/jobs/v2/text2image_soul_v2", {
        "model": "soul_v2", "prompt": "p", "quality": "720p", "aspect_ratio": "1:1", "width": 1152, "height": 1152,
        "batch_size": 4, "medias": []}).json()
    assert answer["id"] == "workspace_simulated"
    (job_set,) = answer["job_sets"]
    assert len(job_set["jobs"]) == 4 and set(job_set["jobs"][0]) == {"id"}
    assert higgsfield.fnf.parse_status(answer).request_id == job_set["id"]
    assert fnf_post(simulator, "/jobs/v2/text2image_soul_v2", {"prompt": "p"}).status_code == 422


def test_the_simulated_gateway_refuses_dop_images_as_objects_and_a_missing_motion(simulator):
    body = {"model": "dop-lite", "prompt": "lake", "seed": 1, "motions_id": GENERAL, "motions_strength": 0.7,
            "input_images": ["https://cdn.example/a.png"], "enhance_prompt": True}
    headers = {"Ocp-Apim-Subscription-Key": "pixazo-demo-key"}
    url = f"{simulator.url}/pixazo/ai-model-api/v1/generateImageToVideoRequest"
    assert httpx.post(url, json=body, headers=headers).status_code == 202
    objects = httpx.post(url, json={**body, "input_images": [{"type": "image_url", "image_url": "https://x"}]},
                         headers=headers)
    assert objects.status_code == 400 and "input_images" in objects.json()["message"]
    motionless = httpx.post(url, json={k: v for k, v in body.items() if k != "motions_id"}, headers=headers)
    assert motionless.status_code == 400 and "motions_id" in motionless.json()["message"]
    standard = httpx.post(url, json={**body, "model": "dop-standard"}, headers=headers)
    assert standard.status_code == 400
