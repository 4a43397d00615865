"""Inputs are checked by content: bad files get a clear message on their field, and good
ones are re-encoded, kept privately, and offered to the provider under an unguessable URL."""

import io
import struct
import wave
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations import catalogue
from generations.models import Upload

DOP = "higgsfield-ai/dop/lite"


def png_bytes(size=(64, 48)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


def huge_png_header(width=20000, height=20000):
    """A small file that claims to be 20000 × 20000 pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + \
        chunk(b"IEND", b"")


def wav_bytes():
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    return out.getvalue()


def post_dop(client, project, **files):
    values = {"model": DOP, "project": project.pk, "prompt": "slow push in, keep this"}
    values.update(files)
    return client.post("/generations/new/", values, headers={"HX-Request": "true"})


@pytest.mark.parametrize("name, content, message", [
    ("photo.png", b"just some text, renamed", "not a JPEG, PNG, WebP or GIF"),
    ("cut.png", png_bytes()[:60], "not a JPEG, PNG, WebP or GIF"),
    ("huge.png", huge_png_header(), "limit is 40 megapixels"),
])
def test_a_bad_image_gets_a_clear_error_on_its_field_and_the_rest_is_kept(client, alice, project, name, content,
                                                                          message):
    client.force_login(alice)
    html = post_dop(client, project, image_url=SimpleUploadedFile(name, content, "image/png")).content.decode()
    field = html[html.index('data-param="image_url"'):]
    field = field[:field.index('data-param="', 20)]
    assert message in field
    assert "slow push in, keep this" in html
    assert not Upload.objects.exists()


def test_an_oversize_file_is_refused(client, alice, project, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(alice)
    noisy = io.BytesIO()
    Image.effect_noise((200, 200), 50).save(noisy, "PNG")
    html = post_dop(client, project, image_url=SimpleUploadedFile("big.png", noisy.getvalue())).content.decode()
    assert "This file is larger than" in html


def test_a_good_image_is_reencoded_and_kept_when_another_field_is_wrong(client, alice, project):
    client.force_login(alice)
    response = client.post("/generations/new/", {
        "model": DOP, "project": project.pk, "prompt": "", "image_url": SimpleUploadedFile("a.png", png_bytes())},
        headers={"HX-Request": "true"})
    html = response.content.decode()
    upload = Upload.objects.get()
    assert (upload.width, upload.height, upload.content_type) == (64, 48, "image/png")
    # Shown first among the start frame's thumbnails, already chosen.
    field = html[html.index('data-param="image_url"'):]
    assert f'name="image_url__pick" value="upload:{upload.pk}" checked' in field
    # The member fixes the prompt without choosing the file again.
    response = client.post("/generations/new/", {"model": DOP, "project": project.pk, "prompt": "now fixed",
                                                  "image_url__pick": f"upload:{upload.pk}"},
                           headers={"HX-Request": "true"})
    assert "generationCreated" in response["HX-Trigger"]
    generation = alice.generations.get()
    assert generation.params["image_url"] == upload.public_url


def test_someone_elses_kept_upload_is_not_usable(client, alice, bob, project):
    client.force_login(bob)
    post_dop(client, project, prompt="", image_url=SimpleUploadedFile("a.png", png_bytes()))
    token = Upload.objects.get().token
    client.force_login(alice)
    html = post_dop(client, project, image_url__keep=token).content.decode()
    assert "This field is required." in html


def test_uploads_are_private_to_their_owner_and_public_only_by_token(client, alice, bob, project):
    client.force_login(alice)
    post_dop(client, project, prompt="", image_url=SimpleUploadedFile("a.png", png_bytes()))
    upload = Upload.objects.get()
    own = client.get(f"/uploads/{upload.pk}/")
    assert own.status_code == 200 and own["X-Content-Type-Options"] == "nosniff"
    client.force_login(bob)
    assert client.get(f"/uploads/{upload.pk}/").status_code == 404
    client.logout()
    public = client.get(f"/u/{upload.token}/")
    assert public.status_code == 200 and public["Content-Type"] == "image/png"
    assert public["X-Content-Type-Options"] == "nosniff"
    assert client.get("/u/guessed-token/").status_code == 404


def test_speak_takes_a_wav_and_refuses_an_image_as_audio(client, alice, project):
    client.force_login(alice)
    speak = {"model": "v1/speak/higgsfield", "project": project.pk, "prompt": "hello", "quality": "mid",
             "duration": "5", "input_image": SimpleUploadedFile("face.png", png_bytes())}
    html = client.post("/generations/new/", {**speak, "input_audio": SimpleUploadedFile("v.wav", png_bytes())},
                       headers={"HX-Request": "true"}).content.decode()
    assert "not a WAV or MP3" in html
    response = client.post("/generations/new/", {**speak, "input_image": "",
                                                 "input_image__keep": Upload.objects.get().token,
                                                 "input_audio": SimpleUploadedFile("v.wav", wav_bytes())},
                           headers={"HX-Request": "true"})
    assert "generationCreated" in response["HX-Trigger"]
    params = alice.generations.get().params
    assert params["input_audio"]["type"] == "audio_url"
    assert catalogue.get("v1/speak/higgsfield").validate(params) == {}
