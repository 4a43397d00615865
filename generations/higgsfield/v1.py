"""Surface B: the legacy v1 API (vendor-deprecated, still served).

Auth is the `hf-api-key` / `hf-secret` header pair; bodies wrap the model inputs as
`{"params": {...}, "webhook": {"url", "secret"}}`; every generation answers with a
JobSet whose `jobs[]` (one per output) carry `results.min` (preview) and `results.raw`
(full file). The webhook secret comes back in the `X-Webhook-Secret-Key` header.
"""

from . import errors, model_api
from .client import request
from .model_api import parse_time
from .results import CANCELED, COMPLETED, FAILED, IN_PROGRESS, NSFW, QUEUED, Output, Receipt, Result, kind_of

SOUL_PATH = "v1/text2image/soul"
DOP_PATH = "v1/image2video/dop"
SPEAK_PATH = "v1/speak/higgsfield"
# Model API Soul aspect ratio → the nearest value of the v1 `width_and_height` enum
# (PROTOCOL.md §3.7); `quality` then picks 720p or 1080p rendering of that shape.
SIZE_FOR_ASPECT = {"1:1": "1536x1536", "3:4": "1536x2048", "4:3": "2048x1536", "2:3": "1344x2016",
                   "3:2": "2016x1344", "9:16": "1152x2048", "16:9": "2048x1152"}
JOB_STATUSES = {"queued": QUEUED, "pending": QUEUED, "in_progress": IN_PROGRESS, "processing": IN_PROGRESS,
                "completed": COMPLETED, "finished": COMPLETED, "failed": FAILED, "error": FAILED,
                "nsfw": NSFW, "canceled": CANCELED, "cancelled": CANCELED}
KIND_FOR_TYPE = {"text2image_soul": "image", "image2video": "video", "speak_v2": "video"}
# The product's models this surface runs: its own, and Soul Standard translated.
RUNS = frozenset({SOUL_PATH, DOP_PATH, SPEAK_PATH, "higgsfield-ai/soul/standard"})


def runs(model_id):
    return model_id in RUNS


def native(model_id, payload):
    """(path, params) for this surface. A Model API Soul request is translated, so the
    app's Soul form works on a v1 account too; v1 paths pass through unchanged."""
    if model_id.strip("/") == "higgsfield-ai/soul/standard":
        params = {"prompt": payload.get("prompt", ""),
                  "width_and_height": SIZE_FOR_ASPECT.get(payload.get("aspect_ratio", "4:3"), "2048x1536"),
                  "quality": payload.get("resolution", "720p"),
                  "batch_size": int(payload.get("batch_size") or 1),
                  "enhance_prompt": bool(payload.get("enhance_prompt", False))}
        for name in ("seed", "style_id", "style_strength", "custom_reference_id", "custom_reference_strength"):
            if payload.get(name) is not None and payload.get(name) != "":
                params[name] = payload[name]
        if payload.get("image_reference_url"):
            params["image_reference"] = {"type": "image_url", "image_url": payload["image_reference_url"]}
        return SOUL_PATH, params
    return model_id.strip("/"), payload


def aggregate(statuses):
    """One status for a JobSet: still running while any job runs; completed if any job
    produced output; otherwise the most telling failure."""
    if not statuses:
        return QUEUED
    if any(s not in (COMPLETED, FAILED, NSFW, CANCELED) for s in statuses):
        return IN_PROGRESS if any(s != QUEUED for s in statuses) else QUEUED
    for status in (COMPLETED, NSFW, FAILED):
        if status in statuses:
            return status
    return CANCELED


def parse_jobset(body, default_kind="image"):
    """A JobSet (v1 or fnf) as a normalised Result."""
    jobs = [job for job in body.get("jobs") or [] if isinstance(job, dict)]
    statuses = [JOB_STATUSES.get(str(job.get("status", "")).lower(), QUEUED) for job in jobs]
    kind = KIND_FOR_TYPE.get(body.get("type") or "", default_kind)
    outputs, problems = [], []
    for job, status in zip(jobs, statuses, strict=True):
        if job.get("error"):
            problems.append(str(job["error"]))
        if status != COMPLETED:
            continue
        results = job.get("results") or {}
        raw = results.get("raw") or job.get("result") or {}
        preview = results.get("min") or {}
        if raw.get("url"):
            outputs.append(Output(kind_of(raw.get("type"), raw["url"], kind), raw["url"], preview.get("url")))
    status = aggregate(statuses)
    error = "; ".join(dict.fromkeys(problems))
    if status == FAILED and not error:
        error = "The provider reported the job as failed."
    return Result(request_id=str(body.get("id", "")), status=status, outputs=outputs, error=error,
                  expires_at=parse_time(body.get("expires_at")), raw=body)


def parse_generation_results(body):
    """`GET /api/generation-results?id=` as a published guide shows it (shared/seeds/004):
    `{id, status: pending|processing|completed|failed, results: [{type, url}],
    retention_expires_at}`."""
    status = JOB_STATUSES.get(str(body.get("status", "")).lower(), QUEUED)
    items = [item for item in body.get("results") or [] if isinstance(item, dict) and item.get("url")]
    outputs = [Output(kind_of(item.get("type"), item["url"]), item["url"]) for item in items] \
        if status == COMPLETED else []
    error = str(body.get("error") or "")
    if status == FAILED and not error:
        error = "The provider reported the job as failed."
    return Result(request_id=str(body.get("id", "")), status=status, outputs=outputs, error=error,
                  expires_at=parse_time(body.get("retention_expires_at") or body.get("expires_at")), raw=body)


def parse_status(body):
    """A JobSet, or the flat generation-results shape (a `results` list and no `jobs`)."""
    if "jobs" not in body and isinstance(body.get("results"), list):
        return parse_generation_results(body)
    return parse_jobset(body)


def submit(conn, model_path, payload, *, idempotency_key=None, webhook_url=None, webhook_secret=None,
           transport=None, **_unsupported):
    """POST the job set. v1 has no Idempotency-Key, so a submit is never repeated here."""
    path, params = native(model_path, payload)
    body = {"params": params}
    if webhook_url:
        body["webhook"] = {"url": webhook_url, "secret": webhook_secret or ""}
    _, answer = request(conn, "POST", "/" + path, json=body, transport=transport)
    result = parse_status(answer or {})
    if not result.request_id:
        raise errors.ServerError("The provider accepted the job but sent no job set id.")
    status = result.status if result.status in (QUEUED, IN_PROGRESS) else QUEUED
    return Receipt(request_id=result.request_id, status=status,
                   status_url=f"{conn.base_url}/v1/job-sets/{result.request_id}")


def status(conn, request_id, *, transport=None):
    _, body = request(conn, "GET", f"/v1/job-sets/{request_id}", retries=2, transport=transport)
    return parse_status(body or {})


def generation_results(conn, job_id, *, transport=None):
    """`GET /api/generation-results?id=` (shared/seeds/004), as a normalised Result."""
    _, body = request(conn, "GET", "/api/generation-results", params={"id": job_id}, retries=2, transport=transport)
    return parse_generation_results(body or {})


def cancel(conn, request_id, *, transport=None):
    raise errors.ProviderError("The legacy v1 API cannot cancel a job set; it will run to the end.")


def delete(conn, request_id, *, transport=None):
    raise errors.ProviderError("The legacy v1 API cannot delete a job set's data.")


def upload(conn, data, content_type, *, transport=None):
    """v1 callers upload through the same /files/generate-upload-url flow as the Model API."""
    return model_api.upload(conn, data, content_type, transport=transport)


def check_key(conn, *, transport=None):
    """The v1 key pair is accepted on the same host's model list (legacy headers)."""
    request(conn, "GET", "/models", retries=1, transport=transport)
