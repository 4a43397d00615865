"""Copy finished outputs off the provider before they expire: fetch (guarded),
check the content is what it claims, store privately, make a thumbnail or poster."""

import hashlib
import io
import subprocess
import tempfile
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from generations.higgsfield import download
from generations.higgsfield.errors import DownloadRefused

THUMB_SIZE = (512, 512)
IMAGE_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp"),
                 "GIF": ("gif", "image/gif")}
Image.MAX_IMAGE_PIXELS = 80_000_000


def trusted_origins():
    return [settings.HIGGSFIELD_BASE_URL, settings.SIMULATOR_URL] if settings.USE_SIMULATOR else []


def fetch(url, max_bytes=None):
    """Download a provider file: https hosts on the allow-list (plus the simulator), size-capped."""
    return download.fetch(url, allowed_hosts=settings.HIGGSFIELD_MEDIA_HOSTS, trusted_origins=trusted_origins(),
                          max_bytes=max_bytes or settings.MAX_DOWNLOAD_BYTES)


def thumbnail_bytes(image):
    thumb = image.convert("RGB")
    thumb.thumbnail(THUMB_SIZE)
    buffer = io.BytesIO()
    thumb.save(buffer, "WEBP", quality=82)
    return buffer.getvalue()


def inspect_image(data):
    try:
        with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS))
        image.load()
    except Exception as exc:
        raise DownloadRefused("The downloaded image is not a valid image file.") from exc
    extension, content_type = IMAGE_FORMATS[image.format]
    return image, extension, content_type


def ffmpeg_exe():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def video_poster(data):
    """First frame of an MP4 as WEBP bytes, or raise DownloadRefused if it is not a video."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        raise DownloadRefused("The downloaded video is not an MP4 file.")
    with tempfile.NamedTemporaryFile(suffix=".mp4") as source:
        source.write(data)
        source.flush()
        result = subprocess.run(
            [ffmpeg_exe(), "-v", "error", "-i", source.name, "-frames:v", "1", "-f", "image2pipe",
             "-vcodec", "png", "-"], capture_output=True, timeout=60)
    if result.returncode or not result.stdout:
        raise DownloadRefused("The downloaded video could not be decoded.")
    image = Image.open(io.BytesIO(result.stdout))
    return image, thumbnail_bytes(image)


def archive_output(output):
    """Fetch and store one Output. Raises ProviderError subclasses on failure."""
    data, content_type = fetch(output.provider_url)
    name = uuid.uuid4().hex
    if output.kind == "image":
        image, extension, content_type = inspect_image(data)
        output.width, output.height = image.size
        output.thumbnail.save(f"{name}.webp", ContentFile(thumbnail_bytes(image)), save=False)
    elif output.kind == "video":
        poster, thumb = video_poster(data)
        output.width, output.height = poster.size
        extension, content_type = "mp4", "video/mp4"
        output.thumbnail.save(f"{name}.webp", ContentFile(thumb), save=False)
    else:
        extension = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3"}.get(content_type, "bin")
    output.file.save(f"{name}.{extension}", ContentFile(data), save=False)
    output.content_type = content_type
    output.size = len(data)
    output.sha256 = hashlib.sha256(data).hexdigest()
    output.archived_at = timezone.now()
    output.error = ""
    output.save()
