"""File uploads (PROTOCOL.md §2.7): `POST /files/generate-upload-url` hands out a
presigned PUT URL on the simulator itself and a public URL that serves the bytes
afterwards, so later jobs can use the file as an input.

    /_upload/{id}?expires=…&signature=…   PUT, no credentials, 1-hour expiry
    /_files/{id}.{ext}                     GET, public
"""

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

from . import schemas
from .server import Response, detail, json_response

EXTENSIONS = {"image/jpeg": "jpeg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp",
              "image/gif": "gif", "audio/wav": "wav", "audio/x-wav": "wav", "video/mp4": "mp4"}
PUBLIC_PATH = re.compile(r"/_files/(?P<upload_id>[0-9a-f-]{36})\.[a-z0-9]+$")
SIGNING_KEY = uuid.uuid4().bytes  # per process: URLs from an earlier run stop working, as presigned ones do


@dataclass
class Upload:
    upload_id: str
    account: str
    content_type: str
    expires: float
    data: bytes | None = None


def content_types():
    return schemas.supplement().get("upload_content_types") or list(EXTENSIONS)


def signature(upload_id, expires):
    return hmac.new(SIGNING_KEY, f"{upload_id}:{int(expires)}".encode(), hashlib.sha256).hexdigest()


def upload_id_from_url(url):
    match = PUBLIC_PATH.search(url or "")
    return match["upload_id"] if match else None


def register(sim):
    router = sim.router

    @router.route("POST", r"/files/generate-upload-url")
    def generate_upload_url(request):
        account = sim.account_for(request)
        if account is None:
            return sim.unauthorized()
        if sim.config.faults.get("upload_unavailable"):
            return detail("Upload service is temporarily unavailable", 503)
        body = request.json()
        content_type = body.get("content_type") if isinstance(body, dict) else None
        allowed = content_types()
        if content_type not in allowed:
            expected = ", ".join(repr(t) for t in allowed)
            return detail([{"type": "enum" if content_type else "missing", "loc": ["body", "content_type"],
                            "msg": f"Input should be {expected}" if content_type else "Field required",
                            "input": content_type}], 422)
        upload = Upload(str(uuid.uuid4()), account, content_type, sim.now() + sim.config.upload_ttl_seconds)
        with sim.lock:
            sim.uploads[upload.upload_id] = upload
        expires = int(upload.expires)
        return json_response({
            "public_url": f"{request.origin}/_files/{upload.upload_id}.{EXTENSIONS.get(content_type, 'bin')}",
            "upload_url": f"{request.origin}/_upload/{upload.upload_id}?expires={expires}"
                          f"&signature={signature(upload.upload_id, expires)}",
            "content_type": content_type,
            "upload_headers": {"Content-Type": content_type, "x-amz-tagging": "retention=temporary"},
        })

    @router.route("PUT", r"/_upload/(?P<upload_id>[0-9a-f-]{36})")
    def put(request):
        # Storage answers in its own words, not the API's {"detail": …} envelope.
        upload = sim.uploads.get(request.params["upload_id"])
        expires = request.query.get("expires", "")
        good = upload is not None and expires.isdigit() and hmac.compare_digest(
            request.query.get("signature", ""), signature(upload.upload_id, int(expires)))
        if not good:
            return Response(403, b"SignatureDoesNotMatch", "text/plain")
        if sim.now() > upload.expires:
            return Response(403, b"Request has expired", "text/plain")
        if "authorization" in request.headers:
            return Response(400, b"Only one auth mechanism allowed", "text/plain")
        if request.headers.get("content-type", "").split(";")[0].strip() != upload.content_type:
            return Response(403, b"Content-Type does not match the signed upload", "text/plain")
        if request.headers.get("x-amz-tagging", "retention=temporary") != "retention=temporary":
            return Response(403, b"x-amz-tagging does not match the signed upload", "text/plain")
        upload.data = request.body
        return Response(200, b"", "text/plain", {"ETag": f'"{hashlib.md5(request.body).hexdigest()}"'})  # noqa: S324

    @router.route("GET", r"/_files/(?P<upload_id>[0-9a-f-]{36})\.(?P<ext>[a-z0-9]+)")
    def public_file(request):
        upload = sim.uploads.get(request.params["upload_id"])
        if upload is None or upload.data is None:
            return detail("Not Found", 404)
        return Response(200, upload.data, upload.content_type, {"Cache-Control": "public, max-age=3600"})
