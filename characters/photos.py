"""Character photos: checked by content and re-encoded like every other upload
(generations.uploads), limited to the formats Soul ID training takes."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from generations.uploads import clean_image

FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PHOTOS = 100


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def clean_photo(upload):
    """Validate one uploaded file and return it re-encoded; raise ValidationError naming the file."""
    try:
        return CleanPhoto(*clean_image(upload, formats=FORMATS))
    except ValidationError as exc:
        raise ValidationError(f"{getattr(upload, 'name', 'photo')}: {exc.messages[0]}") from None
