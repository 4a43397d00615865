"""What every surface must survive, driven over real HTTP against the simulator:
429 with Retry-After, 5xx then success, and outputs that expire."""

import pytest

from generations import higgsfield
from tests import cdn
from tests.conftest import SIM_KEY, SIM_SECRET

SURFACES = {
    "model_api": lambda url: (higgsfield.Connection("model_api", url, SIM_KEY, SIM_SECRET),
                              "higgsfield-ai/soul/standard", {"prompt": "a kite", "aspect_ratio": "1:1"}),
    "v1": lambda url: (higgsfield.Connection("v1", url, SIM_KEY, SIM_SECRET), "v1/text2image/soul",
                       {"prompt": "a kite", "width_and_height": "1536x1536", "quality": "720p"}),
    "fnf": lambda url: (higgsfield.Connection("fnf", url + "/fnf", "", "fnf-demo-token"), "jobs/text2image-soul",
                        {"prompt": "a kite", "quality": "720p", "aspect_ratio": "1:1", "width": 1152,
                         "height": 1152}),
    "pixazo": lambda url: (higgsfield.Connection("pixazo", url + "/pixazo", "", "pixazo-demo-key"), "generateSoul",
                           {"prompt": "a kite", "width_and_height": "1536x1536"}),
}


@pytest.fixture(params=list(SURFACES))
def surface(request, simulator):
    conn, path, body = SURFACES[request.param](simulator.url)
    return simulator, conn, path, body


def test_a_429_on_submit_carries_retry_after(surface):
    simulator, conn, path, body = surface
    simulator.config.faults["submit_429_burst"] = 1
    with pytest.raises(higgsfield.RateLimited) as info:
        higgsfield.submit(conn, path, body)
    assert info.value.retry_after == 1
    assert higgsfield.submit(conn, path, body).request_id  # the next try goes through


def test_5xx_on_status_then_success(surface, monkeypatch):
    simulator, conn, path, body = surface
    monkeypatch.setattr("time.sleep", lambda s: None)
    receipt = higgsfield.submit(conn, path, body)
    simulator.config.faults["status_5xx_burst"] = 2  # the client's own retries ride it out
    simulator.advance_clock(10)
    assert higgsfield.status(conn, receipt.request_id).status == "completed"
    assert simulator.config.faults["status_5xx_burst"] == 0


def test_outputs_stop_working_after_they_expire(surface):
    simulator, conn, path, body = surface
    receipt = higgsfield.submit(conn, path, body)
    simulator.advance_clock(10)
    result = higgsfield.status(conn, receipt.request_id)
    url = result.outputs[0].url
    assert cdn.get(url).status_code == 200
    simulator.advance_clock(simulator.config.retention_seconds + 60)
    assert cdn.get(url).status_code == 404
