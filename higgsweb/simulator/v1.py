"""Surface B, the legacy v1 API, at the root of the simulator's origin:
POST /v1/text2image/soul, /v1/image2video/dop (and /v1/image2video), /v1/speak/higgsfield;
GET /v1/job-sets/{id}. Auth `hf-api-key` / `hf-secret` (the Model API key pair).

Also the helpers the other job-set surface (fnf) shares: field checks that answer in
FastAPI's 422 shape, job-set bodies with `results.min/raw`, preview and Speak media.
"""

import hashlib
import io
import logging
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from PIL import Image

from generations import prices

from . import media
from .jobs import SURFACE_NOTIFIERS, Job
from .server import Response, detail, json_response

log = logging.getLogger("higgsweb.simulator")

# The 16 values the live validator accepts (PROTOCOL.md §3.7).
SOUL_SIZES = ["1152x2048", "2048x1152", "2048x1536", "1536x2048", "1344x2016", "2016x1344", "960x1696",
              "1696x960", "1536x1536", "1536x1152", "1152x1536", "1088x1632", "1632x1088", "1120x1680",
              "1680x1120", "2048x2048"]
QUALITY_SCALE = {"720p": 0.75, "1080p": 1.0}  # 1536x1536 @720p → 1152x1152, as in the web app table
DOP_MODELS = ("dop-lite", "dop-turbo", "dop-standard", "dop-preview")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class V1State:
    credits: float | None = None  # None: this surface does not meter credits


# --- field checks (FastAPI / pydantic wording) ------------------------------------

def _choices(values):
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def one_of(*values):
    def check(value):
        if value not in values or isinstance(value, bool):
            return "enum" if all(isinstance(v, str) for v in values) else "literal_error", \
                f"Input should be {_choices(values)}"
        return None
    return check


def number(low=None, high=None, integer=False):
    def check(value):
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            return ("int_type", "Input should be a valid integer") if integer else \
                ("float_type", "Input should be a valid number")
        if low is not None and value < low:
            return "greater_than_equal", f"Input should be greater than or equal to {low}"
        if high is not None and value > high:
            return "less_than_equal", f"Input should be less than or equal to {high}"
        return None
    return check


def text(value):
    return None if isinstance(value, str) else ("string_type", "Input should be a valid string")


def flag(value):
    return None if isinstance(value, bool) else ("bool_type", "Input should be a valid boolean")


def url_object(key):
    def check(value):
        if not isinstance(value, dict) or not isinstance(value.get(key), str) or not value[key]:
            return "model_type", f"Input should be an object with a non-empty {key!r}"
        return None
    return check


def url_objects(key):
    single = url_object(key)

    def check(value):
        if not isinstance(value, list) or not value:
            return "too_short", "List should have at least 1 item after validation"
        return next((problem for problem in map(single, value) if problem), None)
    return check


def check_fields(params, spec, loc=("body", "params")):
    """[{type, loc, msg, input}] for `params` against {name: (required, check)}."""
    errors = []
    for name, (required, check) in spec.items():
        if params.get(name) is None:
            if required:
                errors.append({"type": "missing", "loc": [*loc, name], "msg": "Field required", "input": params})
            continue
        problem = check(params[name]) if check else None
        if problem:
            errors.append({"type": problem[0], "loc": [*loc, name], "msg": problem[1], "input": params[name]})
    return errors


SOUL = {"prompt": (True, text), "width_and_height": (True, one_of(*SOUL_SIZES)),
        "quality": (True, one_of("720p", "1080p")), "batch_size": (False, one_of(1, 4)),
        "enhance_prompt": (False, flag), "style_id": (False, text), "style_strength": (False, number(0, 1)),
        "seed": (False, number(0, 1_000_000, integer=True)), "custom_reference_id": (False, text),
        "custom_reference_strength": (False, number(0, 1)), "image_reference": (False, url_object("image_url"))}
DOP = {"model": (True, one_of(*DOP_MODELS)), "prompt": (True, text),
       "input_images": (True, url_objects("image_url")), "input_images_end": (False, url_objects("image_url")),
       "seed": (False, number(0, 1_000_000, integer=True)), "enhance_prompt": (False, flag)}
SPEAK = {"input_image": (True, url_object("image_url")), "input_audio": (True, url_object("audio_url")),
         "prompt": (True, text), "quality": (False, one_of("mid", "high")), "duration": (False, one_of(5, 10, 15)),
         "enhance_prompt": (False, flag), "seed": (False, number(1, 1_000_000, integer=True))}


# --- media ------------------------------------------------------------------------

def fetch_loopback(url, limit=20_000_000):
    """Bytes of an input URL when it is served on this machine (the simulator or the
    app); anything else is not fetched, and generated media stand in."""
    if not isinstance(url, str) or urlsplit(url).hostname not in LOOPBACK:
        return None
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
            return response.read(limit)
    except (OSError, ValueError):
        return None


def open_image(data):
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image.convert("RGB")
    except Exception:  # anything undecodable means "use a generated picture"
        return None


def video_size(image):
    if image is None:
        return 640, 360
    scale = 640 / max(image.size)
    return int(image.size[0] * scale) // 2 * 2, int(image.size[1] * scale) // 2 * 2


def seed_for(job):
    return job.payload.get("seed") or int(hashlib.sha256(job.request_id.encode()).hexdigest()[:6], 16)


def iso(timestamp):
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def results_for(sim, job):
    """[(kind, raw url, min url)] — min is a small WEBP preview for every kind."""
    raw = sim.output_urls(job)
    previews = sim.output_urls(job, "min")
    found = []
    for (kind, raw_url), (_, min_url), spec in zip(raw, previews, job.outputs, strict=True):
        index = spec[3]
        base = sim.media_base(job.origin)
        if kind != "image":
            min_url = f"{base}/_preview/{job.request_id}/{index}.webp"
        if job.extra.get("speak"):
            raw_url = f"{base}/_speak/{job.request_id}/{index}.mp4"
        found.append((kind, raw_url, min_url))
    return found


def job_ids(job):
    return [str(uuid.uuid5(uuid.UUID(job.request_id), str(spec[3]))) for spec in job.outputs]


def settle(sim, job, wallet):
    """Give the credits back once a job ends failed or nsfw (charged on success only)."""
    status = job.status(sim)
    with sim.lock:
        if status in ("failed", "nsfw") and job.extra.get("cost") and not job.extra.get("refunded"):
            job.extra["refunded"] = True
            if getattr(wallet, "credits", None) is not None:
                wallet.credits += job.extra["cost"]


def jobset_body(sim, job, *, web_app=False):
    """The JobSet both v1 and the web app answer with (`web_app` adds its extra fields)."""
    status = job.status(sim)
    shown = "processing" if web_app and status == "in_progress" else status
    results = results_for(sim, job) if status == "completed" else None
    jobs = []
    for position, job_id in enumerate(job_ids(job)):
        entry = {"id": job_id, "job_set_type": job.extra.get("type", ""), "status": shown, "results": None}
        if results:
            kind, raw_url, min_url = results[position]
            entry["results"] = {"min": {"type": sim.result_type(job, kind, "min"), "url": min_url},
                                "raw": {"type": sim.result_type(job, kind), "url": raw_url}}
        if web_app:
            entry["result"] = {"url": results[position][1]} if results else None
            entry["error"] = (job.error or "Generation failed.") if status == "failed" else None
        jobs.append(entry)
    return {"id": job.request_id, "type": job.extra.get("type", ""), "created_at": iso(job.created),
            "jobs": jobs, "input_params": job.extra.get("input_params", job.payload)}


def _finished_job(sim, request):
    job = sim.get_job(request.params["request_id"])
    if job is None or job.status(sim) != "completed" or sim.now() > job.expires_at(sim):
        return None, None
    index = int(request.params["index"])
    spec = next((o for o in job.outputs if o[3] == index), None)
    return (job, spec) if spec else (None, None)


def speak_video(sim, job, spec):
    key = (job.request_id, spec[3], "speak")
    with sim.lock:
        if key in sim.media_cache:
            return sim.media_cache[key]
    audio = fetch_loopback((job.payload.get("input_audio") or {}).get("audio_url"))
    picture = open_image(fetch_loopback((job.payload.get("input_image") or {}).get("image_url")) or b"")
    seconds = min(4, int(job.payload.get("duration") or 5))
    prompt, seed = str(job.payload.get("prompt", "")), seed_for(job)
    try:
        data = media.render_video(prompt, seed, spec[1], spec[2], seconds=seconds, start_image=picture, audio=audio)
    except subprocess.CalledProcessError:  # the given audio could not be decoded: use a tone
        data = media.render_video(prompt, seed, spec[1], spec[2], seconds=seconds, start_image=picture)
    with sim.lock:
        sim.media_cache[key] = data
    return data


# --- routes -----------------------------------------------------------------------

def state_routes(sim, name, state):
    """GET/POST /_sim/{name}: show or change a surface's own state (credits, keys) as JSON."""
    settable = [key for key in vars(state) if key not in ("media", "history")]

    def show():
        return json_response({key: getattr(state, key) for key in settable})

    @sim.router.route("GET", rf"/_sim/{name}")
    def current(request):
        return show()

    @sim.router.route("POST", rf"/_sim/{name}")
    def change(request):
        changes = request.json() or {}
        unknown = sorted(set(changes) - set(settable))
        if unknown:
            return detail(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(settable)}", 400)
        with sim.lock:
            for key, value in changes.items():
                setattr(state, key, value)
        return show()



def register(sim):
    router = sim.router
    sim.v1 = V1State()
    state_routes(sim, "v1", sim.v1)

    @router.route("GET", r"/_preview/(?P<request_id>[^/]+)/(?P<index>\d+)\.webp")
    def preview(request):
        job, spec = _finished_job(sim, request)
        if job is None:
            return detail("Not Found", 404)
        picture = job.extra.get("start_image") or media.render_image(str(job.payload.get("prompt", "")), seed_for(job),
                                                              spec[1], spec[2], spec[3])
        picture = picture.copy()
        picture.thumbnail((512, 512))
        return Response(200, media.encode_image(picture, "WEBP"), "image/webp")

    @router.route("GET", r"/_speak/(?P<request_id>[^/]+)/(?P<index>\d+)\.mp4")
    def speak_file(request):
        job, spec = _finished_job(sim, request)
        if job is None:
            return detail("Not Found", 404)
        return Response(200, speak_video(sim, job, spec), "video/mp4")

    @router.route("GET", r"/v1/job-sets/(?P<request_id>[^/]+)")
    def job_set(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        if fault := sim.fault_response("status"):
            return fault
        job = sim.get_job(request.params["request_id"], account)
        if job is None or job.surface != "v1":
            return detail("Job set not found", 404)
        settle(sim, job, sim.v1)
        return json_response(jobset_body(sim, job))

    def generate(kind):
        def handler(request):
            account = sim.account_for(request)
            if account is None:
                return sim.unauthorized()
            if fault := sim.fault_response("submit"):
                return fault
            body = request.json()
            if not isinstance(body, dict) or not isinstance(body.get("params"), dict):
                return detail([{"type": "missing", "loc": ["body", "params"], "msg": "Field required",
                                "input": body}], 422)
            params, webhook = body["params"], body.get("webhook")
            errors = check_fields(params, {"soul": SOUL, "dop": DOP, "speak": SPEAK}[kind])
            if webhook is not None:
                errors += check_fields(webhook if isinstance(webhook, dict) else {},
                                       {"url": (True, text), "secret": (False, text)}, ("body", "webhook"))
                url = webhook.get("url") if isinstance(webhook, dict) else None
                if isinstance(url, str) and (refusal := sim.webhook_refusal(url)):
                    errors.append({"type": "value_error", "loc": ["body", "webhook", "url"], "msg": refusal,
                                   "input": url})
            if errors:
                return detail(errors, 422)
            return create_job(sim, request, account, kind, params, webhook or {})
        return handler

    router.add("POST", r"/v1/text2image/soul", generate("soul"))
    router.add("POST", r"/v1/image2video(/dop)?", generate("dop"))
    router.add("POST", r"/v1/speak/higgsfield", generate("speak"))


def create_job(sim, request, account, kind, params, webhook):
    if kind == "soul":
        width, height = (int(v) for v in params["width_and_height"].split("x"))
        scale = QUALITY_SCALE[params["quality"]]
        count = int(params.get("batch_size") or 1)
        outputs = [("image", int(width * scale), int(height * scale), i) for i in range(count)]
        cost = float(prices.list_price("v1/text2image/soul", params))
        extra = {"type": "text2image_soul",
                 "input_params": {**{k: v for k, v in params.items() if k != "width_and_height"},
                                  "width": width, "height": height}}
    elif kind == "dop":
        picture = open_image(fetch_loopback(params["input_images"][0]["image_url"]) or b"")
        outputs = [("video", *video_size(picture), 0)]
        cost = float(prices.list_price("v1/image2video/dop", params, "video"))
        extra = {"type": "image2video", "start_image": picture, "seconds": 3}
    else:
        outputs = [("video", 640, 640, 0)]
        cost = float(prices.list_price("v1/speak/higgsfield", params, "video"))
        extra = {"type": "speak_v2", "speak": True}
    with sim.lock:
        if sim.v1.credits is not None:
            if sim.v1.credits < cost:
                return detail("Not enough credits", 403)
            sim.v1.credits -= cost
    outcome, error = sim.outcome_for(params, request.headers)
    job = Job(request_id=str(uuid.uuid4()), model_id=request.path.strip("/"), account=account, payload=params,
              origin=request.origin, created=sim.now(), outcome=outcome, error=error, kind=outputs[0][0],
              outputs=outputs, webhook_url=str(webhook.get("url") or ""),
              webhook_secret=str(webhook.get("secret") or ""), surface="v1", extra={**extra, "cost": cost})
    sim.add_job(job)
    return json_response(jobset_body(sim, job))


def notify(sim, job):
    settle(sim, job, sim.v1)
    headers = {"X-Webhook-Secret-Key": job.webhook_secret} if job.webhook_secret else {}
    sim.queue_webhook(job.webhook_url, jobset_body(sim, job), headers)


SURFACE_NOTIFIERS["v1"] = notify
