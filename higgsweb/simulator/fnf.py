"""Surface C, the web app's fnf API (UNOFFICIAL, observed traffic), under /fnf:
POST /fnf/media → PUT the presigned /fnf/_upload/{id} (no auth) → POST /fnf/media/{id}/upload;
POST /fnf/jobs/{model} with {params, use_unlim}, and POST /fnf/jobs/v2/{job_set_type} answering
{id: workspace, job_sets: [...]}; GET /fnf/job-sets/{id}; GET /fnf/user; the history at
GET /fnf/project?job_set_type=…&size=…[&offset=…]: a few past job sets of different types
(made the first time it is asked for) and every job made here since, newest first.
Auth is `Authorization: Bearer <token>` from a configurable list (`sim.fnf.tokens`).

As strict as the web app was seen to be: image2video names its start frame as one of this
account's uploaded media (`input_image` {id, url, type: "media_input"}, with the frame's
`width` and `height`, seed 002); an id that was never uploaded and confirmed is refused."""

import secrets
import uuid
from dataclasses import dataclass, field

from .jobs import Job
from .server import Response, detail, json_response
from .v1 import (
    check_fields,
    flag,
    job_ids,
    jobset_body,
    number,
    one_of,
    open_image,
    settle,
    state_routes,
    text,
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
def media_input(value):
    if not isinstance(value, dict) or value.get("type") != "media_input" or not value.get("id") \
            or not isinstance(value.get("url"), str) or not value["url"]:
        return "model_type", "Input should be an uploaded media: {id, url, type: 'media_input'}"
    return None


IMAGE2VIDEO = {"prompt": (True, text), "model": (True, one_of("lite", "standard", "turbo")),
               "input_image": (True, media_input), "width": (True, number(64, 4096, integer=True)),
               "height": (True, number(64, 4096, integer=True)), "frames": (False, number(1, 400, integer=True)),
               "seed": (False, number(1, 1_000_000, integer=True)), "enhance_prompt": (False, flag),
               "motion_id": (False, text), "steps": (False, number(1, 100, integer=True))}
SOUL_V2 = {"model": (True, one_of("soul_v2")), "prompt": (True, text), "quality": (True, one_of("720p", "1080p")),
           "aspect_ratio": (True, one_of(*ASPECTS)), "width": (True, number(64, 4096, integer=True)),
           "height": (True, number(64, 4096, integer=True)), "batch_size": (True, one_of(1, 4)),
           "seed": (False, number(1, 1_000_000, integer=True)), "enhance_prompt": (False, flag),
           "style_strength": (False, number(0, 1)), "medias": (False, lambda v: None if isinstance(v, list) else
                                                                ("list_type", "Input should be a valid list"))}
GENERIC_IMAGE = {"prompt": (True, text), "width": (True, number(64, 4096, integer=True)),
                 "height": (True, number(64, 4096, integer=True)), "batch_size": (False, one_of(1, 2, 3, 4)),
                 "seed": (False, number(1, 1_000_000, integer=True))}
MODELS = {"text2image-soul": ("text2image_soul", SOUL), "image2video": ("image2video", IMAGE2VIDEO),
          "nano-banana-2": ("nano_banana_2", GENERIC_IMAGE), "flux-2": ("flux_2", GENERIC_IMAGE),
          "seedream": ("seedream", GENERIC_IMAGE)}
V2_TYPES = {"text2image_soul_v2": SOUL_V2}  # POST /jobs/v2/{job_set_type}
PRICES = {"text2image_soul": {"720p": 1.5, "1080p": 3.0}, "text2image_soul_v2": {"720p": 2.0, "1080p": 3.0},
          "image2video": 6.0}
DEFAULT_PRICE = 2.0
WORKSPACE = "workspace_simulated"
HOUR = 3600.0
# The account's past work, made when the history is first asked for: (hours ago, type, params, outcome).
HISTORY = [
    (30, "text2image_soul", {"prompt": "a paper boat on a rain puddle, macro", "quality": "720p",
                             "aspect_ratio": "3:4", "width": 1152, "height": 1536, "batch_size": 1, "seed": 4711,
                             "enhance_prompt": False, "steps": 50, "version": 3}, "completed"),
    (29, "image2video", {"prompt": "the boat drifts slowly towards the drain", "model": "lite", "frames": 85,
                         "input_image": {"id": "media-history-1", "type": "media_input",
                                         "url": "https://d2ol7oe51mr4n9.cloudfront.net/user_sim/media-history-1.png"},
                         "width": 1152, "height": 1536, "seed": 88, "steps": 30}, "completed"),
    (26, "text2image_soul_v2", {"model": "soul_v2", "prompt": "a tram in fog at night, sodium lights",
                                "quality": "720p", "aspect_ratio": "16:9", "width": 1536, "height": 864,
                                "batch_size": 1, "seed": 120, "medias": []}, "completed"),
    (20, "text2image_soul", {"prompt": "simulate-failure: a glass city", "quality": "720p", "aspect_ratio": "1:1",
                             "width": 1152, "height": 1152, "batch_size": 1}, "failed"),
    (8, "nano_banana_2", {"prompt": "a ceramic fox on a bookshelf", "width": 1024, "height": 1024,
                          "aspect_ratio": "1:1", "batch_size": 1, "resolution": "2k"}, "completed"),
]


@dataclass
class FnfState:
    tokens: list = field(default_factory=lambda: ["fnf-demo-token"])
    credits: float = 500.0
    has_unlim: bool = False
    media: dict = field(default_factory=dict)  # id → {"content_type", "data", "uploaded", "confirmed"}
    history: list = field(default_factory=list)  # request ids of the past work made for /project


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

    def create_job(request, job_type, params, body):
        """Charge and make one job set (the answer is the caller's: v1-style or v2)."""
        unlim = bool(body.get("use_unlim")) and state.has_unlim
        cost = 0.0 if unlim else price(job_type, params)
        with sim.lock:
            if state.credits < cost:
                return None, detail("Not enough credits", 403)
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
        job = Job(request_id=str(uuid.uuid4()), model_id=job_type, account="fnf", payload=params,
                  origin=request.origin, created=sim.now(), outcome=outcome, error=error, kind=outputs[0][0],
                  outputs=outputs, surface="fnf", extra=extra)
        return sim.add_job(job), None

    def checked(request, spec):
        """(params, body) of a valid submit, or (None, the refusal)."""
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("params"), dict):
            return None, detail([{"type": "missing", "loc": ["body", "params"], "msg": "Field required",
                                  "input": body}], 422)
        params = body["params"]
        errors = check_fields(params, spec)
        frame = params.get("input_image")
        if spec is IMAGE2VIDEO and not errors and not uploaded(state, frame.get("id")):
            errors.append({"type": "value_error", "loc": ["body", "params", "input_image", "id"],
                           "msg": "Media not found: upload it through /media and confirm it first", "input": frame})
        return (None, detail(errors, 422)) if errors else (body, None)

    @router.route("POST", PREFIX + r"/jobs/(?P<model>[a-z0-9\-]+)")
    def submit(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("submit"):
            return fault
        if request.params["model"] not in MODELS:
            return detail("Not Found", 404)
        job_type, spec = MODELS[request.params["model"]]
        body, refusal = checked(request, spec)
        if refusal:
            return refusal
        job, refusal = create_job(request, job_type, body["params"], body)
        return refusal or json_response(jobset_body(sim, job, web_app=True))

    @router.route("POST", PREFIX + r"/jobs/v2/(?P<job_set_type>[a-z0-9_]+)")
    def submit_v2(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("submit"):
            return fault
        spec = V2_TYPES.get(request.params["job_set_type"])
        if spec is None:
            return detail("Not Found", 404)
        body, refusal = checked(request, spec)
        if refusal:
            return refusal
        job, refusal = create_job(request, request.params["job_set_type"], body["params"], body)
        if refusal:
            return refusal
        return json_response({"id": WORKSPACE, "job_sets": [
            {"id": job.request_id, "jobs": [{"id": job_id} for job_id in job_ids(job)]}]})

    @router.route("GET", PREFIX + r"/project")
    def project(request):
        if not authorised(request):
            return refused()
        if fault := sim.fault_response("status"):
            return fault
        size = request.query.get("size") or request.query.get("limit") or "12"
        offset = request.query.get("offset") or "0"
        for name, value, high in (("size", size, 100), ("offset", offset, 1_000_000)):
            if not value.isdigit() or not (name == "offset" or int(value) >= 1) or int(value) > high:
                return detail([{"type": "int_parsing", "loc": ["query", name], "input": value,
                                "msg": f"Input should be a whole number up to {high}"}], 422)
        make_history(sim, state, request.origin)
        types = set(request.query_lists.get("job_set_type", []))
        with sim.lock:
            jobs = [job for job in sim.jobs.values() if job.surface == "fnf" and not job.deleted
                    and (not types or job.extra.get("type") in types)]
        jobs.sort(key=lambda job: job.created, reverse=True)
        page = jobs[int(offset):int(offset) + int(size)]
        for job in page:
            settle(sim, job, state)
        return json_response({"job_sets": [{**jobset_body(sim, job, web_app=True), "params": job.payload}
                                           for job in page]})


def uploaded(state, media_id):
    item = state.media.get(str(media_id or ""))
    return bool(item and item["data"] and item["confirmed"])


def make_history(sim, state, origin):
    """The account's past work (HISTORY), made once, finished long ago and kept."""
    with sim.lock:
        if state.history:
            return
        for hours, job_type, params, outcome in HISTORY:
            if job_type == "image2video":
                outputs = [("video", 640, 360, 0)]
            else:
                outputs = [("image", params["width"], params["height"], i) for i in range(params["batch_size"])]
            job = Job(request_id=str(uuid.uuid4()), model_id=job_type, account="fnf", payload=params, origin=origin,
                      created=sim.now() - hours * HOUR, outcome=outcome,
                      error="Generation failed (simulated)." if outcome == "failed" else "", kind=outputs[0][0],
                      outputs=outputs, surface="fnf", expires_after=10 * 365 * 24 * HOUR,
                      extra={"type": job_type, "cost": 0.0, "seconds": 3})
            sim.add_job(job)
            state.history.append(job.request_id)


def own_image(state, reference):
    """The start frame when it was uploaded here; otherwise a generated one stands in."""
    media_id = str(reference.get("id") or reference.get("url", "").rsplit("/", 1)[-1].split(".")[0])
    item = state.media.get(media_id)
    return open_image(item["data"]) if item and item["data"] else None
