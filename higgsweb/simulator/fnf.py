"""Surface C, the web app's fnf API (UNOFFICIAL, observed traffic), under /fnf:
POST /fnf/media → PUT the presigned /fnf/_upload/{id} (no auth) → POST /fnf/media/{id}/upload;
POST /fnf/jobs/{model} with {params, use_unlim}; GET /fnf/job-sets/{id}; GET /fnf/user.
Auth is `Authorization: Bearer <token>` from a configurable list (`sim.fnf.tokens`)."""

import secrets
import uuid
from dataclasses import dataclass, field

from .jobs import Job
from .server import Response, detail, json_response
from .v1 import (
    check_fields,
    flag,
    jobset_body,
    number,
    one_of,
    open_image,
    settle,
    state_routes,
    text,
    url_object,
    video_size,
)

PREFIX = "/fnf"
ASPECTS = ("9:16", "16:9", "4:3", "3:4", "1:1", "2:3", "3:2")
UPLOAD_TYPES = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp",
                "image/gif": "gif", "audio/wav": "wav", "audio/x-wav": "wav", "video/mp4": "mp4"}
SOUL = {"prompt": (True, text), "quality": (True, one_of("720p", "1080p")), "aspect_ratio": (True, one_of(*ASPECTS)),
        "width": (True, number(64, 4096, integer=True)), "height": (True, number(64, 4096, integer=True)),
        "batch_size": (False, one_of(1, 4)), "seed": (False, number(1, 1_000_000, integer=True)),
        "enhance_prompt": (False, flag), "style_strength": (False, number(0, 1))}
IMAGE2VIDEO = {"prompt": (True, text), "model": (True, one_of("lite", "standard", "turbo")),
               "input_image": (True, url_object("url")), "frames": (False, number(1, 400, integer=True)),
               "seed": (False, number(1, 1_000_000, integer=True)), "enhance_prompt": (False, flag)}
GENERIC_IMAGE = {"prompt": (True, text), "width": (True, number(64, 4096, integer=True)),
                 "height": (True, number(64, 4096, integer=True)), "batch_size": (False, one_of(1, 2, 3, 4)),
                 "seed": (False, number(1, 1_000_000, integer=True))}
MODELS = {"text2image-soul": ("text2image_soul", SOUL), "image2video": ("image2video", IMAGE2VIDEO),
          "nano-banana-2": ("nano_banana_2", GENERIC_IMAGE), "flux-2": ("flux_2", GENERIC_IMAGE),
          "seedream": ("seedream", GENERIC_IMAGE)}
PRICES = {"text2image_soul": {"720p": 1.5, "1080p": 3.0}, "image2video": 6.0}
DEFAULT_PRICE = 2.0


@dataclass
class FnfState:
    tokens: list = field(default_factory=lambda: ["fnf-demo-token"])
    credits: float = 500.0
    has_unlim: bool = False
    media: dict = field(default_factory=dict)  # id → {"content_type", "data", "uploaded", "confirmed"}


def price(job_type, params):
    count = int(params.get("batch_size") or 1)
    table = PRICES.get(job_type, DEFAULT_PRICE)
    return (table.get(params.get("quality"), 1.5) if isinstance(table, dict) else table) * count


def register(sim):
    router = sim.router
    state = sim.fnf = FnfState()
    state_routes(sim, "fnf", state)

    def authorised(request):
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and auth[7:].strip() in state.tokens

    def refused():
        return detail("Could not validate credentials: the token is invalid or has expired", 401)

    def media_url(request, media_id):
        return f"{request.origin}{PREFIX}/_files/{media_id}.{UPLOAD_TYPES[state.media[media_id]['content_type']]}"

    @router.route("POST", PREFIX + r"/media")
    def create_media(request):
        if not authorised(request):
            return refused()
        body = request.json() or {}
        content_type = body.get("content_type") or (body.get("mimetypes") or ["image/jpeg"])[0]
        if content_type not in UPLOAD_TYPES:
            return detail([{"type": "enum", "loc": ["body", "content_type"], "input": content_type,
                            "msg": "Input should be one of: " + ", ".join(UPLOAD_TYPES)}], 422)
        media_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(16)
        state.media[media_id] = {"content_type": content_type, "data": None, "confirmed": False, "token": token}
        return json_response({"id": media_id, "content_type": content_type, "url": media_url(request, media_id),
                              "upload_url": f"{request.origin}{PREFIX}/_upload/{media_id}?X-Amz-Signature={token}"})

    @router.route("PUT", PREFIX + r"/_upload/(?P<media_id>[^/]+)")
    def put_media(request):
        item = state.media.get(request.params["media_id"])
        if item is None or request.query.get("X-Amz-Signature") != item["token"]:
            return Response(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        if request.headers.get("content-type", "").split(";")[0] != item["content_type"]:
            return Response(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", "application/xml")
        item["data"] = request.body
        return Response(200, b"", "text/plain")

    @router.route("POST", PREFIX + r"/media/(?P<media_id>[^/]+)/upload")
    def confirm_media(request):
        if not authorised(request):
            return refused()
        item = state.media.get(request.params["media_id"])
        if item is None:
            return detail("Media not found", 404)
        if not item["data"]:
            return detail("The file was not uploaded", 400)
        item["confirmed"] = True
        return json_response({"id": request.params["media_id"], "status": "uploaded", "ip_check_finished": None})

    @router.route("GET", PREFIX + r"/_files/(?P<media_id>[^/.]+)\.(?P<ext>\w+)")
    def media_file(request):
        item = state.media.get(request.params["media_id"])
        if item is None or not item["data"]:
            return detail("Not Found", 404)
        return Response(200, item["data"], item["content_type"])

    @router.route("GET", PREFIX + r"/user")
    def user(request):
        if not authorised(request):
            return refused()
        return json_response({"id": "user_simulated", "email": "studio@example.test", "plan_type": "team",
                              "workspace_id": "workspace_simulated", "subscription_credits": state.credits,
                              "package_credits": 0, "has_unlim": state.has_unlim, "has_flex_unlim": False})

    @router.route("GET", PREFIX + r"/job-sets/(?P<request_id>[^/]+)")
    def job_set(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("status"):
            return fault
        job = sim.get_job(request.params["request_id"])
        if job is None or job.surface != "fnf":
            return detail("Not Found", 404)
        settle(sim, job, state)
        return json_response(jobset_body(sim, job, web_app=True))

    @router.route("POST", PREFIX + r"/jobs/(?P<model>[a-z0-9\-]+)")
    def submit(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("submit"):
            return fault
        if request.params["model"] not in MODELS:
            return detail("Not Found", 404)
        job_type, spec = MODELS[request.params["model"]]
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("params"), dict):
            return detail([{"type": "missing", "loc": ["body", "params"], "msg": "Field required", "input": body}],
                          422)
        params = body["params"]
        errors = check_fields(params, spec)
        if errors:
            return detail(errors, 422)
        unlim = bool(body.get("use_unlim")) and state.has_unlim
        cost = 0.0 if unlim else price(job_type, params)
        with sim.lock:
            if state.credits < cost:
                return detail("Not enough credits", 403)
            state.credits -= cost
        extra = {"type": job_type, "cost": cost}
        if job_type == "image2video":
            picture = own_image(state, params["input_image"])
            outputs = [("video", *video_size(picture), 0)]
            extra.update(start_image=picture, seconds=3)
        else:
            count = int(params.get("batch_size") or 1)
            outputs = [("image", params["width"], params["height"], i) for i in range(count)]
        outcome, error = sim.outcome_for(params, request.headers)
        job = Job(request_id=str(uuid.uuid4()), model_id=request.params["model"], account="fnf", payload=params,
                  origin=request.origin, created=sim.now(), outcome=outcome, error=error, kind=outputs[0][0],
                  outputs=outputs, surface="fnf", extra=extra)
        sim.add_job(job)
        return json_response(jobset_body(sim, job, web_app=True))


def own_image(state, reference):
    """The start frame when it was uploaded here; otherwise a generated one stands in."""
    media_id = str(reference.get("id") or reference.get("url", "").rsplit("/", 1)[-1].split(".")[0])
    item = state.media.get(media_id)
    return open_image(item["data"]) if item and item["data"] else None
