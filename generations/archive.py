"""Copy finished outputs off the provider before they expire: fetch (guarded),
check the content is what it claims, store privately, make a thumbnail or poster."""

import hashlib
import io
import subprocess
import tempfile
import uuid

import mutagen
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import GifImagePlugin, Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin  # noqa: F401

from generations import uploads
from generations.higgsfield import download
from generations.higgsfield.errors import DownloadRefused
from generations.higgsfield.results import KINDS

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


def sniff_kind(head):
    """image, video or audio from a file's first bytes (its signature), or "" if none of them."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" or head[:3] == b"\xff\xd8\xff" or head[:6] in (b"GIF87a", b"GIF89a") \
            or head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[4:8] == b"ftyp":
        return "video"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE" or head[:3] == b"ID3" or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio"
    return ""


def inspect_audio(path):
    """(extension, content_type) of the WAV or MP3 file at `path`, read through by mutagen."""
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # noqa: BLE001 - mutagen raises per-format errors
        raise DownloadRefused("The downloaded audio is not a valid WAV or MP3 file.") from exc
    kind = type(audio).__name__ if audio is not None else ""
    if kind not in uploads.AUDIO_TYPES or not getattr(audio.info, "length", 0):
        raise DownloadRefused("The downloaded audio is not a valid WAV or MP3 file.")
    content_type, extension = uploads.AUDIO_TYPES[kind]
    return extension, content_type


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
    so not even a large video is held in memory. Whether it is an image, a video or audio is
    decided from its bytes (surfaces label outputs loosely: "image", "image/png",
    "application/octet-stream"), checked as that, and stored on the Output."""
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
        sink = _Hashed(spool)
        content_type = fetch_into(sink, output.provider_url)
        output.size = spool.tell()
        spool.flush()
        spool.seek(0)
        # A file of no known signature is checked as what the provider said, to refuse it plainly.
        output.kind = sniff_kind(spool.read(16)) or (output.kind if output.kind in KINDS else "image")
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
            extension, content_type = inspect_audio(spool.name)
        output.file.save(f"{name}.{extension}", File(spool), save=False)
    output.content_type = content_type
    output.sha256 = sink.sha256.hexdigest()
    output.archived_at = timezone.now()
    output.error = ""
    output.save()
