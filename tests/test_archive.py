"""Saving an output: what a file must be to be kept, and what is recorded about it. Files are
served over https from a made-up CDN host (tests/cdn.py), as the provider's CDN would serve them."""

import hashlib
import io

import pytest
from PIL import Image

from generations import archive
from generations.higgsfield.errors import DownloadRefused
from generations.models import Generation, Output
from tests.cdn import Files

HOST = "outputs.cdn-test.example"


@pytest.fixture
def files(settings, tmp_path, cdn, test_ca):
    """An https file server for a CDN host name the app has never heard of."""
    served = Files(test_ca, [HOST])
    cdn.add(HOST, served.port)
    served.url = f"https://{HOST}"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    yield served
    served.close()


def picture(size, fmt, **options):
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def output_for(alice, project, url, kind="image"):
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "a kite"}, status="completed")
    return Output.objects.create(generation=generation, kind=kind, provider_url=url)


def test_a_png_is_kept_byte_for_byte_with_its_size_hash_and_a_thumbnail(files, alice, project):
    body = picture((1152, 1152), "PNG", compress_level=1)
    output = output_for(alice, project, files.add(HOST, "/a.png", body, "image/png"))
    archive.archive_output(output)
    output.refresh_from_db()
    assert output.file.read() == body and output.file.name.endswith(".png")
    assert (output.width, output.height, output.size) == (1152, 1152, len(body))
    assert output.sha256 == hashlib.sha256(body).hexdigest()
    assert output.content_type == "image/png" and output.archived_at
    thumb = Image.open(output.thumbnail)
    assert (thumb.format, thumb.size) == ("WEBP", (512, 512))


def test_a_large_jpeg_records_its_full_size_though_its_thumbnail_comes_from_a_reduced_decode(files, alice,
                                                                                             project):
    body = picture((4000, 2667), "JPEG", quality=90)  # decoded at half scale (2000 × 1333) for the thumbnail
    files.declare_length = False  # streamed to the end, as a CDN may send it
    output = output_for(alice, project, files.add(HOST, "/b.jpg", body, "application/octet-stream"))
    archive.archive_output(output)
    output.refresh_from_db()
    assert (output.width, output.height) == (4000, 2667)
    assert output.content_type == "image/jpeg" and output.file.name.endswith(".jpg")
    assert output.sha256 == hashlib.sha256(body).hexdigest()
    width, height = Image.open(output.thumbnail).size
    assert width == 512 and abs(height - 341) <= 1  # within a pixel of the full image's proportions


def test_the_content_check_decodes_a_jpeg_completely_even_when_reduced(files, alice, project):
    body = picture((4000, 2667), "JPEG", quality=90)
    output = output_for(alice, project, files.add(HOST, "/e.jpg", body[: len(body) * 3 // 4], "image/jpeg"))
    with pytest.raises(DownloadRefused, match="not a valid image"):
        archive.archive_output(output)


def damaged_png():
    body = bytearray(picture((300, 200), "PNG"))
    body[body.index(b"IDAT") + 40] ^= 0xFF  # a pixel byte changed: the chunk's checksum no longer matches
    return bytes(body)


@pytest.mark.parametrize("body", [
    picture((2400, 1600), "JPEG")[:20_000],  # cut off mid-download
    damaged_png(),
    b"<html>Access denied</html>",
    picture((64, 64), "BMP"),  # an image, but not a type an output may be
], ids=["truncated jpeg", "damaged png", "html", "bmp"])
def test_a_file_that_is_not_a_whole_image_of_an_accepted_type_is_refused(files, alice, project, tmp_path, body):
    output = output_for(alice, project, files.add(HOST, "/c.png", body, "image/png"))
    with pytest.raises(DownloadRefused, match="not a valid image"):
        archive.archive_output(output)
    output.refresh_from_db()
    assert not output.file and not output.archived_at
    assert list((tmp_path / "spool").iterdir()) == []  # the temporary copy is gone too


def test_a_download_over_the_limit_is_refused_even_without_a_declared_length(files, alice, project, settings,
                                                                            tmp_path):
    settings.MAX_DOWNLOAD_BYTES = 50_000
    files.declare_length = False
    output = output_for(alice, project, files.add(HOST, "/d.png", picture((1024, 1024), "PNG", compress_level=0),
                                                  "image/png"))
    with pytest.raises(DownloadRefused, match="larger than 50000 bytes"):
        archive.archive_output(output)
    assert list((tmp_path / "spool").iterdir()) == []
