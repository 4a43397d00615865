"""Surface A, the Model API: POST /{model_id}, /requests/{id}/status|cancel, DELETE /requests/{id}."""

import time
import uuid
from datetime import UTC, datetime

from . import schemas
from .app import SOUL_SIZES, SURFACE_NOTIFIERS, Job
from .server import Response, detail, json_response

VIDEO_HINTS = ("video", "dop/", "veo3", "speak", "hailuo", "sora", "seedance", "wan-", "kling")


def iso(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def output_plan(model_id, payload):
    """[(kind, width, height, index)] for what this model produces."""
    if any(hint in model_id for hint in VIDEO_HINTS):
        width, height = (1280, 720) if payload.get("aspect_ratio", "16:9") != "9:16" else (720, 1280)
        return [("video", width // 2, height // 2, 0)]
    count = int(payload.get("batch_size") or payload.get("num_images") or 1)
    resolution = payload.get("resolution") if payload.get("resolution") in SOUL_SIZES else "1080p"
    aspect = payload.get("aspect_ratio", "4:3")
    if "width_and_height" in payload:
        width, height = (int(v) for v in str(payload["width_and_height"]).split("x"))
    elif aspect in SOUL_SIZES[resolution]:
        width, height = SOUL_SIZES[resolution][aspect]
    else:
        width, height = 1024, 1024
    return [("image", width, height, index) for index in range(count)]


def status_body(sim, job):
    status = job.status(sim)
    body = {"status": status, "request_id": job.request_id,
            "status_url": f"{job.origin}/requests/{job.request_id}/status",
            "cancel_url": f"{job.origin}/requests/{job.request_id}/cancel"}
    if status == "completed":
        urls = sim.output_urls(job)
        images = [{"url": url} for kind, url in urls if kind == "image"]
        videos = [url for kind, url in urls if kind == "video"]
        if images:
            body["images"] = images
        if videos:
            body["video"] = {"url": videos[0]}
    elif status == "failed":
        body["error"] = job.error or "Generation failed."
    if status in ("completed", "failed", "nsfw", "canceled"):
        body["expires_at"] = iso(job.expires_at(sim))
    return body


def register(sim):
    router = sim.router

    @router.route("GET", r"/_media/(?P<request_id>[^/]+)/(?P<name>[^/]+)")
    def media_file(request):
        return sim.serve_media(request)

    @router.route("GET", r"/requests/(?P<request_id>[^/]+)/status")
    def status(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        if sim.take_fault("status_5xx_burst"):
            return detail("Internal Server Error", 500)
        job = sim.get_job(request.params["request_id"], account)
        if job is None:
            return detail("The request does not exist or belongs to another account", 404)
        return json_response(status_body(sim, job))

    @router.route("POST", r"/requests/(?P<request_id>[^/]+)/cancel")
    def cancel(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        with sim.lock:
            job = sim.get_job(request.params["request_id"], account)
            if job is None:
                return detail("The request does not exist or belongs to another account", 404)
            if job.status(sim) != "queued":
                return detail("Request cannot be canceled: it has already started or finished", 400)
            job.canceled_at = sim.now()
        return Response(202, b"", "application/json")

    @router.route("DELETE", r"/requests/(?P<request_id>[^/]+)")
    def delete(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        job = sim.get_job(request.params["request_id"], account)
        if job is None:
            with sim.lock:
                gone = sim.jobs.get(request.params["request_id"])
            if gone is not None and gone.deleted and gone.account == account:
                return json_response({"request_id": gone.request_id, "deleted": True})
            return detail("The request does not exist or belongs to another account", 404)
        if job.status(sim) not in ("completed", "failed", "nsfw", "canceled"):
            return detail("Only finished requests can be deleted", 400)
        job.deleted = True
        return json_response({"request_id": job.request_id, "deleted": True})

    @router.route("POST", r"/(?P<model_id>[A-Za-z0-9][A-Za-z0-9._\-/]*)")
    def submit(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        model_id = request.params["model_id"].strip("/")
        schema = schemas.model_schemas().get(model_id)
        if schema is None:
            return detail(f"Model {model_id} not found", 404)
        if sim.take_fault("submit_5xx_burst"):
            return detail("Internal Server Error", 500)
        if sim.take_fault("submit_429_burst"):
            return json_response({"detail": "Account queue is full", "code": "account_queue_full", "limit": 8},
                                 429, {"Retry-After": "1"})
        payload = request.json()
        if not isinstance(payload, dict):
            return detail([{"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be an object",
                            "input": payload}], 422)
        errors = schemas.validate(schema, payload)
        if errors:
            return detail(errors, 422)
        outcome, error = sim.outcome_for(payload, request.headers)
        job = Job(request_id=str(uuid.uuid4()), model_id=model_id, account=account, payload=payload,
                  origin=request.origin, created=sim.now(), outcome=outcome, error=error,
                  outputs=output_plan(model_id, payload), webhook_url=request.query.get("hf_webhook", ""))
        sim.add_job(job)
        # A slow answer: the job exists, but the caller may die or time out before it hears.
        time.sleep(float(sim.config.faults.get("submit_delay_seconds") or 0))
        return json_response(status_body(sim, job))


def notify(sim, job):
    sim.queue_webhook(job.webhook_url, status_body(sim, job))


SURFACE_NOTIFIERS["model_api"] = notify
