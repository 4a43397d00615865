"""Surface C: the web app's own API at fnf.higgsfield.ai. UNOFFICIAL.

Higgsfield does not document or support this API; it was observed in the web app's
traffic and may change or break without notice. Auth is a user-supplied Bearer token
(a short-lived session JWT copied from a signed-in browser, valid about a minute), so
an expired token is the usual error. Jobs: `POST /jobs/{model}` with
`{"params": {...}, "use_unlim": bool}` → a job set, polled at `GET /job-sets/{id}`.
No webhooks and no cancel. Uploads take three steps; `GET /user` shows the credits.
"""

from . import errors
from .client import request
from .results import Receipt
from .v1 import parse_jobset

SOUL_MODEL = "text2image-soul"
DOP_MODEL = "image2video"
DOP_MODELS = {"higgsfield-ai/dop/lite": "lite", "higgsfield-ai/dop/turbo": "turbo",
              "higgsfield-ai/dop/standard": "standard"}
# The web app asks for frames, not seconds (PROTOCOL.md §5.2; another note says 49 / 81).
FRAMES_FOR_SECONDS = {3: 85, 5: 145}
SIZES = {
    "720p": {"1:1": (1152, 1152), "3:4": (1152, 1536), "4:3": (1536, 1152), "2:3": (1024, 1536),
             "3:2": (1536, 1024), "9:16": (864, 1536), "16:9": (1536, 864)},
    "1080p": {"1:1": (1536, 1536), "3:4": (1536, 2048), "4:3": (2048, 1536), "2:3": (1365, 2048),
              "3:2": (2048, 1365), "9:16": (1152, 2048), "16:9": (2048, 1152)},
}
EXPIRED_TOKEN = ("The fnf web-app token was refused: it has probably expired (they last about a minute). "
                 "Sign in to higgsfield.ai, copy a fresh token and paste it into the provider account.")


def _call(conn, method, url, **kwargs):
    try:
        return request(conn, method, url, **kwargs)
    except errors.AuthError as exc:
        raise errors.AuthError(EXPIRED_TOKEN, status=exc.status, detail=exc.detail,
                               correlation_id=exc.correlation_id) from exc


def native(model_id, payload):
    """(model, params): a Model API Soul request becomes the web app's Soul job."""
    model = model_id.strip("/").removeprefix("jobs/")
    if model == "higgsfield-ai/soul/standard":
        quality = payload.get("resolution", "720p")
        aspect = payload.get("aspect_ratio", "4:3")
        width, height = SIZES.get(quality, SIZES["720p"]).get(aspect, (1536, 1152))
        params = {"prompt": payload.get("prompt", ""), "quality": quality, "aspect_ratio": aspect,
                  "width": width, "height": height, "batch_size": int(payload.get("batch_size") or 1),
                  "enhance_prompt": bool(payload.get("enhance_prompt", False)), "negative_prompt": "",
                  "steps": 50, "sample_shift": 4.0, "sample_guide_scale": 4.0, "version": 3}
        if payload.get("seed"):
            params["seed"] = payload["seed"]
        return SOUL_MODEL, params
    if model in DOP_MODELS or model == "v1/image2video/dop":
        return DOP_MODEL, dop_params(model, payload)
    return model, payload


def dop_params(model, payload):
    """A Model API or v1 DoP request as the web app's image2video job."""
    inner = payload.get("params", payload)
    image = inner.get("image_url") or ((inner.get("input_images") or [{}])[0].get("image_url", ""))
    tier = DOP_MODELS.get(model) or str(inner.get("model", "dop-lite")).removeprefix("dop-")
    seconds = int(inner.get("duration") or 5)
    params = {"prompt": inner.get("prompt", ""), "enhance_prompt": bool(inner.get("enhance_prompt", True)),
              "model": tier, "frames": FRAMES_FOR_SECONDS.get(seconds, FRAMES_FOR_SECONDS[5]),
              "input_image": {"id": "", "url": image, "type": "media_input"}, "steps": 30}
    motions = inner.get("motions") or []
    if motions:
        params["motion_id"] = motions[0].get("id")
    if inner.get("seed"):
        params["seed"] = inner["seed"]
    return params


def parse_status(body):
    """A job set; or the `/jobs/v2/…` answer `{id: workspace, job_sets: [{id, jobs}]}` (its first
    job set); or one job's `/jobs/{id}/status` `{id, status, job_set_type}`."""
    if isinstance(body.get("job_sets"), list) and body["job_sets"]:
        body = body["job_sets"][0]
    elif "jobs" not in body and "status" in body:
        body = {"id": body.get("id"), "type": body.get("job_set_type", ""), "jobs": [body]}
    return parse_jobset(body, default_kind="video" if "video" in str(body.get("type", "")) else "image")


def submit(conn, model_path, payload, *, idempotency_key=None, webhook_url=None, webhook_secret=None,
           use_unlim=False, transport=None, **_unsupported):
    """Start a job set. fnf has no webhooks and no Idempotency-Key: the app polls, and
    a submit is never repeated. `use_unlim` only helps on plans with unlimited use,
    and the web app turns it off for batches."""
    model, params = native(model_path, payload)
    unlim = bool(use_unlim) and int(params.get("batch_size") or 1) == 1
    body = {"params": {**params, "use_unlim": unlim}, "use_unlim": unlim}
    _, answer = _call(conn, "POST", f"/jobs/{model}", json=body, transport=transport)
    result = parse_status(answer or {})
    if not result.request_id:
        raise errors.ServerError("The web app accepted the job but sent no job set id.")
    return Receipt(request_id=result.request_id, status=result.status if not result.is_terminal else "queued",
                   status_url=f"{conn.base_url}/job-sets/{result.request_id}")


def status(conn, request_id, *, transport=None):
    _, body = _call(conn, "GET", f"/job-sets/{request_id}", retries=2, transport=transport)
    return parse_status(body or {})


def cancel(conn, request_id, *, transport=None):
    raise errors.ProviderError("The fnf web-app API offers no way to cancel a job.")


def delete(conn, request_id, *, transport=None):
    raise errors.ProviderError("The fnf web-app API offers no way to delete a job's data.")


def upload(conn, data, content_type, *, filename=None, transport=None):
    """The three-step upload: create the media, PUT the bytes to its presigned URL
    (no credentials), confirm. Returns the media's permanent URL."""
    _, media = _call(conn, "POST", "/media", json={"content_type": content_type}, transport=transport)
    if isinstance(media, list):  # the batch form (`/media/batch`) answers a list of the same objects
        media = media[0] if media else {}
    request(conn, "PUT", media["upload_url"], content=data, headers={"Content-Type": content_type},
            authenticated=False, expect_json=False, transport=transport)
    extension = content_type.rsplit("/", 1)[-1]
    _, confirmed = _call(conn, "POST", f"/media/{media['id']}/upload", transport=transport, json={
        "filename": filename or f"upload.{extension}", "force_nsfw_check": True, "force_ip_check": False})
    if (confirmed or {}).get("status") != "uploaded":
        raise errors.ServerError("The web app did not confirm the upload.")
    return media["url"]


def balance(conn, *, transport=None):
    """Credits left on the signed-in web-app account (subscription + package)."""
    _, user = _call(conn, "GET", "/user", retries=2, transport=transport)
    user = user or {}
    credits = float(user.get("subscription_credits") or 0) + float(user.get("package_credits") or 0)
    return {"credits": credits, "unlimited": bool(user.get("has_unlim") or user.get("has_flex_unlim")),
            "plan": user.get("plan_type", ""), "raw": user}


def check_key(conn, *, transport=None):
    """The signed-in user's profile: an expired or wrong token gets 401."""
    _call(conn, "GET", "/user", retries=1, transport=transport)
