"""Whether an output is an image, a video or audio is decided from its bytes, whatever the
surface called it: v1 `results.raw.type` may be "image" or a MIME type (seed 004 shows
"image/png"), Pixazo may say "application/octet-stream" about a file named `output.ext`."""

import io
import wave

import pytest
from PIL import Image

from generations import archive, tasks
from generations.higgsfield import pixazo, v1
from generations.models import Generation, Output, ProviderAccount
from tests import cdn as cdn_support
from tests.conftest import SIM_KEY, SIM_SECRET

HOST = "media.kinds-cdn.example"


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def wav():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 8000)
    return buffer.getvalue()


@pytest.fixture
def files(cdn, test_ca, settings, tmp_path):
    served = cdn_support.Files(test_ca, [HOST])
    cdn.add(HOST, served.port)
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    yield served
    served.close()


def stored(alice, project, url, kind):
    generation = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": "x"}, status="completed")
    output = Output.objects.create(generation=generation, kind=kind, provider_url=url)
    archive.archive_output(output)
    output.refresh_from_db()
    return output


def test_a_png_the_provider_called_a_video_is_stored_as_an_image(files, alice, project):
    output = stored(alice, project, files.add(HOST, "/v1/output.ext", png(), "application/octet-stream"), "video")
    assert output.kind == "image" and output.content_type == "image/png" and output.thumbnail


def test_a_wav_behind_an_opaque_name_and_type_is_stored_as_audio(files, alice, project):
    output = stored(alice, project, files.add(HOST, "/p/output.ext", wav(), "application/octet-stream"), "image")
    assert output.kind == "audio" and output.content_type == "audio/wav" and output.file.name.endswith(".wav")


def test_a_file_that_is_neither_is_refused_as_what_the_provider_said(files, alice, project):
    from generations.higgsfield.errors import DownloadRefused

    with pytest.raises(DownloadRefused, match="not an MP4"):
        stored(alice, project, files.add(HOST, "/x", b"<html>Access denied</html>", "text/html"), "video")


@pytest.mark.parametrize("label,url,kind", [
    ("image", "https://cdn.example/a", "image"),
    ("image/png", "https://cdn.example/a", "image"),
    ("video/mp4", "https://cdn.example/a", "video"),
    ("application/octet-stream", "https://cdn.example/a.mp4", "video"),
    ("application/octet-stream", "https://cdn.example/output.ext", "image"),
])
def test_a_job_set_result_type_in_any_documented_form_parses_to_a_kind(label, url, kind):
    body = {"id": "js", "type": "text2image_soul",
            "jobs": [{"id": "j", "status": "completed", "results": {"raw": {"type": label, "url": url}}}]}
    assert v1.parse_status(body).outputs[0].kind == kind


def test_pixazo_octet_stream_falls_back_to_the_extension_then_to_the_bytes():
    body = {"request_id": "r", "status": "COMPLETED",
            "output": {"media_url": ["https://r2.example/v1/r/output.mp4"], "media_type": "application/octet-stream"}}
    assert pixazo.parse_status(body).outputs[0].kind == "video"


def run(generation, simulator):
    tasks.submit_generation(generation.pk)
    simulator.advance_clock(10)
    tasks.poll_generation(generation.pk)
    tasks.archive_outputs(generation.pk)
    generation.refresh_from_db()
    return generation


@pytest.mark.parametrize("result_types", ["kind", "mime", "opaque"])
def test_v1_results_in_each_documented_form_end_in_the_gallery_as_what_they_are(
        simulator, alice, project, client, result_types):
    simulator.config.result_types = result_types
    account = ProviderAccount.objects.create(name="legacy", surface="v1", base_url=simulator.url, key_id=SIM_KEY,
                                             key_secret=SIM_SECRET)
    image = run(Generation.objects.create(
        owner=alice, project=project, model_id="v1/text2image/soul", account=account,
        params={"prompt": "a lamp", "width_and_height": "1536x1536", "quality": "720p"}), simulator)
    assert image.archived and image.outputs.get().kind == "image"
    video = run(Generation.objects.create(
        owner=alice, project=project, model_id="v1/image2video/dop", account=account,
        params={"prompt": "drift", "model": "dop-lite",
                "input_images": [{"type": "image_url", "image_url": f"{simulator.url}/_files/none.png"}]}),
        simulator)
    output = video.outputs.get()
    assert video.archived and output.kind == "video" and output.content_type == "video/mp4"
    client.force_login(alice)
    page = client.get("/").content.decode()
    # The card shows the video's poster frame; it plays in the viewer the poster opens.
    assert f'<a class="result-thumb kind-video" href="/files/{output.pk}/view/"' in page
    assert f'<img src="/files/{output.pk}/thumb/"' in page
    assert f'<img src="/files/{image.outputs.get().pk}/thumb/"' in page
    assert "kind-audio" not in page
    viewer = client.get(f"/files/{output.pk}/view/", headers={"HX-Request": "true"}).content.decode()
    assert f'<video src="/files/{output.pk}/"' in viewer


def test_a_pixazo_output_labelled_octet_stream_is_archived_as_the_image_it_is(simulator, alice, project):
    simulator.config.result_types = "opaque"
    account = ProviderAccount.objects.create(name="pixazo", surface="pixazo", base_url=f"{simulator.url}/pixazo",
                                             key_secret="pixazo-demo-key")
    generation = run(Generation.objects.create(
        owner=alice, project=project, model_id="higgsfield-ai/soul/standard", account=account,
        params={"prompt": "a kite", "aspect_ratio": "1:1", "resolution": "720p"}), simulator)
    output = generation.outputs.get()
    assert output.provider_url.endswith("/output.ext")
    assert generation.archived and output.kind == "image" and output.content_type == "image/png"
