"""Contract tests from the documented payloads (tests/contract/, copied from the provider's docs,
SDKs, observed traffic and the seeds; see PROVENANCE.md).

1. Every documented answer is read by the client into the right normalised result. Every key of
   every file is accounted for: a case below, or a stated reason it is not the client's to parse.
2. Every simulator endpoint answers with the keys and types of its documented counterpart.
   Where they disagreed, the simulator was fixed (the documented one wins)."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from generations import higgsfield
from generations.higgsfield import client as http
from generations.higgsfield import fnf, library, model_api, pixazo, v1
from tests.sim_support import finish, new_account, start_simulator

DATA = Path(__file__).with_name("contract")


def example(name):
    file, _, key = name.partition(".")
    value = json.loads((DATA / f"{file}.json").read_text())[key]
    return copy.deepcopy(value["body"] if file == "seeds" else value)


def answering(body, status=200):
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def error_for(body, status):
    return http.error_for(httpx.Response(status, json=body))


CONN = higgsfield.Connection("model_api", "https://api.provider.test", "kid", "ksecret")
FNF = higgsfield.Connection("fnf", "https://fnf.provider.test", "", "token")


# --- 1. the client reads every documented answer ------------------------------------------

def outputs(result):
    return [(o.kind, o.url, o.preview_url) for o in result.outputs]


def check_status(name, status, outputs_=(), error=""):
    def check():
        result = model_api.parse_status(example(name))
        assert result.status == status and result.request_id
        assert [(k, u) for k, u, _ in outputs(result)] == list(outputs_)
        assert result.error == error
    return check


def check_model_api_expiry():
    result = model_api.parse_status(example("platform.status_completed_image_with_expiry_ASSUMED_FORMAT"))
    assert result.expires_at.isoformat() == "2026-10-09T12:00:00+00:00"


def check_receipt(name):
    def check():
        receipt = model_api.submit(CONN, "higgsfield-ai/soul/standard", {"prompt": "x"},
                                   transport=answering(example(name)))
        assert (receipt.request_id, receipt.status) == ("d7e6c0f3-6699-4f6c-bb45-2ad7fd9158ff", "queued")
        assert receipt.status_url.endswith("/status") and receipt.cancel_url.endswith("/cancel")
    return check


def check_error(name, status, kind, **expected):
    def check():
        error = error_for(example(name), status)
        assert type(error) is kind, error
        for attribute, value in expected.items():
            assert getattr(error, attribute) == value
    return check


def check_upload():
    def answer(request):
        if request.method == "PUT":
            return httpx.Response(200)
        return httpx.Response(200, json=example("platform.upload_url_response"))
    assert model_api.upload(CONN, b"jpeg", "image/jpeg", transport=httpx.MockTransport(answer)) == \
        "https://cdn.example.com/input/example.jpeg"


def check_estimate():
    estimate = model_api.estimate(CONN, "higgsfield-ai/soul/standard",
                                  example("platform.estimate_request_soul_standard"),
                                  transport=answering(example("platform.estimate_response")))
    assert (estimate.credits, estimate.usd) == (Decimal("1.500"), Decimal("0.094"))


def check_jobset(name, status, kinds, request_id=None):
    def check():
        result = v1.parse_status(example(name))
        assert result.status == status
        assert [o.kind for o in result.outputs] == list(kinds)
        if request_id:
            assert result.request_id == request_id
    return check


def check_v1_completed():
    result = v1.parse_status(example("v1.jobset_completed"))
    assert outputs(result) == [("image", "https://cdn.example/x.png", "https://cdn.example/x_min.webp")]


def check_reference(name):
    def check():
        body = example(name)
        page = body if "items" in body else None
        reference = library.parse_reference(page["items"][0] if page else body)
        assert reference.id == "3c90c3cc-0d44-4b50-8888-8dd25736052a" and reference.name == "My Character"
        assert reference.status in ("not_ready", "completed") and reference.created_at.year == 2026
        if page:
            listed = library.list_references(CONN, transport=answering(body))
            assert (listed.total, listed.total_pages, len(listed.items)) == (1, 1, 1)
    return check


def check_style():
    styles = library.soul_styles(CONN, transport=answering([example("v1.soul_style")]))
    assert (styles[0].id, styles[0].name) == ("1cb4b936-77bf-4f9a-9039-f3d349a4cdbe", "Realistic")


def check_motion():
    motions = library.motions(CONN, transport=answering([example("v1.motion")]))
    assert (motions[0].id, motions[0].start_end_frame) == ("d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", False)


def check_fnf_upload(name):
    def check():
        answer = example(name)
        confirm = example("fnf.media_confirm_response")

        def respond(request):
            if request.method == "PUT":
                return httpx.Response(200)
            return httpx.Response(200, json=confirm if request.url.path.endswith("/upload") else answer)
        url = fnf.upload(FNF, b"jpeg", "image/jpeg", transport=httpx.MockTransport(respond))
        first = answer[0] if isinstance(answer, list) else answer
        assert url == first["url"]
    return check


def check_fnf_jobs_v2():
    result = fnf.parse_status(example("fnf.jobs_v2_response"))
    assert (result.request_id, result.status) == ("JOB_SET_ID", "queued")


def check_fnf_job_status():
    result = fnf.parse_status(example("fnf.job_status"))
    assert (result.request_id, result.status) == ("JOB_1", "in_progress")


def check_fnf_job_set():
    result = fnf.parse_status(example("fnf.job_set"))
    assert result.status == "completed" and outputs(result) == [("image", "https://...", "https://..._min.webp")]


def check_fnf_user():
    reading = fnf.balance(FNF, transport=answering(example("fnf.user_fields_observed")))
    assert (reading["credits"], reading["unlimited"], reading["plan"]) == (509087.0, True, "team")


def check_seed_fnf_job_set():
    """The notes list the four statuses in one string: each of them reads right."""
    for raw, status in (("queued", "queued"), ("processing", "in_progress"), ("completed", "completed"),
                        ("failed", "failed")):
        body = example("seeds.fnf_job_set")
        body["jobs"][0]["status"] = raw
        result = fnf.parse_status(body)
        assert result.status == status
        assert bool(result.outputs) is (status == "completed")


def check_pixazo_receipt():
    conn = higgsfield.Connection("pixazo", "https://gateway.provider.test", "", "key")
    receipt = pixazo.submit(conn, "higgsfield-ai/soul/standard", {"prompt": "x"},
                            transport=answering(example("seeds.pixazo_submit_queued"), 202))
    assert receipt.request_id.startswith("ai-model-api_") and receipt.status == "queued"
    assert receipt.status_url.startswith("https://gateway.pixazo.ai/v2/requests/status/")


def check_pixazo_completed():
    result = pixazo.parse_status(example("seeds.pixazo_status_completed"))
    assert result.status == "completed" and [o.url.rsplit("/", 1)[-1] for o in result.outputs] == ["output.ext"]
    assert result.outputs[0].kind == "image"  # provisional: the archive decides from the bytes


def check_pixazo_error():
    result = pixazo.parse_status(example("seeds.pixazo_status_error"))
    assert result.status == "failed" and result.error == "Description of the error (not charged)"


def check_generation_results():
    result = v1.parse_status(example("seeds.generation_results_completed"))
    assert result.status == "completed" and result.request_id == "job_789012"
    assert outputs(result) == [("image", "https://cdn.higgsfield.ai/generations/img_123.jpg", None)]


REQUEST = "a request body: what the client sends, not an answer it reads (the simulator takes it, part 2)"
AGENTS = "Agent API: a surface the app does not speak"
CASES = {
    "platform.submit_response_queued": check_receipt("platform.submit_response_queued"),
    "platform.status_in_progress": check_status("platform.status_in_progress", "in_progress"),
    "platform.status_completed_image": check_status("platform.status_completed_image", "completed",
                                                    [("image", "https://image.url/example")]),
    "platform.status_completed_video": check_status("platform.status_completed_video", "completed",
                                                    [("video", "https://video.url/example")]),
    "platform.status_completed_image_with_expiry_ASSUMED_FORMAT": check_model_api_expiry,
    "platform.status_canceled": check_status("platform.status_canceled", "canceled"),
    "platform.webhook_completed_image": check_status("platform.webhook_completed_image", "completed",
                                                     [("image", "https://images.url/example")]),
    "platform.webhook_completed_video": check_status("platform.webhook_completed_video", "completed",
                                                     [("video", "https://video.url/example")]),
    "platform.webhook_failed": check_status("platform.webhook_failed", "failed", error="Generation fail message"),
    "platform.webhook_nsfw": check_status("platform.webhook_nsfw", "nsfw"),
    "platform.error_401": check_error("platform.error_401", 401, higgsfield.AuthError),
    "platform.error_400_concurrency": check_error("platform.error_400_concurrency", 400, higgsfield.ConcurrencyLimit,
                                                  retry_safe=True),
    "platform.error_422_missing_prompt_fastapi": check_error(
        "platform.error_422_missing_prompt_fastapi", 422, higgsfield.ValidationFailed,
        field_errors={"prompt": ["Field required"]}),
    "platform.error_429_queue_full_SHAPE_PARTLY_ASSUMED": check_error(
        "platform.error_429_queue_full_SHAPE_PARTLY_ASSUMED", 429, higgsfield.QueueFull, limit=8),
    "platform.upload_url_request": REQUEST,
    "platform.upload_url_response": check_upload,
    "platform.estimate_request_soul_standard": REQUEST,
    "platform.estimate_response": check_estimate,
    "v1.soul_request": REQUEST,
    "v1.dop_request": REQUEST,
    "v1.speak_request": REQUEST,
    "v1.jobset_queued": check_jobset("v1.jobset_queued", "queued", [], "3c90c3cc-0d44-4b50-8888-8dd25736052a"),
    "v1.jobset_completed": check_v1_completed,
    "v1.reseller_302ai_jobset_example": check_jobset("v1.reseller_302ai_jobset_example", "queued", [],
                                                     "higgsfield_0cd796d43340"),
    "v1.custom_reference_create_request": REQUEST,
    "v1.custom_reference_object": check_reference("v1.custom_reference_object"),
    "v1.custom_reference_list": check_reference("v1.custom_reference_list"),
    "v1.soul_style": check_style,
    "v1.motion": check_motion,
    "v1.error_403_credits": check_error("v1.error_403_credits", 403, higgsfield.NotEnoughCredits),
    "v1.error_400_unavailable_model": check_error("v1.error_400_unavailable_model", 400, higgsfield.BadRequest),
    "v1.error_422_params_missing_RECONSTRUCTED": check_error(
        "v1.error_422_params_missing_RECONSTRUCTED", 422, higgsfield.ValidationFailed,
        field_errors={"__all__": ["Field required"]}),
    "fnf.media_batch_request": REQUEST,
    "fnf.media_batch_response": check_fnf_upload("fnf.media_batch_response"),
    "fnf.media_single_response": check_fnf_upload("fnf.media_single_response"),
    "fnf.media_confirm_request": REQUEST,
    "fnf.media_confirm_response": check_fnf_upload("fnf.media_single_response"),
    "fnf.jobs_v2_soul_request": REQUEST,
    "fnf.jobs_v2_response": check_fnf_jobs_v2,
    "fnf.image2video_request": REQUEST,
    "fnf.job_status": check_fnf_job_status,
    "fnf.job_set": check_fnf_job_set,
    "fnf.user_fields_observed": check_fnf_user,
    "fnf.agents_job_request": "the CLI's agents realm: a surface the app does not speak",
    "fnf.agents_job": "the CLI's agents realm: a surface the app does not speak",
    **{f"agents.{key}": AGENTS for key in ("create_session_request", "create_session_response",
                                           "send_message_request", "send_message_response", "messages_response",
                                           "media_slot_request", "media_slot_response", "media_confirm_request",
                                           "media_confirm_response", "error_402_BODY_ASSUMED",
                                           "error_409_BODY_ASSUMED")},
    "seeds.model_api_submit_queued": check_receipt("seeds.model_api_submit_queued"),
    "seeds.model_api_status_completed": check_status(
        "seeds.model_api_status_completed", "completed",
        [("image", "https://image.url/example.jpg"), ("video", "https://video.url/example.mp4")]),
    "seeds.fnf_media_response": check_fnf_upload("seeds.fnf_media_response"),
    "seeds.fnf_jobs_request_standard": REQUEST,
    "seeds.fnf_jobs_request_soul": REQUEST,
    "seeds.fnf_image2video_request": REQUEST,
    "seeds.fnf_job_set": check_seed_fnf_job_set,
    "seeds.pixazo_soul_request": REQUEST,
    "seeds.pixazo_submit_queued": check_pixazo_receipt,
    "seeds.pixazo_error_402": check_error("seeds.pixazo_error_402", 402, higgsfield.NotEnoughCredits),
    "seeds.pixazo_error_400_model_not_found": check_error("seeds.pixazo_error_400_model_not_found", 400,
                                                          higgsfield.BadRequest),
    "seeds.pixazo_status_error": check_pixazo_error,
    "seeds.pixazo_status_completed": check_pixazo_completed,
    "seeds.pixazo_dop_request_minimum": REQUEST,
    "seeds.pixazo_dop_request_full": REQUEST,
    "seeds.v1_jobset_mime_types": check_jobset("seeds.v1_jobset_mime_types", "queued", []),
    "seeds.characters_create_response": "POST /api/characters: served by the simulator (part 2 and "
                                        "tests/test_seed_routes.py); the app trains characters through "
                                        "/v1/custom-references",
    "seeds.v1_request_with_character": REQUEST,
    "seeds.v1_request_with_webhook": REQUEST,
    "seeds.generation_results_completed": check_generation_results,
    "seeds.error_422_value_error": check_error("seeds.error_422_value_error", 422, higgsfield.ValidationFailed,
                                               field_errors={"prompt": ["Prompt cannot be empty"]}),
}


def test_every_documented_payload_is_accounted_for():
    documented = {f"{path.stem}.{key}" for path in DATA.glob("*.json")
                  for key in json.loads(path.read_text()) if not key.startswith("_")}
    assert documented == set(CASES)


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if callable(case)])
def test_the_client_reads_each_documented_answer(name):
    CASES[name]()


def test_a_mime_typed_v1_result_reads_as_an_image_once_completed():
    body = example("seeds.v1_jobset_mime_types")
    body["jobs"][0]["status"] = "completed"
    assert [o.kind for o in v1.parse_status(body).outputs] == ["image"]


# --- 2. the simulator answers in the documented shapes --------------------------------------

def shape(value):
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "str"


def conforms(actual, documented, extras=(), path="body"):
    """The documented keys, each with the documented type; other keys only if listed in
    `extras` (dotted paths). A documented null, empty list or empty object stands for any value."""
    if documented in ("null", [], {}):
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        missing = set(documented) - set(actual)
        assert not missing, f"{path}: missing {sorted(missing)}"
        unexpected = {key for key in set(actual) - set(documented) if f"{path}.{key}" not in extras}
        assert not unexpected, f"{path}: not documented {sorted(unexpected)}"
        for key, item in documented.items():
            conforms(actual[key], item, extras, f"{path}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list) and actual, f"{path}: expected a non-empty list"
        for item in actual:
            conforms(item, documented[0], extras, f"{path}[]")
    else:
        assert actual == documented or (documented == "null"), f"{path}: {actual} where the docs have {documented}"


def same_shape(answer, name, extras=()):
    conforms(shape(answer), shape(example(name)), extras)


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator(queue_seconds=5, run_seconds=5)
    yield sim
    sim.server.stop()


@pytest.fixture
def model_api_conn(sim):
    conn = new_account(sim)
    conn.headers = {"Authorization": f"Key {conn.key_id}:{conn.key_secret}"}
    return conn


def call(sim, method, path, conn=None, **kwargs):
    headers = kwargs.pop("headers", {}) | (getattr(conn, "headers", {}) if conn else {})
    return httpx.request(method, f"{sim.url}{path}", headers=headers, **kwargs)


SOUL = "higgsfield-ai/soul/standard"
EXPIRES = ("body.expires_at",)


def test_model_api_submit_status_and_cancel_answer_as_documented(sim):
    conn = new_account(sim)
    headers = {"Authorization": f"Key {conn.key_id}:{conn.key_secret}"}
    submitted = httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "a harbour"}, headers=headers)
    same_shape(submitted.json(), "platform.submit_response_queued")
    request_id = submitted.json()["request_id"]
    canceled = httpx.post(f"{sim.url}/requests/{request_id}/cancel", headers=headers)
    assert canceled.status_code == 202 and canceled.content == b""
    status = httpx.get(f"{sim.url}/requests/{request_id}/status", headers=headers).json()
    same_shape(status, "platform.status_canceled", EXPIRES)
    running = httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "a harbour"}, headers=headers).json()
    sim.advance_clock(6)
    same_shape(httpx.get(running["status_url"], headers=headers).json(), "platform.status_in_progress")
    finish(sim)
    same_shape(httpx.get(running["status_url"], headers=headers).json(),
               "platform.status_completed_image_with_expiry_ASSUMED_FORMAT")
    video = httpx.post(f"{sim.url}/higgsfield-ai/dop/lite", headers=headers,
                       json={"prompt": "drift", "image_url": f"{sim.url}/_files/x.png"}).json()
    finish(sim)
    same_shape(httpx.get(video["status_url"], headers=headers).json(), "platform.status_completed_video", EXPIRES)


def test_model_api_webhook_bodies_are_as_documented(sim):
    from higgsweb.simulator import model_api as simulated

    conn = new_account(sim)
    headers = {"Authorization": f"Key {conn.key_id}:{conn.key_secret}"}
    ids = {}
    for prompt in ("a harbour", "simulate-failure", "simulate-nsfw"):
        ids[prompt] = httpx.post(f"{sim.url}/{SOUL}", json={"prompt": prompt}, headers=headers).json()["request_id"]
    video = httpx.post(f"{sim.url}/higgsfield-ai/dop/lite", headers=headers,
                       json={"prompt": "drift", "image_url": f"{sim.url}/_files/x.png"}).json()["request_id"]
    finish(sim)
    same_shape(simulated.webhook_body(sim, sim.get_job(ids["a harbour"])), "platform.webhook_completed_image", EXPIRES)
    same_shape(simulated.webhook_body(sim, sim.get_job(video)), "platform.webhook_completed_video", EXPIRES)
    same_shape(simulated.webhook_body(sim, sim.get_job(ids["simulate-failure"])), "platform.webhook_failed", EXPIRES)
    same_shape(simulated.webhook_body(sim, sim.get_job(ids["simulate-nsfw"])), "platform.webhook_nsfw", EXPIRES)


def test_model_api_errors_and_helpers_answer_as_documented(sim):
    same_shape(httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "x"}).json(), "platform.error_401")
    conn = new_account(sim)
    headers = {"Authorization": f"Key {conn.key_id}:{conn.key_secret}"}
    invalid = httpx.post(f"{sim.url}/{SOUL}", json={"aspect_ratio": "16:9"}, headers=headers)
    assert invalid.status_code == 422
    same_shape(invalid.json(), "platform.error_422_missing_prompt_fastapi")
    upload = httpx.post(f"{sim.url}/files/generate-upload-url", json=example("platform.upload_url_request"),
                        headers=headers)
    same_shape(upload.json(), "platform.upload_url_response")
    estimate = httpx.post(f"{sim.url}/estimate/{SOUL}", json=example("platform.estimate_request_soul_standard"),
                          headers=headers)
    assert estimate.json() == example("platform.estimate_response")  # the docs' own figures
    for _ in range(sim.config.concurrency_limit):
        httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "x"}, headers=headers)
    busy = httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "x"}, headers=headers)
    assert busy.status_code == 400
    same_shape(busy.json(), "platform.error_400_concurrency")
    sim.config.concurrency_mode = "queue"
    try:
        for _ in range(sim.config.concurrency_limit * sim.config.queue_multiple):
            httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "x"}, headers=headers)
        full = httpx.post(f"{sim.url}/{SOUL}", json={"prompt": "x"}, headers=headers)
        assert full.status_code == 429
        same_shape(full.json(), "platform.error_429_queue_full_SHAPE_PARTLY_ASSUMED")
    finally:
        sim.config.concurrency_mode = "reject"


def test_v1_job_sets_characters_styles_and_errors_answer_as_documented(sim):
    conn = new_account(sim)
    headers = {"hf-api-key": conn.key_id, "hf-secret": conn.key_secret}
    soul = {"params": {"prompt": "a dog", "width_and_height": "1152x2048", "quality": "1080p"}}
    queued = httpx.post(f"{sim.url}/v1/text2image/soul", json=soul, headers=headers).json()
    same_shape(queued, "v1.jobset_queued")
    finish(sim)
    same_shape(httpx.get(f"{sim.url}/v1/job-sets/{queued['id']}", headers=headers).json(), "v1.jobset_completed")
    sim.config.result_types = "mime"
    try:
        mime = httpx.post(f"{sim.url}/v1/text2image/soul", json=soul, headers=headers).json()
        finish(sim)
        done = httpx.get(f"{sim.url}/v1/job-sets/{mime['id']}", headers=headers).json()
        same_shape(done, "seeds.v1_jobset_mime_types", ("body.jobs[].job_set_type", "body.input_params"))
        assert done["jobs"][0]["results"]["raw"]["type"] == "image/png"
    finally:
        sim.config.result_types = "kind"
    reference = httpx.post(f"{sim.url}/v1/custom-references", headers=headers, json={
        "name": "My Character", "input_images": [{"type": "image_url", "image_url": f"{sim.url}/_files/x.png"}]})
    same_shape(reference.json(), "v1.custom_reference_object", ("body.reference_media",))
    listed = httpx.get(f"{sim.url}/v1/custom-references/list", headers=headers).json()
    same_shape(listed, "v1.custom_reference_list")
    same_shape(httpx.get(f"{sim.url}/v1/text2image/soul-styles", headers=headers).json()[0], "v1.soul_style")
    same_shape(httpx.get(f"{sim.url}/v1/motions", headers=headers).json()[0], "v1.motion")
    missing = httpx.post(f"{sim.url}/v1/text2image/soul", json={}, headers=headers)
    same_shape(missing.json(), "v1.error_422_params_missing_RECONSTRUCTED", ("body.detail[].input",))
    sim.v1.credits = 0.5
    try:
        same_shape(httpx.post(f"{sim.url}/v1/text2image/soul", json=soul, headers=headers).json(),
                   "v1.error_403_credits")
    finally:
        sim.v1.credits = None


def test_seed_004_routes_answer_as_the_guide_shows(sim):
    conn = new_account(sim)
    headers = {"hf-api-key": conn.key_id, "hf-secret": conn.key_secret}
    import io

    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (32, 32)).save(photo, "JPEG")
    created = httpx.post(f"{sim.url}/api/characters", headers=headers, files={"photo": ("p.jpg", photo.getvalue())})
    same_shape(created.json(), "seeds.characters_create_response")
    job = httpx.post(f"{sim.url}/v1/text2image/soul", headers=headers, json=example("seeds.v1_request_with_character")
                     | {"params": example("seeds.v1_request_with_character")["params"]
                        | {"width_and_height": "1696x960", "quality": "1080p"}}).json()
    finish(sim)
    results = httpx.get(f"{sim.url}/api/generation-results", params={"id": job["id"]}, headers=headers).json()
    same_shape(results, "seeds.generation_results_completed")


def test_fnf_answers_as_observed(sim):
    headers = {"Authorization": "Bearer fnf-demo-token"}
    media = httpx.post(f"{sim.url}/fnf/media", json={"content_type": "image/jpeg"}, headers=headers).json()
    same_shape(media, "fnf.media_single_response")
    same_shape(media, "seeds.fnf_media_response")
    httpx.put(media["upload_url"], content=b"jpeg", headers={"Content-Type": "image/jpeg"}).raise_for_status()
    confirmed = httpx.post(f"{sim.url}/fnf/media/{media['id']}/upload", json=example("fnf.media_confirm_request"),
                           headers=headers).json()
    same_shape(confirmed, "fnf.media_confirm_response")
    same_shape(httpx.get(f"{sim.url}/fnf/user", headers=headers).json(), "fnf.user_fields_observed")
    soul = example("seeds.fnf_jobs_request_soul")
    submitted = httpx.post(f"{sim.url}/fnf/jobs/text2image-soul", json=soul, headers=headers).json()
    finish(sim)
    job_set = httpx.get(f"{sim.url}/fnf/job-sets/{submitted['id']}", headers=headers).json()
    extras = ("body.id", "body.type", "body.created_at", "body.input_params", "body.jobs[].job_set_type")
    same_shape(job_set, "fnf.job_set", extras)
    same_shape(job_set, "seeds.fnf_job_set", extras)


def test_pixazo_answers_as_its_pages_show(sim):
    headers = {"Ocp-Apim-Subscription-Key": "pixazo-demo-key"}
    submitted = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul", headers=headers,
                           json=example("seeds.pixazo_soul_request"))
    assert submitted.status_code == 202
    same_shape(submitted.json(), "seeds.pixazo_submit_queued")
    dop = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateImageToVideoRequest", headers=headers,
                     json=example("seeds.pixazo_dop_request_full"))
    assert dop.status_code == 202, dop.text
    failing = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul",
                         headers=headers | {"X-Simulate-Outcome": "error"}, json=example("seeds.pixazo_soul_request"))
    finish(sim)
    completed = httpx.get(submitted.json()["polling_url"], headers=headers).json()
    same_shape(completed, "seeds.pixazo_status_completed")
    errored = httpx.get(failing.json()["polling_url"], headers=headers).json()
    same_shape(errored, "seeds.pixazo_status_error", ("body.created_at", "body.updated_at", "body.completed_at"))
    unknown = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateNothing", headers=headers, json={})
    assert unknown.status_code == 400
    same_shape(unknown.json(), "seeds.pixazo_error_400_model_not_found")
    wallet = sim.pixazo.wallet
    sim.pixazo.wallet = 0
    try:
        broke = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul", headers=headers,
                           json=example("seeds.pixazo_soul_request"))
        assert broke.status_code == 402
        same_shape(broke.json(), "seeds.pixazo_error_402")
    finally:
        sim.pixazo.wallet = wallet
