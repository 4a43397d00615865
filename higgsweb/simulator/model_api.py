"""Surface A, the Model API: POST /{model_id}, /requests/{id}/status|cancel, DELETE /requests/{id}."""

import hashlib
import json
import re
import time
import uuid
from datetime import UTC, datetime

from . import catalogue, schemas
from .jobs import SURFACE_NOTIFIERS, Job
from .server import Response, detail, json_response

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # 1–255 visible ASCII, no whitespace


def iso(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def output_plan(model_id, payload):
    """[(kind, width, height, index)] for what this model produces."""
    return catalogue.output_plan(model_id, payload)


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

    @router.route("GET", r"/_media/(?P<request_id>[^/]+)/(?P<name>\d+)/(?P<opaque>output\.ext)")
    def media_file_opaque(request):
        return sim.serve_media(request)

    @router.route("GET", r"/requests/(?P<request_id>[^/]+)/status")
    def status(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        if fault := sim.fault_response("status"):
            return fault
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

    @router.route("GET", r"/models/?")
    def models(request):
        if sim.account_for(request) is None:
            return sim.unauthorized()
        return json_response(catalogue.models())

    @router.route("POST", r"/estimate/(?P<model_id>[A-Za-z0-9][A-Za-z0-9._\-/]*)")
    def estimate(request):
        """Free and without side effects: the price of a body that would be accepted."""
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        model_id = request.params["model_id"].strip("/")
        schema, refusal = model_or_refusal(sim, model_id)
        if refusal:
            return refusal
        payload = request.json()
        errors = schemas.validate(schema, payload) if isinstance(payload, dict) else [not_an_object(payload)]
        if errors:
            return detail(errors, 422)
        credits = catalogue.estimate(model_id, payload)
        return json_response({"credits": f"{credits:.3f}", "usd": f"{catalogue.usd(credits):.3f}"})

    @router.route("POST", r"/(?P<model_id>[A-Za-z0-9][A-Za-z0-9._\-/]*)")
    def submit(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        model_id = request.params["model_id"].strip("/")
        schema, refusal = model_or_refusal(sim, model_id)
        if refusal:
            return refusal
        if fault := sim.fault_response("submit", {"detail": "Account queue is full", "code": "account_queue_full",
                                                  "limit": 8}):
            return fault
        payload = request.json()
        if not isinstance(payload, dict):
            return detail([not_an_object(payload)], 422)
        errors = schemas.validate(schema, payload)
        expires_after, header_errors = read_expires_after(sim, request)
        key = request.headers.get("idempotency-key")
        if key is not None and not IDEMPOTENCY_KEY.match(key):
            header_errors.append({"type": "string_pattern_mismatch", "loc": ["header", "Idempotency-Key"],
                                  "msg": "Idempotency-Key must be 1-255 visible ASCII characters", "input": key})
        webhook_url = request.query.get("hf_webhook", "")
        if webhook_url and (refusal := sim.webhook_refusal(webhook_url)):
            # The service refuses the submit; its status code is not documented (PROTOCOL.md §2.6).
            header_errors.append({"type": "value_error", "loc": ["query", "hf_webhook"], "msg": refusal,
                                  "input": webhook_url})
        if errors or header_errors:
            return detail(errors + header_errors, 422)
        if model_id.startswith("higgsfield-ai/dop/") and payload.get("motions"):
            # The live Model API fails any DoP request with non-empty motions (PROTOCOL.md §3.2, §10.9);
            # nothing is created or charged.
            return detail("Internal Server Error", 500)
        fingerprint = hashlib.sha256(json.dumps(
            [model_id, payload, webhook_url, expires_after], sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        if sim.config.faults.get("ignore_idempotency"):
            key = None
        with sim.lock:
            if key is not None and (account, key) in sim.idempotency:
                seen, request_id = sim.idempotency[(account, key)]
                if seen != fingerprint:
                    return detail([{"type": "idempotency_mismatch", "loc": ["header", "Idempotency-Key"],
                                    "msg": "Idempotency-Key was already used with different parameters",
                                    "input": key}], 422)
                original = sim.jobs[request_id]
                return json_response(status_body(sim, original) | {"status": "queued"})
            refusal, wait = sim.admission(account)
            if refusal:
                return refusal
            outcome, error = sim.outcome_for(payload, request.headers)
            job = Job(request_id=str(uuid.uuid4()), model_id=model_id, account=account, payload=payload,
                      origin=request.origin, created=sim.now(), outcome=outcome, error=error,
                      outputs=output_plan(model_id, payload), webhook_url=webhook_url,
                      expires_after=expires_after, extra={"wait": wait})
            job.kind = catalogue.output_type(model_id)
            job.extra["image_format"] = catalogue.image_format(model_id, payload)
            job.extra["seconds"] = catalogue.seconds(payload)
            if not sim.charge_job(job, catalogue.estimate(model_id, payload)):
                return detail("Not enough credits", 403)
            sim.add_job(job)
            if key is not None:
                sim.idempotency[(account, key)] = (fingerprint, job.request_id)
        # A slow answer: the job exists, but the caller may die or time out before it hears.
        time.sleep(float(sim.config.faults.get("submit_delay_seconds") or 0))
        if sim.take_fault("submit_answer_lost_burst"):
            return detail("Gateway Timeout", 504)
        headers = {"Hf-Expires-After": str(int(expires_after))} if expires_after else {}
        return json_response(status_body(sim, job), headers=headers)


def model_or_refusal(sim, model_id):
    """(schema, None) for a model this account may call, else (None, error response)."""
    schema = schemas.model_schemas().get(model_id)
    if schema is None:
        return None, detail(f"Model {model_id} not found", 404)
    if model_id in sim.config.blocked_models:
        return None, detail("Model is temporarily blocked", 423)
    if model_id in sim.config.disabled_models:
        return None, detail("model_disabled", 503)
    return schema, None


def not_an_object(payload):
    return {"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be an object", "input": payload}


def read_expires_after(sim, request):
    """(seconds or None, errors): `Hf-Expires-After` may only shorten retention, never below an hour."""
    raw = request.headers.get("hf-expires-after")
    if raw is None:
        return None, []
    retention = sim.config.retention_seconds
    try:
        seconds = int(raw)
    except ValueError:
        seconds = None
    if seconds is None or not 3600 <= seconds <= retention:
        return None, [{"type": "value_error", "loc": ["header", "Hf-Expires-After"],
                       "msg": f"Hf-Expires-After must be an integer between 3600 and {int(retention)}",
                       "input": raw}]
    return float(seconds), []


def webhook_body(sim, job):
    """What a delivery carries: the status body, except that the documented failed and nsfw
    deliveries are only `{status, request_id[, error]}` (PROTOCOL.md §2.6), with `expires_at`."""
    body = status_body(sim, job)
    if body["status"] in ("failed", "nsfw"):
        body = {key: body[key] for key in ("status", "request_id", "error", "expires_at") if key in body}
    return body


def notify(sim, job):
    sim.queue_webhook(job.webhook_url, webhook_body(sim, job))


SURFACE_NOTIFIERS["model_api"] = notify
