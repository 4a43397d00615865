"""One generation end to end over real HTTP: the app's view, the worker task, the
simulator, its signed webhook into a live server, the archive, the gallery card."""

import time

import pytest
from django.test import Client

from generations.models import Generation


@pytest.mark.slow
def test_a_soul_prompt_ends_as_an_archived_image_in_the_gallery(live_server, simulator, settings,
                                                                  transactional_db, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    client = Client()
    client.force_login(alice)
    response = client.post("/generations/new/", {
        "project": project.pk, "prompt": "an orange tram in the rain", "aspect_ratio": "3:4",
        "resolution": "720p", "batch_size": "1", "seed": "1234"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    generation = Generation.objects.get()
    assert generation.status == "queued"  # the submit task ran (inline here, in the worker in real life)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        generation.refresh_from_db()
        if generation.archived:
            break
        time.sleep(0.1)
    assert generation.archived, f"stuck in {generation.status}"
    assert generation.events.get(to_status="completed").source == "webhook"
    output = generation.outputs.get()
    assert (output.width, output.height) == (1152, 1536)

    card = client.get(f"/g/{generation.pk}/card/", headers={"HX-Request": "true"})
    assert card.status_code == 286
    assert f"/files/{output.pk}/thumb/" in card.content.decode()
    # The simulator logs a delivery once our answer reached it, which can be just after the job was saved.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(status == 200 for url, status, attempt in simulator.delivery_log):
        time.sleep(0.05)
    assert any(status == 200 for url, status, attempt in simulator.delivery_log)
