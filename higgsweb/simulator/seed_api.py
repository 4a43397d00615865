"""Two routes a published integration guide documents (shared/seeds/004) beside the v1 API,
answered exactly as it shows so a script written from it runs here:

    POST /api/characters            multipart `photo`, hf-api-key / hf-secret
                                    → {id, photo_url, created_at}
    GET  /api/generation-results?id=…
                                    → {id, status: pending|processing|completed|failed,
                                       results: [{type, url}], retention_expires_at}

`id` is a job-set or request id of this account (any surface), or one job of a v1 job set.
Neither route is in the official references; their status codes are not shown (200 assumed)."""

import io
import uuid
from email.parser import BytesParser
from email.policy import HTTP

from PIL import Image, UnidentifiedImageError

from .server import Response, detail, json_response
from .v1 import iso, job_ids

STATUS = {"queued": "pending", "in_progress": "processing", "completed": "completed", "failed": "failed",
          "nsfw": "failed", "canceled": "failed"}


def form_files(request):
    """{field name: bytes} of a multipart/form-data body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body)
    return {part.get_param("name", header="content-disposition"): part.get_payload(decode=True) or b""
            for part in message.iter_parts()}


def register(sim):
    router = sim.router
    sim.characters = {}  # id → (account, JPEG bytes, created)

    @router.route("POST", r"/api/characters")
    def create_character(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        photo = form_files(request).get("photo")
        if not photo:
            return detail([{"type": "missing", "loc": ["body", "photo"], "msg": "Field required"}], 422)
        try:
            image = Image.open(io.BytesIO(photo))
            image.load()
        except (UnidentifiedImageError, OSError):
            return detail([{"type": "value_error", "loc": ["body", "photo"], "msg": "The photo is not an image"}],
                          422)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=88)
        character_id = str(uuid.uuid4())
        created = sim.now()
        with sim.lock:
            sim.characters[character_id] = (account, buffer.getvalue(), created)
        return json_response({"id": character_id, "created_at": iso(created),
                              "photo_url": f"{sim.media_base(request.origin)}/_media/characters/{character_id}.jpg"})

    @router.route("GET", r"/_media/characters/(?P<character_id>[0-9a-f-]{36})\.jpg")
    def character_photo(request):
        found = sim.characters.get(request.params["character_id"])
        if found is None:
            return detail("Not Found", 404)
        return Response(200, found[1], "image/jpeg")

    @router.route("GET", r"/api/generation-results")
    def generation_results(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        wanted = request.query.get("id", "")
        if not wanted:
            return detail([{"type": "missing", "loc": ["query", "id"], "msg": "Field required"}], 422)
        job, position = find(sim, wanted, account)
        if job is None:
            return detail("Not Found", 404)
        return json_response(results_body(sim, job, position))


def find(sim, wanted, account):
    """(job, index of one output or None) for a request/job-set id or a v1 job's id."""
    job = sim.get_job(wanted, account)
    if job is not None:
        return job, None
    with sim.lock:
        jobs = [job for job in sim.jobs.values() if job.account == account and not job.deleted]
    for job in jobs:
        if job.surface == "v1" and wanted in (ids := job_ids(job)):
            return job, ids.index(wanted)
    return None, None


def results_body(sim, job, position=None):
    status = job.status(sim)
    results = []
    if status == "completed":
        urls = sim.output_urls(job)
        if position is not None:
            urls = urls[position:position + 1]
        results = [{"type": sim.result_type(job, kind), "url": url} for kind, url in urls]
    finished = status in ("completed", "failed", "nsfw", "canceled")
    return {"id": job_ids(job)[position] if position is not None else job.request_id, "status": STATUS[status],
            "results": results, "retention_expires_at": iso(job.expires_at(sim)) if finished else None}
