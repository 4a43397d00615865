"""Inputs members upload, checked by what they contain (never by their name) and
re-encoded before they are stored, so only clean pixels or a real audio file reach the provider."""

import io
import warnings

import mutagen
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from generations.models import Output, Upload

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# What each accepted format is stored as (GIF keeps its first frame only).
STORED_AS = {"JPEG": ("JPEG", "image/jpeg", "jpg"), "PNG": ("PNG", "image/png", "png"),
             "WEBP": ("WEBP", "image/webp", "webp"), "GIF": ("PNG", "image/png", "png")}
AUDIO_TYPES = {"WAVE": ("audio/wav", "wav"), "MP3": ("audio/mpeg", "mp3")}


def _megabytes(size):
    return f"{size / 1024 / 1024:.0f} MB"


def _read(file):
    limit = settings.UPLOAD_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise ValidationError(f"This file is larger than {_megabytes(limit)}.")
    file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(f"This file is larger than {_megabytes(limit)}.")
    if not data:
        raise ValidationError("The file is empty.")
    return data


def _open(data, formats=IMAGE_FORMATS):
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return Image.open(io.BytesIO(data), formats=formats)


def _names(formats):
    names = [{"WEBP": "WebP"}.get(f, f) for f in formats]
    return ", ".join(names[:-1]) + " or " + names[-1]


def clean_image(file, formats=IMAGE_FORMATS):
    """(bytes, content_type, extension, width, height) of a re-encoded image, or ValidationError.
    The pixels are decoded and saved again (turned upright, without EXIF: no GPS, no camera serial)."""
    data = _read(file)
    not_image = ValidationError(f"This is not a {_names(formats)} image (or it is damaged).")
    try:
        image = _open(data, formats)
        width, height = image.size
        if width * height > settings.UPLOAD_MAX_PIXELS:
            raise ValidationError(f"This image is {width} × {height} pixels; the limit is "
                                  f"{settings.UPLOAD_MAX_PIXELS / 1_000_000:.0f} megapixels.")
        image.verify()
        # verify() leaves the image unusable: open again and decode every pixel.
        image = _open(data, formats)
        source_format = image.format
        image.load()
        image = ImageOps.exif_transpose(image)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(f"This image is too large; the limit is "
                              f"{settings.UPLOAD_MAX_PIXELS / 1_000_000:.0f} megapixels.")
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for damaged input
        raise not_image
    target, content_type, extension = STORED_AS[source_format]
    if target == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif target != "JPEG" and image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    image.save(out, target, **({"quality": 95} if target in ("JPEG", "WEBP") else {}))
    return out.getvalue(), content_type, extension, image.width, image.height


def clean_audio(file):
    """(bytes, content_type, extension) of a WAV or MP3 file, or ValidationError."""
    data = _read(file)
    refused = ValidationError("This is not a WAV or MP3 audio file (or it is damaged).")
    looks_like = data[:4] == b"RIFF" and data[8:12] == b"WAVE" or data[:3] == b"ID3" or (
        data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    if not looks_like:
        raise refused
    try:
        audio = mutagen.File(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - mutagen raises per-format errors
        raise refused
    kind = type(audio).__name__ if audio is not None else ""
    if kind not in AUDIO_TYPES or not getattr(audio.info, "length", 0):
        raise refused
    content_type, extension = AUDIO_TYPES[kind]
    return data, content_type, extension


def store(file, kind, owner):
    """Check an uploaded file and keep it as an Upload; raises ValidationError."""
    if kind == Upload.Kind.AUDIO:
        data, content_type, extension = clean_audio(file)
        width = height = None
    else:
        data, content_type, extension, width, height = clean_image(file)
    upload = Upload(owner=owner, kind=kind, content_type=content_type, size=len(data), width=width,
                    height=height, original_name=(file.name or "")[:255])
    upload.file.save(f"input.{extension}", ContentFile(data), save=False)
    upload.save()
    return upload


def from_output(output, owner):
    """An archived gallery image offered to the provider as an input (e.g. a start frame)."""
    if output.kind != Output.Kind.IMAGE or not output.is_archived:
        raise ValidationError("That gallery item has no saved image yet.")
    with output.file.open("rb") as handle:
        data = handle.read()
    return store(ContentFile(data, name=f"gallery-{output.pk}.png"), Upload.Kind.IMAGE, owner)
