"""Input files reach the provider: by our public URL when it is public, otherwise copied
through the provider's own upload flow, once."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations import pipeline, tasks, uploads


@pytest.fixture
def start_frame(alice):
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 200, 30)).save(buffer, "PNG")
    return uploads.store(SimpleUploadedFile("frame.png", buffer.getvalue()), "image", alice)


def dop(alice, project, upload):
    return pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/dop/lite",
                          params={"prompt": "slow push-in", "image_url": upload.public_url})


def sent_body(simulator):
    (job,) = simulator.jobs.values()
    return job.payload


def test_a_private_public_url_is_replaced_by_a_provider_copy(alice, project, account, simulator, start_frame,
                                                             settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # the provider could not reach this
    generation = dop(alice, project, start_frame)
    tasks.submit_generation(generation.pk)
    image_url = sent_body(simulator)["image_url"]
    assert image_url.startswith(simulator.url)
    with start_frame.file.open("rb") as fh:
        assert simulator.upload_bytes(image_url) == fh.read()
    generation.refresh_from_db()
    assert generation.params["image_url"] == start_frame.public_url  # what the member chose stays on record
    start_frame.refresh_from_db()
    assert start_frame.provider_url == image_url


def test_the_copy_is_made_once_and_reused(alice, project, account, simulator, start_frame, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    for _ in range(2):
        tasks.submit_generation(dop(alice, project, start_frame).pk)
    assert len(simulator.uploads) == 1
    assert len({job.payload["image_url"] for job in simulator.jobs.values()}) == 1


def test_a_public_address_is_sent_as_it_is(alice, project, account, simulator, start_frame, settings):
    settings.HIGGSFIELD_UPLOAD_INPUTS = "never"
    generation = dop(alice, project, start_frame)
    tasks.submit_generation(generation.pk)
    assert sent_body(simulator)["image_url"] == start_frame.public_url
    assert not simulator.uploads


def test_an_upload_service_outage_keeps_the_job_waiting(alice, project, account, simulator, start_frame,
                                                        settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    simulator.config.faults["upload_unavailable"] = True
    generation = dop(alice, project, start_frame)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "draft" and not simulator.jobs
    simulator.config.faults["upload_unavailable"] = False
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
