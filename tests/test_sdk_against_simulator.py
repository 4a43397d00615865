"""The official Python SDK (`higgsfield-client`), pointed at the simulator as
PROTOCOL.md §8.1 describes, works end to end: the simulator is faithful enough
for code written against the real service."""

import io

import httpx
import pytest
from higgsfield_client import Cancelled, Completed, Failed, HiggsfieldClientError, Queued, SyncClient
from PIL import Image

from tests.sim_support import new_account, start_simulator

SOUL = "higgsfield-ai/soul/standard"


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator(queue_seconds=0.1, run_seconds=0.2)
    yield sim
    sim.server.stop()


@pytest.fixture
def client(sim, monkeypatch):
    import higgsfield_client.http.client as sdk_http

    # status(), result() and cancel() build URLs from this module constant, not the client's base_url.
    monkeypatch.setattr(sdk_http, "BASE_URL", sim.url)
    conn = new_account(sim)
    sdk = SyncClient(base_url=sim.url, api_key=f"{conn.key_id}:{conn.key_secret}")
    return sdk


def test_subscribe_submits_polls_and_returns_the_completed_result(sim, client):
    seen, updates = [], []
    result = client.subscribe(SOUL, {"prompt": "a quiet harbour", "resolution": "720p"},
                              on_enqueue=seen.append, on_queue_update=updates.append)
    assert result["status"] == "completed"
    assert seen == [result["request_id"]]
    assert isinstance(updates[-1], Completed)
    image = httpx.get(result["images"][0]["url"])
    assert Image.open(io.BytesIO(image.content)).size == (1536, 1152)


def test_submit_status_and_result_by_request_id(sim, client):
    sim.config.dns["hooks.example"] = ["93.184.216.34"]  # a public https webhook URL, as the service demands
    controller = client.submit(SOUL, {"prompt": "simulate-failure"}, webhook_url="https://hooks.example/h")
    assert controller.status_url.startswith(sim.url)
    result = client.result(controller.request_id)
    assert result["status"] == "failed"
    assert isinstance(client.status(controller.request_id), Failed)
    assert sim.get_job(controller.request_id).webhook_url == "https://hooks.example/h"


def test_cancel_works_while_queued_and_is_refused_after(sim, client):
    sim.config.queue_seconds = 30
    try:
        controller = client.submit(SOUL, {"prompt": "cancel me"})
        assert isinstance(client.status(controller.request_id), Queued)
        client.cancel(controller.request_id)
        assert isinstance(client.status(controller.request_id), Cancelled)
    finally:
        sim.config.queue_seconds = 0.1
    done = client.subscribe(SOUL, {"prompt": "finished"})
    with pytest.raises(HiggsfieldClientError):
        client.cancel(done["request_id"])


def test_upload_returns_a_public_url_serving_the_bytes(sim, client):
    picture = Image.new("RGB", (64, 48), (200, 100, 50))
    url = client.upload_image(picture, format="png")
    served = httpx.get(url)
    assert served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)
    assert client.upload(b"RIFF....WAVE", "audio/wav").endswith(".wav")


def test_the_sdk_retries_a_5xx_burst_and_reports_errors_by_their_detail(sim, client):
    sim.config.faults["submit_5xx_burst"] = 1
    assert client.submit(SOUL, {"prompt": "after a hiccup"}).request_id
    with pytest.raises(HiggsfieldClientError) as info:
        client.submit("no-such/model", {"prompt": "x"})
    assert "not found" in str(info.value)
    bad = SyncClient(base_url=sim.url, api_key="nobody:wrong")
    with pytest.raises(HiggsfieldClientError, match="Invalid credentials"):
        bad.submit(SOUL, {"prompt": "x"})
