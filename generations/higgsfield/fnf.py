"""Surface C: the web app's own API at fnf.higgsfield.ai. UNOFFICIAL.

Higgsfield does not document or support this API; it was observed in the web app's
traffic and may change or break without notice. Auth is a user-supplied Bearer token
(a short-lived session JWT copied from a signed-in browser, valid about a minute), so
an expired token is the usual error. Jobs: `POST /jobs/{model}` with
`{"params": {...}, "use_unlim": bool}` → a job set, or the newer `POST /jobs/v2/{job_set_type}`
→ `{id: workspace, job_sets: [{id, jobs}]}`; both polled at `GET /job-sets/{id}`. Inputs are
the web app's own media (three-step upload), referred to by id. The history is listed at
`GET /project?job_set_type=…`. No webhooks and no cancel.
"""

from dataclasses import dataclass

from . import errors
from .client import request
from .results import Media, Receipt, Result
from .v1 import parse_jobset

SOUL_MODEL = "text2image-soul"
SOUL_V2_TYPE = "text2image_soul_v2"
DOP_MODEL = "image2video"
DOP_MODELS = {"higgsfield-ai/dop/lite": "lite", "higgsfield-ai/dop/turbo": "turbo",
              "higgsfield-ai/dop/standard": "standard"}
DOP_TIERS = ("lite", "standard", "turbo")
# The product's models this surface runs (the others are not offered on an fnf account).
RUNS = frozenset({"higgsfield-ai/soul/standard", "higgsfield-ai/soul/v2/standard", *DOP_MODELS,
                  "v1/image2video/dop"})
# Inputs are the web app's own media, uploaded through /media and named by id (seed 002).
OWN_MEDIA = True
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
CHARACTERS_ELSEWHERE = ("Characters trained here live on the Higgsfield API account; the web app (fnf) cannot "
                        "use them. Choose no character, or have an admin route this model to the Model API.")
# The history's job set types the import asks for: those the catalogue has a model for first.
HISTORY_TYPES = ("text2image_soul", SOUL_V2_TYPE, "image2video", "nano_banana_2", "flux_2", "seedream")
KIND_FOR_TYPE = {"image2video": "video"}


def _call(conn, method, url, **kwargs):
    try:
        return request(conn, method, url, **kwargs)
    except errors.AuthError as exc:
        raise errors.AuthError(EXPIRED_TOKEN, status=exc.status, detail=exc.detail,
                               correlation_id=exc.correlation_id) from exc


def runs(model_id):
    return model_id in RUNS


def check(model_id, params):
    """What the web app cannot take from this request, by field ({field: [messages]})."""
    problems = {}
    if params.get("custom_reference_id"):
        problems["custom_reference_id"] = [CHARACTERS_ELSEWHERE]
    for name in ("image_reference_url", "end_image_url", "input_images_end"):
        if params.get(name):
            problems[name] = ["The web app (fnf) takes no such image for this model: leave it empty."]
    if model_id == "v1/image2video/dop" and str(params.get("model", "dop-lite")).removeprefix("dop-") not in DOP_TIERS:
        problems["model"] = ["The web app (fnf) runs DoP lite, turbo and standard."]
    return problems


def _soul_size(payload):
    quality = payload.get("resolution", "720p")
    aspect = payload.get("aspect_ratio", "4:3")
    width, height = SIZES.get(quality, SIZES["720p"]).get(aspect, (1536, 1152))
    return quality, aspect, width, height


def native(model_id, payload, media=None):
    """(path, params) on this surface for a product request: Soul (seed 002), Soul 2 through
    `/jobs/v2/…` (the shape examples/fnf.json shows) and DoP with the web app's own media."""
    model = model_id.strip("/").removeprefix("jobs/")
    if model == "higgsfield-ai/soul/standard":
        quality, aspect, width, height = _soul_size(payload)
        params = {"prompt": payload.get("prompt", ""), "quality": quality, "aspect_ratio": aspect,
                  "width": width, "height": height, "batch_size": int(payload.get("batch_size") or 1),
                  "enhance_prompt": bool(payload.get("enhance_prompt", False)), "negative_prompt": "",
                  "steps": 50, "sample_shift": 4.0, "sample_guide_scale": 4.0, "version": 3}
        for name in ("seed", "style_id", "style_strength"):
            if payload.get(name) is not None:
                params[name] = payload[name]
        return SOUL_MODEL, params
    if model == "higgsfield-ai/soul/v2/standard":
        quality, aspect, width, height = _soul_size(payload)
        params = {"is_custom": False, "model": "soul_v2", "prompt": payload.get("prompt", ""),
                  "style_id": payload.get("style_id") or None, "style_strength": 1, "aspect_ratio": aspect,
                  "quality": quality, "enhance_prompt": bool(payload.get("enhance_prompt", False)),
                  "width": width, "height": height, "batch_size": int(payload.get("batch_size") or 1),
                  "medias": [], "use_green": True, "use_refiner": False, "negative_prompt": "", "lora": None,
                  "chain_enhancer": None, "model_version": "fast"}
        if payload.get("seed"):
            params["seed"] = payload["seed"]
        return f"v2/{SOUL_V2_TYPE}", params
    if model in DOP_MODELS or model in ("v1/image2video/dop", DOP_MODEL):
        return DOP_MODEL, dop_params(model, payload, media or {})
    return model, payload


def _first_image(inner):
    if inner.get("image_url"):
        return inner["image_url"]
    first = (inner.get("input_images") or [{}])[0]
    return first.get("image_url", "") if isinstance(first, dict) else str(first)


def dop_params(model, payload, media):
    """A Model API or v1 DoP request as the web app's image2video job (seed 002): the start frame
    is the web app's media, named by its id, url and size."""
    inner = payload.get("params", payload)
    if isinstance(inner.get("input_image"), dict):  # already the web app's own body
        return inner
    image = _first_image(inner)
    frame = media.get(image)
    tier = DOP_MODELS.get(model) or str(inner.get("model", "dop-lite")).removeprefix("dop-")
    seconds = int(inner.get("duration") or 5)
    params = {"prompt": inner.get("prompt", ""), "enhance_prompt": bool(inner.get("enhance_prompt", True)),
              "model": tier, "frames": FRAMES_FOR_SECONDS.get(seconds, FRAMES_FOR_SECONDS[5]),
              "input_image": {"id": frame.id if frame else "", "url": frame.url if frame else image,
                              "type": "media_input"},
              "steps": 30}
    if inner.get("seed"):
        params["seed"] = inner["seed"]
    if frame and frame.width and frame.height:
        params["width"], params["height"] = frame.width, frame.height
    motions = inner.get("motions") or []
    if motions:
        params["motion_id"] = motions[0].get("id")
    return params


def parse_status(body):
    """A job set; or the `/jobs/v2/…` answer `{id: workspace, job_sets: [{id, jobs}]}` (its first
    job set); or one job's `/jobs/{id}/status` `{id, status, job_set_type}`."""
    if isinstance(body.get("job_sets"), list) and body["job_sets"]:
        body = body["job_sets"][0]
    elif "jobs" not in body and "status" in body:
        body = {"id": body.get("id"), "type": body.get("job_set_type", ""), "jobs": [body]}
    kind = KIND_FOR_TYPE.get(str(body.get("type") or body.get("job_set_type") or ""), "image")
    return parse_jobset(body, default_kind="video" if "video" in str(body.get("type", "")) else kind)


def submit(conn, model_path, payload, *, idempotency_key=None, webhook_url=None, webhook_secret=None,
           use_unlim=False, media=None, transport=None, **_unsupported):
    """Start a job set. fnf has no webhooks and no Idempotency-Key: the app polls, and
    a submit is never repeated. `use_unlim` only helps on plans with unlimited use,
    and the web app turns it off for batches. `media` maps an input's URL to the web app's
    media it was uploaded as (upload_media)."""
    model, params = native(model_path, payload, media)
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


def upload_media(conn, data, content_type, *, filename=None, transport=None):
    """The three-step upload: create the media, PUT the bytes to its presigned URL (no
    credentials), confirm. Returns the Media (its id and permanent URL)."""
    _, media = _call(conn, "POST", "/media", json={"content_type": content_type}, transport=transport)
    if isinstance(media, list):  # the batch form (`/media/batch`) answers a list of the same objects
        media = media[0] if media else {}
    media = media or {}
    if not media.get("id") or not media.get("upload_url") or not media.get("url"):
        raise errors.ServerError("The web app did not hand out an upload address.")
    request(conn, "PUT", media["upload_url"], content=data, headers={"Content-Type": content_type},
            authenticated=False, expect_json=False, transport=transport)
    extension = content_type.rsplit("/", 1)[-1]
    _, confirmed = _call(conn, "POST", f"/media/{media['id']}/upload", transport=transport, json={
        "filename": filename or f"upload.{extension}", "force_nsfw_check": True, "force_ip_check": False})
    if (confirmed or {}).get("status") != "uploaded":
        raise errors.ServerError("The web app did not confirm the upload.")
    return Media(url=media["url"], id=str(media["id"]), content_type=content_type)


def upload(conn, data, content_type, *, filename=None, transport=None):
    """upload_media, answering only the media's permanent URL."""
    return upload_media(conn, data, content_type, filename=filename, transport=transport).url


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


# --- history ---------------------------------------------------------------------------

@dataclass(frozen=True)
class HistoryEntry:
    """One past job set of the web app's history, as the import reads it."""

    job_set_type: str
    params: dict
    result: Result
    created_at: object = None


def history_page(conn, *, types=HISTORY_TYPES, size=20, offset=0, cursor=None, transport=None):
    """One page of the web app's history, newest first: `GET /project?job_set_type=…&size=…`
    (seed 002). Its paging is not documented: callers were seen sending `size` (seed 002) or
    `limit` and `offset`, so all three are sent, and a cursor in an answer is passed on.
    Returns (entries, cursor or None)."""
    query = [("job_set_type", kind) for kind in types] + [("size", size), ("limit", size), ("offset", offset)]
    if cursor:
        query.append(("cursor", cursor))
    _, body = _call(conn, "GET", "/project", params=query, retries=2, transport=transport)
    if isinstance(body, list):
        body = {"job_sets": body}
    body = body or {}
    entries = [history_entry(item) for item in body.get("job_sets") or [] if isinstance(item, dict)]
    return [entry for entry in entries if entry.result.request_id], body.get("cursor") or body.get("next_cursor")


def history_entry(item):
    """A history job set: its type, the settings it was made with (`params`, or `input_params`
    as job sets elsewhere carry them, with a top-level `prompt` seen too) and its result."""
    params = item.get("params") or item.get("input_params") or {}
    params = dict(params) if isinstance(params, dict) else {}
    if "prompt" not in params and item.get("prompt"):
        params["prompt"] = item["prompt"]
    kind = str(item.get("type") or item.get("job_set_type") or "")
    return HistoryEntry(job_set_type=kind, params=params, result=parse_status({**item, "type": kind}),
                        created_at=item.get("created_at"))


def product_request(job_set_type, params):
    """(model id, settings) in the product's terms for a web-app job set: the inverse of
    native. Types the catalogue has no model for keep their own name (`fnf/<type>`)."""
    settings = {"prompt": str(params.get("prompt") or "")}
    if job_set_type in ("text2image_soul", SOUL_V2_TYPE):
        settings.update(aspect_ratio=params.get("aspect_ratio"), resolution=params.get("quality"),
                        batch_size=params.get("batch_size"), seed=params.get("seed"),
                        style_id=params.get("style_id"), enhance_prompt=params.get("enhance_prompt"))
        model = "higgsfield-ai/soul/standard" if job_set_type == "text2image_soul" else "higgsfield-ai/soul/v2/standard"
        return model, {key: value for key, value in settings.items() if value not in (None, "")}
    if job_set_type == "image2video" and params.get("model") in DOP_TIERS:
        frame = params.get("input_image") if isinstance(params.get("input_image"), dict) else {}
        settings.update(seed=params.get("seed"), enhance_prompt=params.get("enhance_prompt"),
                        image_url=frame.get("url"))
        return f"higgsfield-ai/dop/{params['model']}", {k: v for k, v in settings.items() if v not in (None, "")}
    scalars = {key: value for key, value in params.items()
               if isinstance(value, (str, int, float, bool)) and key not in ("use_unlim",)}
    return f"fnf/{job_set_type or 'job'}", {**scalars, **settings}
