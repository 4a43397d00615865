"""Surface E, the Pixazo gateway, under /pixazo:
POST /pixazo/ai-model-api/v1/generateSoul | generateImageToVideoRequest (202, QUEUED);
GET /pixazo/v2/requests/status/{id}; optional `X-Webhook-URL` callback with the status body.
Auth `Ocp-Apim-Subscription-Key` from `sim.pixazo.keys`; 402 once the wallet is empty.
`X-Simulate-Outcome: error` gives the gateway's ERROR status (a system error, refunded)."""

import uuid
from dataclasses import dataclass, field

from .jobs import SURFACE_NOTIFIERS, Job
from .server import json_response
from .v1 import (
    SOUL_SIZES,
    check_fields,
    fetch_loopback,
    flag,
    iso,
    number,
    one_of,
    open_image,
    state_routes,
    text,
    video_size,
)

PREFIX = "/pixazo"
STATUS = {"queued": "QUEUED", "in_progress": "PROCESSING", "completed": "COMPLETED", "failed": "FAILED",
          "nsfw": "FAILED", "canceled": "FAILED"}


def _url_list(value):
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        return "list_type", "must be a non-empty array of image URLs"
    return None


SOUL = {"prompt": (True, text), "width_and_height": (True, one_of(*SOUL_SIZES)),
        "quality": (False, one_of("720p", "1080p")), "batch_size": (False, one_of(1, 4)),
        "seed": (False, number(1, 1_000_000, integer=True)), "enhance_prompt": (False, flag),
        "style_strength": (False, number(0, 1)), "image_reference_image_url": (False, text)}
IMAGE_TO_VIDEO = {"model": (True, one_of("dop-lite", "dop-preview", "dop-turbo")), "prompt": (True, text),
                  "seed": (True, number(1, 1_000_000, integer=True)), "motions_id": (True, text),
                  "motions_strength": (True, number(0, 1)), "input_images": (True, _url_list),
                  "input_images_end": (False, _url_list), "enhance_prompt": (True, flag)}
OPERATIONS = {"generateSoul": SOUL, "generateImageToVideoRequest": IMAGE_TO_VIDEO, "image-to-video": IMAGE_TO_VIDEO}
PRICES = {"generateSoul": 0.10, "generateImageToVideoRequest": 0.30, "image-to-video": 0.30}  # USD per output


@dataclass
class PixazoState:
    keys: list = field(default_factory=lambda: ["pixazo-demo-key"])
    wallet: float = 25.0  # USD


def error_body(error, message, status):
    return json_response({"error": error, "message": message}, status)


def status_body(sim, job):
    status = job.status(sim)
    shown = "ERROR" if status == "failed" and job.extra.get("system_error") else STATUS[status]
    body = {"request_id": job.request_id, "status": shown, "model_id": "ai-model-api", "error": None,
            "output": None, "created_at": iso(job.created), "updated_at": iso(sim.now()), "completed_at": None}
    if status in ("completed", "failed", "nsfw", "canceled"):
        body["completed_at"] = body["updated_at"] = iso(job.finished_at(sim))
    if status == "completed":
        urls = [url for _, url in sim.output_urls(job)]
        media_type = "application/octet-stream" if sim.config.result_types == "opaque" else (
            "video/mp4" if job.kind == "video" else "image/png")
        body["output"] = {"media_url": urls, "media_type": media_type}
    elif status == "nsfw":
        body["error"] = "NSFW content detected; the output was withheld"
    elif status == "failed":
        body["error"] = job.error or "Generation failed"
    return body


def settle(sim, job):
    """Charged on success only: FAILED and ERROR give the money back."""
    with sim.lock:
        if job.status(sim) in ("failed", "nsfw") and not job.extra.get("refunded"):
            job.extra["refunded"] = True
            sim.pixazo.wallet += job.extra.get("cost", 0.0)


def register(sim):
    router = sim.router
    sim.pixazo = PixazoState()
    state_routes(sim, "pixazo", sim.pixazo)

    def authorised(request):
        return request.headers.get("ocp-apim-subscription-key", "") in sim.pixazo.keys

    def refused():
        return json_response({"statusCode": 401, "message": "Access denied due to invalid subscription key. "
                              "Make sure to provide a valid key for an active subscription."}, 401)

    @router.route("POST", PREFIX + r"/ai-model-api/v1/(?P<operation>[A-Za-z\-]+)")
    def generate(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("submit", {"error": "Too Many Requests", "message": "Rate limit exceeded"}):
            return fault
        operation = request.params["operation"]
        hook = request.headers.get("x-webhook-url", "")
        if hook and (refusal := sim.webhook_refusal(hook)):
            return error_body("Bad Request", f"X-Webhook-URL: {refusal}", 400)
        if operation not in OPERATIONS:
            return error_body("Model not found", f"Model 'ai-model-api/{operation}' not found or is disabled", 400)
        body = request.json()
        if not isinstance(body, dict):
            return error_body("Bad Request", "The body must be a JSON object", 400)
        problems = check_fields(body, OPERATIONS[operation], loc=())
        if problems:
            message = "; ".join(f"{p['loc'][-1]}: {p['msg']}" for p in problems)
            return json_response({"error": "Validation error", "message": message, "details": problems}, 400)
        if operation == "generateSoul":
            width, height = (int(v) for v in body["width_and_height"].split("x"))
            scale = 0.75 if body.get("quality", "1080p") == "720p" else 1.0
            outputs = [("image", int(width * scale), int(height * scale), i)
                       for i in range(int(body.get("batch_size") or 1))]
            extra = {}
        else:
            picture = open_image(fetch_loopback(body["input_images"][0]) or b"")
            outputs = [("video", *video_size(picture), 0)]
            extra = {"start_image": picture, "seconds": 3}
        cost = PRICES[operation] * len(outputs)
        with sim.lock:
            if sim.pixazo.wallet < cost:
                return error_body("Insufficient Balance", "Your wallet does not have enough balance.", 402)
            sim.pixazo.wallet -= cost
        outcome, error = sim.outcome_for(body, request.headers)
        if request.headers.get("x-simulate-outcome") == "error":
            outcome, error, extra["system_error"] = "failed", "Upstream model error (simulated)", True
        job = Job(request_id="ai-model-api_" + str(uuid.uuid4()), model_id=operation, account="pixazo",
                  payload=body, origin=request.origin, created=sim.now(), outcome=outcome, error=error,
                  kind=outputs[0][0], outputs=outputs, webhook_url=request.headers.get("x-webhook-url", ""),
                  surface="pixazo", extra={**extra, "cost": cost})
        sim.add_job(job)
        return json_response({"request_id": job.request_id, "status": "QUEUED",
                              "polling_url": f"{request.origin}{PREFIX}/v2/requests/status/{job.request_id}"}, 202)

    @router.route("GET", PREFIX + r"/v2/requests/status/(?P<request_id>[^/]+)")
    def status(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("status"):
            return fault
        job = sim.get_job(request.params["request_id"])
        if job is None or job.surface != "pixazo":
            return error_body("Not Found", "Request not found", 404)
        settle(sim, job)
        return json_response(status_body(sim, job))


def notify(sim, job):
    settle(sim, job)
    sim.queue_webhook(job.webhook_url, status_body(sim, job))


SURFACE_NOTIFIERS["pixazo"] = notify
