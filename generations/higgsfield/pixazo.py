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

import random

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
# generateSoul's `width_and_height` enum (seed 003): three fewer than v1's.
SOUL_SIZES = ("1152x2048", "2048x1152", "2048x1536", "1536x2048", "1344x2016", "2016x1344", "960x1696",
              "1536x1536", "1536x1152", "1696x960", "1152x1536", "1088x1632", "1632x1088")
DOP_TIERS = ("dop-lite", "dop-preview", "dop-turbo")  # generateImageToVideoRequest's `model` enum
DOP_MODELS = {"higgsfield-ai/dop/lite": "dop-lite", "higgsfield-ai/dop/turbo": "dop-turbo",
              "higgsfield-ai/dop/preview": "dop-preview"}
# The product's models the gateway serves: Soul and DoP, nothing else.
RUNS = frozenset({"higgsfield-ai/soul/standard", "v1/text2image/soul", *DOP_MODELS, "v1/image2video/dop"})
# DoP on the gateway requires a motion preset and its strength (seed 003). A request that names
# none (the Model API's DoP takes no motions) gets the General preset at full strength, the
# studio's own default strength.
GENERAL_MOTION = "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a"
CHARACTERS_ELSEWHERE = ("Characters trained here live on the Higgsfield API account; Pixazo cannot use them. "
                        "Choose no character, or have an admin route this model to the Model API.")
# How the probe asks for a status nobody has: 404 means the key was accepted (401 otherwise).
KEY_PROBE = "ai-model-api_00000000-0000-0000-0000-000000000000"


def root(conn):
    """The gateway origin; the documented base URL ends in /ai-model-api/v1, which is
    accepted too."""
    return conn.base_url.rstrip("/").removesuffix(API_PREFIX)


def runs(model_id):
    return model_id in RUNS


def check(model_id, params):
    """What the gateway would refuse in this request, by field ({field: [messages]})."""
    problems = {}
    if params.get("custom_reference_id"):
        problems["custom_reference_id"] = [CHARACTERS_ELSEWHERE]
    if model_id == "v1/text2image/soul" and params.get("width_and_height") not in (None, *SOUL_SIZES):
        problems["width_and_height"] = ["Pixazo takes one of: " + ", ".join(SOUL_SIZES) + "."]
    if model_id == "v1/image2video/dop" and params.get("model", "dop-lite") not in DOP_TIERS:
        problems["model"] = ["Pixazo runs " + ", ".join(DOP_TIERS) + "."]
    return problems


def _image_url(value):
    value = value[0] if isinstance(value, list) and value else value
    return value.get("image_url", "") if isinstance(value, dict) else (value or "")


def native(model_id, payload):
    """(operation, body) on the gateway for a product request (seed 003): Soul from the Model
    API's or v1's Soul, DoP from either DoP."""
    model = model_id.strip("/")
    if model in ("higgsfield-ai/soul/standard", "v1/text2image/soul"):
        return SOUL, soul_body(model, payload)
    if model in DOP_MODELS or model == "v1/image2video/dop":
        return IMAGE_TO_VIDEO, dop_body(model, payload)
    return model.rsplit("/", 1)[-1], payload


def soul_body(model, payload):
    if model == "v1/text2image/soul":
        size, quality = payload.get("width_and_height", "1536x1152"), payload.get("quality", "720p")
        reference = _image_url(payload.get("image_reference"))
    else:
        size = SIZE_FOR_ASPECT.get(payload.get("aspect_ratio", "4:3"), "1536x1152")
        quality, reference = payload.get("resolution", "720p"), payload.get("image_reference_url", "")
    body = {"prompt": payload.get("prompt", ""), "width_and_height": size, "quality": quality,
            "batch_size": int(payload.get("batch_size") or 1),
            "enhance_prompt": bool(payload.get("enhance_prompt", False))}
    if payload.get("style_id"):
        # The parameter table says `style_id`, the page's own example `soul_style_id`: both are sent.
        body["style_id"] = body["soul_style_id"] = payload["style_id"]
        if payload.get("style_strength") is not None:
            body["style_strength"] = payload["style_strength"]
    if reference:
        body["image_reference_type"], body["image_reference_image_url"] = "image_url", reference
    if payload.get("seed"):
        body["seed"] = payload["seed"]
    return body


def dop_body(model, payload):
    """generateImageToVideoRequest: every documented required field, `input_images` as strings."""
    if model == "v1/image2video/dop":
        tier = payload.get("model", "dop-lite")
        start, end = payload.get("input_images"), payload.get("input_images_end")
    else:
        tier, start, end = DOP_MODELS[model], payload.get("image_url"), payload.get("end_image_url")
    motion = (payload.get("motions") or [{}])[0]
    body = {"model": tier, "prompt": payload.get("prompt", ""),
            "seed": payload.get("seed") or random.randint(1, 1_000_000),
            "motions_id": motion.get("id") or GENERAL_MOTION,
            "motions_strength": float(motion.get("strength", 1)) if motion.get("id") else 1.0,
            "input_images": [_image_url(start)], "enhance_prompt": bool(payload.get("enhance_prompt", True))}
    if _image_url(end):
        body["input_images_end"] = [_image_url(end)]
    return body


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


def check_key(conn, *, transport=None):
    """The gateway has no call to ask about a key; the status route answers 401 to a key it
    does not accept before it looks the request up, and 404 to an accepted one."""
    try:
        request(conn, "GET", f"{root(conn)}/v2/requests/status/{KEY_PROBE}", transport=transport)
    except errors.NotFound:
        return
