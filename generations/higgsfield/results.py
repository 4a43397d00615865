"""Normalised results: the rest of the app never knows which surface served a job."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"
NSFW = "nsfw"
CANCELED = "canceled"
TERMINAL = frozenset({COMPLETED, FAILED, NSFW, CANCELED})
KINDS = ("image", "video", "audio")
KIND_FOR_EXTENSION = {"png": "image", "jpg": "image", "jpeg": "image", "webp": "image", "gif": "image",
                      "mp4": "video", "mov": "video", "webm": "video", "wav": "audio", "mp3": "audio"}


def kind_of(label, url="", default="image"):
    """image, video or audio from what a surface says about an output: a kind ("image"), a
    MIME type ("image/png"), or nothing useful ("application/octet-stream"), then the URL's
    extension, then `default`. Provisional: the archive decides from the file's bytes."""
    major = str(label or "").strip().lower().split("/", 1)[0]
    if major in KINDS:
        return major
    extension = urlsplit(url or "").path.rsplit(".", 1)[-1].lower()
    return KIND_FOR_EXTENSION.get(extension, default)


@dataclass(frozen=True)
class Output:
    kind: str  # image | video | audio
    url: str
    preview_url: str | None = None


@dataclass(frozen=True)
class Media:
    """An input file as the provider holds it after its own upload flow: the URL jobs name
    it by, and on surfaces that refer to inputs by id (the web app), that id and its size."""

    url: str
    id: str = ""
    content_type: str = ""
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Receipt:
    request_id: str
    status: str = QUEUED
    status_url: str | None = None
    cancel_url: str | None = None


@dataclass(frozen=True)
class Result:
    request_id: str
    status: str
    outputs: list[Output] = field(default_factory=list)
    error: str = ""
    expires_at: datetime | None = None
    raw: dict = field(default_factory=dict)

    @property
    def is_terminal(self):
        return self.status in TERMINAL


@dataclass(frozen=True)
class Estimate:
    """What a job would cost, from the provider's own price list."""

    credits: Decimal
    usd: Decimal


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the provider's model list."""

    slug: str
    title: str = ""
    description: str = ""
    output_type: str = ""  # image | video
    operation_type: str = ""  # text2image, image_edit, text2video, image2video, video2video…
