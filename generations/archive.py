"""Copy finished outputs off the provider before they expire: fetch (guarded),
check the content is what it claims, store privately, make a thumbnail or poster."""

import hashlib
import io
import subprocess
import tempfile
import uuid

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

from generations.higgsfield import download
from generations.higgsfield.errors import DownloadRefused

THUMB_SIZE = (512, 512)
# Resize a full image to its thumbnail by a whole factor first, then bicubic over at least
# this ratio: 1152 px → 576 → 512 (Pillow's default, 2.0, resamples all of 1152 → 512; the
# difference is under 0.1/255 per pixel and the resize takes half the time).
REDUCING_GAP = 1.1
IMAGE_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp"),
                 "GIF": ("gif", "image/gif")}
Image.MAX_IMAGE_PIXELS = 80_000_000


def media_policy(max_bytes=None):
    """Where provider files may be fetched from (download.Policy), from settings."""
    return download.Policy(max_bytes=max_bytes or settings.MAX_DOWNLOAD_BYTES,
                           hosts=tuple(settings.HIGGSFIELD_MEDIA_HOSTS),
                           allow_local=settings.HIGGSFIELD_ALLOW_LOCAL_MEDIA)


def fetch(url, max_bytes=None):
    """Download a provider file into memory: any https host that resolves only to public
    addresses (narrowed by HIGGSFIELD_MEDIA_HOSTS), size-capped. For small files; outputs go
    through fetch_into."""
    return download.fetch(url, media_policy(max_bytes))


def fetch_into(sink, url, max_bytes=None):
    """fetch, streamed into `sink` as it arrives; returns the content type."""
    return download.fetch_into(sink, url, media_policy(max_bytes))


def thumbnail_bytes(image):
    """A WEBP of the image fitted into THUMB_SIZE. An RGB image is resized as it is (no
    full-size copy), first by a whole factor (reduce), then bicubic for the rest."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    scale = min(THUMB_SIZE[0] / width, THUMB_SIZE[1] / height, 1)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = image if size == image.size else image.resize(size, Image.Resampling.BICUBIC,
                                                          reducing_gap=REDUCING_GAP)
    buffer = io.BytesIO()
    thumb.save(buffer, "WEBP", quality=82)
    return buffer.getvalue()


def _open_checked(source, draft=None):
    """Open `source` (bytes or a binary file) as one of IMAGE_FORMATS and check all of it:
    its structure and checksums (verify), then every pixel decoded. Returns the decoded
    image and its size as stored. With `draft`, a JPEG is decoded straight at the smallest
    scale that still covers that size; every block of the file is still read, so a
    damaged or truncated one fails just the same."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with Image.open(stream, formats=list(IMAGE_FORMATS)) as probe:
            probe.verify()
        stream.seek(0)
        image = Image.open(stream, formats=list(IMAGE_FORMATS))
        size = image.size
        if draft:
            image.draft(None, draft)
        image.load()
    except Exception as exc:
        raise DownloadRefused("The downloaded image is not a valid image file.") from exc
    return image, size


def inspect_image(source):
    """Check that `source` (bytes or a binary file) is a whole image of an accepted type.
    Returns (decoded image, extension, content_type)."""
    image, _ = _open_checked(source)
    extension, content_type = IMAGE_FORMATS[image.format]
    return image, extension, content_type


def inspect_and_thumbnail(source):
    """inspect_image for a file kept as it is plus a thumbnail: returns ((width, height),
    extension, content_type, thumbnail WEBP bytes), and lets go of the pixels."""
    image, size = _open_checked(source, draft=(THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))
    with image:
        extension, content_type = IMAGE_FORMATS[image.format]
        return size, extension, content_type, thumbnail_bytes(image)


def ffmpeg_exe():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def video_poster(path):
    """First frame of the MP4 at `path`, as (image, WEBP bytes); DownloadRefused if it is not one."""
    with open(path, "rb") as source:
        head = source.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise DownloadRefused("The downloaded video is not an MP4 file.")
    result = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", path, "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"],
        capture_output=True, timeout=60)
    if result.returncode or not result.stdout:
        raise DownloadRefused("The downloaded video could not be decoded.")
    image = Image.open(io.BytesIO(result.stdout))
    return image, thumbnail_bytes(image)


class _Hashed:
    """A file to write a download into, hashing it on the way."""

    def __init__(self, file):
        self.file, self.sha256 = file, hashlib.sha256()

    def write(self, chunk):
        self.sha256.update(chunk)
        self.file.write(chunk)


def archive_output(output):
    """Fetch and store one Output. Raises ProviderError subclasses on failure. The download
    goes to a temporary file, hashed as it arrives, and is copied into storage from there,
    so not even a large video is held in memory."""
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        sink = _Hashed(spool)
        content_type = fetch_into(sink, output.provider_url)
        output.size = spool.tell()
        spool.flush()
        spool.seek(0)
        name = uuid.uuid4().hex
        if output.kind == "image":
            (output.width, output.height), extension, content_type, thumb = inspect_and_thumbnail(spool)
            output.thumbnail.save(f"{name}.webp", ContentFile(thumb), save=False)
        elif output.kind == "video":
            poster, thumb = video_poster(spool.name)
            output.width, output.height = poster.size
            extension, content_type = "mp4", "video/mp4"
            output.thumbnail.save(f"{name}.webp", ContentFile(thumb), save=False)
        else:
            extension = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3"}.get(content_type, "bin")
        output.file.save(f"{name}.{extension}", File(spool), save=False)
    output.content_type = content_type
    output.sha256 = sink.sha256.hexdigest()
    output.archived_at = timezone.now()
    output.error = ""
    output.save()
