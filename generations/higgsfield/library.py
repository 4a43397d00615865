"""Helper endpoints on the Model API host: Soul ID custom references, Soul style lists
and DoP motion presets (PROTOCOL.md §2.2, §3.4–3.6). None of these are in the OpenAPI,
so every field is read defensively."""

from dataclasses import dataclass, field

from .client import request
from .errors import BadRequest, ConcurrencyLimit, ProviderError
from .model_api import parse_time

TRAINING = ("not_ready", "queued", "in_progress")


class TrainingInProgress(BadRequest):
    """The provider refuses to delete a character that is still training."""

    default_message = ("The provider does not delete a character while it is still training. "
                       "Wait until training has finished (usually a few minutes), then delete it.")


@dataclass(frozen=True)
class CustomReference:
    id: str
    name: str = ""
    status: str = ""
    model_version: str = ""
    thumbnail_url: str = ""
    fail_reason: str = ""
    created_at: object = None
    media_urls: tuple = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_training(self):
        return self.status in TRAINING


@dataclass(frozen=True)
class ReferencePage:
    items: list
    total: int
    page: int
    page_size: int
    total_pages: int


@dataclass(frozen=True)
class Style:
    id: str
    name: str
    description: str = ""
    preview_url: str = ""


@dataclass(frozen=True)
class Motion:
    id: str
    name: str
    description: str = ""
    preview_url: str = ""
    start_end_frame: bool = False


def parse_reference(body):
    media = body.get("reference_media") or []
    return CustomReference(
        id=str(body.get("id", "")), name=str(body.get("name") or ""), status=str(body.get("status") or ""),
        model_version=str(body.get("model_version") or ""), thumbnail_url=str(body.get("thumbnail_url") or ""),
        fail_reason=str(body.get("fail_reason") or ""), created_at=parse_time(body.get("created_at")),
        media_urls=tuple(str(m["media_url"]) for m in media if isinstance(m, dict) and m.get("media_url")),
        raw=body)


def create_reference(conn, name, model_version, image_urls, *, transport=None):
    """Start training a character from public image URLs. Not retried: the provider has
    no idempotency for this call, and a repeat would train (and charge) twice."""
    payload = {"name": name[:100], "model_version": model_version,
               "input_images": [{"type": "image_url", "image_url": url} for url in image_urls]}
    _, body = request(conn, "POST", "/v1/custom-references", json=payload, transport=transport)
    return parse_reference(body)


def get_reference(conn, reference_id, *, transport=None):
    _, body = request(conn, "GET", f"/v1/custom-references/{reference_id}", retries=2, transport=transport)
    return parse_reference(body)


def list_references(conn, page=1, page_size=20, *, transport=None):
    _, body = request(conn, "GET", "/v1/custom-references/list", params={"page": page, "page_size": page_size},
                      retries=2, transport=transport)
    return ReferencePage(items=[parse_reference(item) for item in body.get("items") or []],
                         total=int(body.get("total") or 0), page=int(body.get("page") or page),
                         page_size=int(body.get("page_size") or page_size),
                         total_pages=int(body.get("total_pages") or 0))


def delete_reference(conn, reference_id, *, transport=None):
    """Delete a trained character. A 4xx other than 404 while it trains becomes TrainingInProgress."""
    try:
        request(conn, "DELETE", f"/v1/custom-references/{reference_id}", transport=transport, expect_json=False)
    except ConcurrencyLimit:
        raise
    except ProviderError as exc:
        if exc.status in (400, 409, 423) or (exc.status == 422 and "train" in str(exc.detail).lower()):
            raise TrainingInProgress(status=exc.status, detail=exc.detail,
                                     correlation_id=exc.correlation_id) from exc
        raise
    return True


def _items(body):
    if isinstance(body, dict):  # tolerate an envelope, should the provider add one
        body = body.get("items") or body.get("data") or []
    return [item for item in body or [] if isinstance(item, dict) and item.get("id")]


def soul_styles(conn, version="v1", *, transport=None):
    path = "/v1/text2image/soul-styles" + ("/v2" if version == "v2" else "")
    _, body = request(conn, "GET", path, retries=2, transport=transport)
    return [Style(id=str(item["id"]), name=str(item.get("name") or item["id"]),
                  description=str(item.get("description") or ""), preview_url=str(item.get("preview_url") or ""))
            for item in _items(body)]


def motions(conn, *, transport=None):
    _, body = request(conn, "GET", "/v1/motions", retries=2, transport=transport)
    return [Motion(id=str(item["id"]), name=str(item.get("name") or item["id"]),
                   description=str(item.get("description") or ""), preview_url=str(item.get("preview_url") or ""),
                   start_end_frame=bool(item.get("start_end_frame")))
            for item in _items(body)]
