"""The Model API client against the simulator over real HTTP: the whole contract of
PROTOCOL.md §2, from success to every failure the provider can answer with."""

import io
from decimal import Decimal

import httpx
import pytest
from PIL import Image
from standardwebhooks.webhooks import Webhook

from generations import higgsfield
from tests.sim_support import (
    NEXT_SECRET,
    WEBHOOK_SECRET,
    WebhookReceiver,
    finish,
    new_account,
    start_simulator,
    wait_for,
)

SOUL = "higgsfield-ai/soul/standard"


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator()
    yield sim
    sim.server.stop()


@pytest.fixture
def conn(sim):
    return new_account(sim)


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def faults(sim):
    """Fault switches that are put back after the test."""
    saved = dict(sim.config.faults)
    yield sim.config.faults
    sim.config.faults.clear()
    sim.config.faults.update(saved)


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch):
    monkeypatch.setattr("generations.higgsfield.client.time.sleep", lambda seconds: None)


def fetch(url):
    return httpx.get(url, timeout=30)


def test_a_soul_job_goes_from_queued_to_completed_with_a_png_at_the_requested_size(sim, conn):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "a red kite", "resolution": "720p", "aspect_ratio": "3:4"})
    assert receipt.status == "queued"
    assert receipt.status_url == f"{sim.url}/requests/{receipt.request_id}/status"
    assert higgsfield.status(conn, receipt.request_id).status == "queued"
    sim.advance_clock(sim.config.queue_seconds + 1)
    assert higgsfield.status(conn, receipt.request_id).status == "in_progress"
    finish(sim)
    result = higgsfield.status(conn, receipt.request_id)
    assert result.status == "completed"
    assert result.expires_at is not None
    [output] = result.outputs
    response = fetch(output.url)
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (1152, 1536)


def test_batch_size_and_num_images_give_that_many_images(sim, conn):
    soul = higgsfield.submit(conn, "higgsfield-ai/soul/v2/standard", {"prompt": "four", "batch_size": 4})
    reve = higgsfield.submit(conn, "reve/text-to-image", {"prompt": "three", "num_images": 3})
    finish(sim)
    assert [o.kind for o in higgsfield.status(conn, soul.request_id).outputs] == ["image"] * 4
    assert len(higgsfield.status(conn, reve.request_id).outputs) == 3


def test_nano_banana_answers_jpeg_by_default_and_png_when_asked(sim, conn):
    default = higgsfield.submit(conn, "nano-banana", {"prompt": "a pear", "aspect_ratio": "16:9"})
    png = higgsfield.submit(conn, "nano-banana", {"prompt": "a pear", "output_format": "png"})
    finish(sim)
    jpeg_url = higgsfield.status(conn, default.request_id).outputs[0].url
    png_url = higgsfield.status(conn, png.request_id).outputs[0].url
    assert jpeg_url.endswith(".jpeg") and png_url.endswith(".png")
    image = Image.open(io.BytesIO(fetch(jpeg_url).content))
    assert image.format == "JPEG"
    assert image.size == (2048, 1152)
    assert Image.open(io.BytesIO(fetch(png_url).content)).format == "PNG"


def test_an_uploaded_start_frame_round_trips_into_a_playable_video(sim, conn):
    frame = io.BytesIO()
    Image.new("RGB", (320, 180), (10, 200, 30)).save(frame, "PNG")
    public_url = higgsfield.upload(conn, frame.getvalue(), "image/png")
    assert fetch(public_url).content == frame.getvalue()
    receipt = higgsfield.submit(conn, "kling-video/v2.1/pro/image-to-video",
                                {"prompt": "the field sways", "image_url": public_url, "duration": 5})
    finish(sim)
    [video] = higgsfield.status(conn, receipt.request_id).outputs
    assert video.kind == "video"
    response = fetch(video.url)
    assert response.headers["content-type"] == "video/mp4"
    assert b"ftyp" in response.content[:16] and b"avc1" in response.content


def test_a_failed_job_carries_its_error_and_is_refunded(sim, conn):
    before = sim.balance(conn.key_id)
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "simulate-failure please"})
    assert sim.balance(conn.key_id) < before
    finish(sim)
    result = higgsfield.status(conn, receipt.request_id)
    assert result.status == "failed"
    assert result.error
    assert result.outputs == []
    assert sim.balance(conn.key_id) == before


def test_an_nsfw_job_has_no_outputs_and_is_refunded(sim, conn):
    before = sim.balance(conn.key_id)
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "simulate-nsfw"})
    finish(sim)
    result = higgsfield.status(conn, receipt.request_id)
    assert (result.status, result.outputs) == ("nsfw", [])
    assert sim.balance(conn.key_id) == before


def test_a_queued_job_can_be_canceled_and_is_refunded(sim, conn):
    before = sim.balance(conn.key_id)
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "never mind"})
    assert higgsfield.cancel(conn, receipt.request_id) is True
    assert higgsfield.status(conn, receipt.request_id).status == "canceled"
    assert sim.balance(conn.key_id) == before


def test_a_started_job_cannot_be_canceled(sim, conn):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "too late"})
    sim.advance_clock(sim.config.queue_seconds + 1)
    with pytest.raises(higgsfield.CancelRejected) as info:
        higgsfield.cancel(conn, receipt.request_id)
    assert info.value.status == 400


def test_wrong_credentials_are_refused_with_401(sim):
    conn = higgsfield.Connection("model_api", sim.url, "nobody", "wrong")
    with pytest.raises(higgsfield.AuthError) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "x"})
    assert info.value.detail == "Invalid credentials"


def test_an_account_without_enough_credits_gets_403_and_nothing_is_created(sim, conn):
    sim.set_balance(conn.key_id, "1")
    with pytest.raises(higgsfield.NotEnoughCredits) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "x", "resolution": "1080p"})
    assert info.value.detail == "Not enough credits"
    assert not [job for job in sim.jobs.values() if job.account == conn.key_id]
    assert sim.balance(conn.key_id) == Decimal("1")


def test_invalid_parameters_come_back_as_field_errors(sim, conn):
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(conn, SOUL, {"resolution": "4K", "batch_size": 3})
    assert set(info.value.field_errors) == {"prompt", "resolution", "batch_size"}
    assert info.value.field_errors["prompt"] == ["Field required"]


@pytest.mark.parametrize("model_id, body, field", [
    ("alibaba/qwen-image-3/edit", {"prompt": "p", "image_urls": ["https://x.example/a.png"], "prompt_extend": False},
     "enable_thinking"),
    ("bytedance/seedance-2.5/reference-to-video", {"prompt": "p"}, "__all__"),
])
def test_cross_field_rules_of_the_supplement_are_enforced(sim, conn, model_id, body, field):
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(conn, model_id, body)
    assert field in info.value.field_errors


def test_unknown_blocked_and_disabled_models_answer_404_423_and_503(sim, conn):
    with pytest.raises(higgsfield.NotFound):
        higgsfield.submit(conn, "no-such/model", {"prompt": "x"})
    sim.config.blocked_models.add("reve/edit")
    sim.config.disabled_models.add("reve/fast/edit")
    try:
        with pytest.raises(higgsfield.ModelBlocked):
            higgsfield.submit(conn, "reve/edit", {"prompt": "x", "image_url": "https://x.example/a.png"})
        with pytest.raises(higgsfield.Unavailable):
            higgsfield.estimate(conn, "reve/fast/edit", {"prompt": "x", "image_url": "https://x.example/a.png"})
    finally:
        sim.config.blocked_models.clear()
        sim.config.disabled_models.clear()


def test_a_fifth_concurrent_request_is_refused_with_the_concurrency_message(sim, conn):
    for n in range(4):
        higgsfield.submit(conn, SOUL, {"prompt": f"job {n}"})
    with pytest.raises(higgsfield.ConcurrencyLimit) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "one too many"})
    assert info.value.detail == "Maximum number of concurrent requests (4) has been reached"
    finish(sim)
    higgsfield.submit(conn, SOUL, {"prompt": "a slot is free again"})


def test_in_queue_mode_extra_requests_wait_and_a_full_queue_answers_429(sim, conn):
    config = sim.config
    saved = (config.concurrency_mode, config.concurrency_limit, config.queue_multiple)
    config.concurrency_mode, config.concurrency_limit, config.queue_multiple = "queue", 1, 1
    try:
        running = higgsfield.submit(conn, SOUL, {"prompt": "first"})
        waiting = higgsfield.submit(conn, SOUL, {"prompt": "second"})
        with pytest.raises(higgsfield.QueueFull) as info:
            higgsfield.submit(conn, SOUL, {"prompt": "third"})
        assert info.value.limit == 1
        assert info.value.retry_after >= 1
        sim.advance_clock(config.queue_seconds + 1)
        assert higgsfield.status(conn, running.request_id).status == "in_progress"
        assert higgsfield.status(conn, waiting.request_id).status == "queued"
        sim.advance_clock(config.run_seconds)
        assert higgsfield.status(conn, waiting.request_id).status in ("queued", "in_progress")
        finish(sim)
        finish(sim)
        assert higgsfield.status(conn, waiting.request_id).status == "completed"
    finally:
        config.concurrency_mode, config.concurrency_limit, config.queue_multiple = saved


def test_a_429_burst_tells_the_client_when_to_retry(sim, conn, faults):
    faults["submit_429_burst"] = 1
    with pytest.raises(higgsfield.RateLimited) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "busy"}, idempotency_key="burst-1")
    assert info.value.retry_after == 1
    assert higgsfield.submit(conn, SOUL, {"prompt": "busy"}, idempotency_key="burst-1").request_id


def test_a_resend_with_the_same_key_after_a_lost_answer_returns_the_job_it_made(sim, conn, faults):
    faults["submit_answer_lost_burst"] = 1  # the job is made and charged, then a 504
    with pytest.raises(higgsfield.ServerError):
        higgsfield.submit(conn, SOUL, {"prompt": "retry me"}, idempotency_key="five-hundred")
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "retry me"}, idempotency_key="five-hundred")
    assert [job.request_id for job in sim.jobs.values() if job.account == conn.key_id] == [receipt.request_id]


def test_with_ignore_idempotency_a_resend_makes_a_second_job(sim, conn, faults):
    faults["ignore_idempotency"] = True
    try:
        first = higgsfield.submit(conn, SOUL, {"prompt": "twice"}, idempotency_key="same")
        second = higgsfield.submit(conn, SOUL, {"prompt": "twice"}, idempotency_key="same")
    finally:
        faults["ignore_idempotency"] = False
    assert first.request_id != second.request_id


def test_status_checks_ride_out_a_burst_of_5xx(sim, conn, faults):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "steady"})
    faults["status_5xx_burst"] = 2
    assert higgsfield.status(conn, receipt.request_id).status == "queued"
    assert faults["status_5xx_burst"] == 0


def test_a_429_on_a_status_check_says_when_to_look_again(sim, conn, faults):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "patience"})
    faults["status_429_burst"] = 1
    with pytest.raises(higgsfield.RateLimited) as info:
        higgsfield.status(conn, receipt.request_id)
    assert info.value.retry_after == 1
    assert higgsfield.status(conn, receipt.request_id).status == "queued"


def test_left_out_fields_are_priced_and_rendered_at_their_defaults(sim, conn):
    estimate = higgsfield.estimate(conn, SOUL, {"prompt": "defaults"})
    assert estimate.credits == Decimal("1.500")
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "defaults"})
    assert sim.get_job(receipt.request_id).outputs == [("image", 1536, 1152, 0)]


def test_resubmitting_with_the_same_key_returns_the_original_request_without_a_new_charge(sim, conn):
    body = {"prompt": "same", "aspect_ratio": "1:1"}
    first = higgsfield.submit(conn, SOUL, body, idempotency_key="idem-1")
    balance = sim.balance(conn.key_id)
    again = higgsfield.submit(conn, SOUL, {"aspect_ratio": "1:1", "prompt": "same"}, idempotency_key="idem-1")
    assert again.request_id == first.request_id
    assert sim.balance(conn.key_id) == balance
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "different"}, idempotency_key="idem-1")
    assert "Idempotency-Key" in info.value.field_errors


def test_a_rejected_request_does_not_consume_its_idempotency_key(sim, conn):
    with pytest.raises(higgsfield.ValidationFailed):
        higgsfield.submit(conn, SOUL, {"resolution": "8K"}, idempotency_key="idem-2")
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "fixed"}, idempotency_key="idem-2")
    assert receipt.request_id


def test_hf_expires_after_shortens_retention_and_out_of_range_values_are_refused(sim, conn):
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(conn, SOUL, {"prompt": "x"}, expires_after=60)
    assert "Hf-Expires-After" in info.value.field_errors
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "short-lived"}, expires_after=3600)
    finish(sim)
    result = higgsfield.status(conn, receipt.request_id)
    job = sim.get_job(receipt.request_id)
    assert result.expires_at.timestamp() == pytest.approx(job.finished_at(sim) + 3600, abs=1)


def test_outputs_are_gone_after_expiry_but_the_request_is_still_known(sim, conn):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "ephemeral"}, expires_after=3600)
    finish(sim)
    url = higgsfield.status(conn, receipt.request_id).outputs[0].url
    sim.advance_clock(3601)
    assert fetch(url).status_code == 404
    assert higgsfield.status(conn, receipt.request_id).status == "completed"


def test_deleting_a_finished_request_removes_it_and_repeating_is_harmless(sim, conn):
    running = higgsfield.submit(conn, SOUL, {"prompt": "still going"})
    with pytest.raises(higgsfield.BadRequest):
        higgsfield.delete(conn, running.request_id)
    finish(sim)
    url = higgsfield.status(conn, running.request_id).outputs[0].url
    first = higgsfield.delete(conn, running.request_id)
    assert first == higgsfield.delete(conn, running.request_id)
    assert first["deleted"] is True
    with pytest.raises(higgsfield.NotFound):
        higgsfield.status(conn, running.request_id)
    assert fetch(url).status_code == 404


def test_requests_of_another_account_are_not_found(sim, conn):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": "mine"})
    with pytest.raises(higgsfield.NotFound):
        higgsfield.status(new_account(sim), receipt.request_id)


def test_upload_urls_enforce_content_type_expiry_and_supported_types(sim, conn, faults):
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.upload(conn, b"%PDF", "application/pdf")
    assert "content_type" in info.value.field_errors
    ticket = httpx.post(f"{sim.url}/files/generate-upload-url", json={"content_type": "image/jpeg"},
                        headers=conn.auth_headers()).json()
    assert set(ticket) == {"public_url", "upload_url", "content_type", "upload_headers"}
    assert httpx.put(ticket["upload_url"], content=b"x", headers={"Content-Type": "image/png"}).status_code == 403
    sim.advance_clock(3601)
    assert httpx.put(ticket["upload_url"], content=b"x", headers=ticket["upload_headers"]).status_code == 403
    assert fetch(ticket["public_url"]).status_code == 404
    faults["upload_unavailable"] = True
    with pytest.raises(higgsfield.Unavailable):
        higgsfield.upload(conn, b"x", "image/png")


def test_the_estimate_is_the_documented_soul_price_and_has_no_side_effects(sim, conn):
    balance = sim.balance(conn.key_id)
    estimate = higgsfield.estimate(conn, SOUL, {"prompt": "x", "resolution": "720p", "aspect_ratio": "4:3"})
    assert estimate == higgsfield.Estimate(credits=Decimal("1.500"), usd=Decimal("0.094"))
    assert sim.balance(conn.key_id) == balance
    with pytest.raises(higgsfield.ValidationFailed):
        higgsfield.estimate(conn, SOUL, {"resolution": "9K"})


def test_the_model_list_describes_every_model_with_its_output_type(sim, conn):
    models = {m.slug: m for m in higgsfield.list_models(conn)}
    assert models[SOUL].output_type == "image"
    assert models[SOUL].operation_type == "text2image"
    assert models["veo3.1/image-to-video"].output_type == "video"
    assert models["veo3.1/image-to-video"].operation_type == "image2video"
    assert len(models) > 50


def completed_with_webhook(sim, conn, receiver, prompt="hooked"):
    receipt = higgsfield.submit(conn, SOUL, {"prompt": prompt}, webhook_url=receiver.url)
    finish(sim)
    return receipt


def test_a_webhook_arrives_signed_with_both_secrets_during_a_rotation(sim, conn, receiver):
    sim.config.webhook_secrets = [NEXT_SECRET, WEBHOOK_SECRET]
    try:
        receipt = completed_with_webhook(sim, conn, receiver)
        assert wait_for(lambda: receiver.received)
    finally:
        sim.config.webhook_secrets = [WEBHOOK_SECRET]
    headers, body = receiver.received[0]
    for secret in (NEXT_SECRET, WEBHOOK_SECRET):
        payload = Webhook(secret).verify(body, headers)
        assert payload["request_id"] == receipt.request_id
    result = higgsfield.parse_result("model_api", payload)
    assert result.status == "completed" and result.outputs and result.expires_at


def test_webhooks_are_retried_after_5xx_but_not_after_4xx(sim, conn, receiver):
    receiver.answers = [503, 500]
    completed_with_webhook(sim, conn, receiver, "retry")
    assert wait_for(lambda: len(receiver.received) == 3)
    ids = {headers["webhook-id"] for headers, _ in receiver.received}
    assert len(ids) == 1
    receiver.received.clear()
    receiver.answers = [410]
    completed_with_webhook(sim, new_account(sim), receiver, "gone")
    assert wait_for(lambda: receiver.received)
    assert wait_for(lambda: any(entry[1] == 410 for entry in sim.delivery_log))
    assert len(receiver.received) == 1


def test_chaos_switches_duplicate_drop_and_reorder_deliveries(sim, conn, receiver, faults):
    faults["webhook_duplicate"] = True
    completed_with_webhook(sim, conn, receiver, "twice")
    assert wait_for(lambda: len(receiver.received) == 2)
    assert receiver.received[0][0]["webhook-id"] == receiver.received[1][0]["webhook-id"]
    faults["webhook_duplicate"] = False

    receiver.received.clear()
    faults["webhook_drop"] = True
    completed_with_webhook(sim, conn, receiver, "lost")
    assert wait_for(lambda: any(entry[1] == "dropped" for entry in sim.delivery_log))
    faults["webhook_drop"] = False

    receiver.received.clear()
    faults["webhook_reorder"] = True
    first = higgsfield.submit(conn, SOUL, {"prompt": "first"}, webhook_url=receiver.url)
    finish(sim)
    assert wait_for(lambda: sim.held_deliveries)
    second = higgsfield.submit(conn, SOUL, {"prompt": "second"}, webhook_url=receiver.url)
    finish(sim)
    assert wait_for(lambda: len(receiver.received) == 2)
    assert [p["request_id"] for p in receiver.payloads()] == [second.request_id, first.request_id]
