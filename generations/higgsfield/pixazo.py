"""Surface E: the Pixazo gateway, a reseller in front of Higgsfield Soul and DoP.

Auth is `Ocp-Apim-Subscription-Key`. `POST /ai-model-api/v1/generateSoul` (or
`generateImageToVideoRequest`) answers 202 with `{request_id, status: "QUEUED",
polling_url}`; `GET /v2/requests/status/{id}` reports QUEUED, PROCESSING, COMPLETED,
FAILED or ERROR (a system error, not charged) with `output.media_url[]`. An optional
`X-Webhook-URL` header gets the same body POSTed when the request ends; Pixazo
documents no signature, so the app treats a callback only as a hint to poll.
An empty wallet shows up as 402; there is no balance endpoint. Error bodies are
`{"error": ..., "message": ...}`.
"""

from . import errors
from .client import request
from .model_api import parse_time
from .results import COMPLETED, FAILED, IN_PROGRESS, NSFW, QUEUED, Output, Receipt, Result, kind_of

API_PREFIX = "/ai-model-api/v1"
SOUL = "generateSoul"
IMAGE_TO_VIDEO = "generateImageToVideoRequest"
STATUSES = {"QUEUED": QUEUED, "PROCESSING": IN_PROGRESS, "COMPLETED": COMPLETED, "FAILED": FAILED,
            "ERROR": FAILED}
SIZE_FOR_ASPECT = {"1:1": "1536x1536", "3:4": "1536x2048", "4:3": "1536x1152", "2:3": "1088x1632",
                   "3:2": "1632x1088", "9:16": "1152x2048", "16:9": "2048x1152"}


def root(conn):
    """The gateway origin; the documented base URL ends in /ai-model-api/v1, which is
    accepted too."""
    return conn.base_url.rstrip("/").removesuffix(API_PREFIX)


def native(model_id, payload):
    """(operation, body): a Model API Soul request becomes a generateSoul body."""
    if model_id.strip("/") == "higgsfield-ai/soul/standard":
        body = {"prompt": payload.get("prompt", ""),
                "width_and_height": SIZE_FOR_ASPECT.get(payload.get("aspect_ratio", "4:3"), "1536x1152"),
                "quality": payload.get("resolution", "720p"), "batch_size": int(payload.get("batch_size") or 1),
                "enhance_prompt": bool(payload.get("enhance_prompt", False))}
        if payload.get("seed"):
            body["seed"] = payload["seed"]
        return SOUL, body
    return model_id.strip("/").rsplit("/", 1)[-1], payload


def parse_status(body):
    raw_status = str(body.get("status", "")).upper()
    status = STATUSES.get(raw_status, QUEUED)
    error = str(body.get("error") or "")
    if status == FAILED and "nsfw" in error.lower():
        status = NSFW
    elif raw_status == "ERROR":
        error = (error or "System error at the gateway") + " (not charged)"
    elif status == FAILED and not error:
        error = "The gateway reported the request as failed."
    output = body.get("output") or {}
    urls = output.get("media_url") or []
    if isinstance(urls, str):
        urls = [urls]
    outputs = [Output(kind_of(output.get("media_type"), url), url) for url in urls] if status == COMPLETED else []
    return Result(request_id=str(body.get("request_id", "")), status=status, outputs=outputs, error=error,
                  expires_at=parse_time(body.get("expires_at")), raw=body)


def submit(conn, model_path, payload, *, idempotency_key=None, webhook_url=None, webhook_secret=None,
           transport=None, **_unsupported):
    """Start a request; the gateway takes no Idempotency-Key, so it is sent once."""
    operation, body = native(model_path, payload)
    headers = {"X-Webhook-URL": webhook_url} if webhook_url else {}
    _, answer = request(conn, "POST", f"{root(conn)}{API_PREFIX}/{operation}", json=body, headers=headers,
                        transport=transport)
    answer = answer or {}
    if not answer.get("request_id"):
        raise errors.ServerError("The gateway accepted the request but sent no request id.")
    return Receipt(request_id=str(answer["request_id"]), status=STATUSES.get(answer.get("status"), QUEUED),
                   status_url=answer.get("polling_url"))


def status(conn, request_id, *, transport=None):
    _, body = request(conn, "GET", f"{root(conn)}/v2/requests/status/{request_id}", retries=2,
                      transport=transport)
    return parse_status(body or {})


def cancel(conn, request_id, *, transport=None):
    raise errors.ProviderError("The Pixazo gateway offers no way to cancel a request.")


def delete(conn, request_id, *, transport=None):
    raise errors.ProviderError("The Pixazo gateway offers no way to delete a request's data.")
