"""Checking uploaded photos by their content, and re-encoding them so that what we keep
(and show the provider) is a clean image, whatever the upload claimed to be."""

import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_PHOTOS = 100


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_photo(upload):
    """Validate one uploaded file and return it re-encoded; raise ValidationError."""
    name = getattr(upload, "name", "photo")
    if upload.size > MAX_BYTES:
        raise ValidationError(f"{name}: larger than 10 MB.")
    raw = upload.read()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format
            if fmt not in ALLOWED_FORMATS:
                raise ValidationError(f"{name}: only JPEG, PNG and WebP photos are accepted.")
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError(f"{name}: more than 40 megapixels.")
            probe.verify()
        # verify() leaves the image unusable; open again to decode the pixels for real.
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            return _reencode(image, fmt)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise ValidationError(f"{name}: not a readable image.")


def _reencode(image, fmt):
    buffer = io.BytesIO()
    if fmt == "PNG":
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(buffer, "PNG", optimize=False)
    elif fmt == "WEBP":
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(buffer, "WEBP", quality=92)
    else:
        image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=92)  # no EXIF carried over: no GPS, no camera serials
    content_type, extension = ALLOWED_FORMATS[fmt]
    return CleanPhoto(buffer.getvalue(), content_type, extension, image.width, image.height)
