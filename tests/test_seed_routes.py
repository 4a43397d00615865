"""The two routes of a published integration guide (shared/seeds/004): a script written from
that document runs against the simulator, and the client reads the answer's shape."""

import io

import httpx
import pytest
from PIL import Image

from generations import higgsfield
from generations.higgsfield import v1
from tests.sim_support import finish, new_account, start_simulator


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator()
    yield sim
    sim.server.stop()


@pytest.fixture
def headers(sim):
    conn = new_account(sim, "v1")
    return {"hf-api-key": conn.key_id, "hf-secret": conn.key_secret}


def jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 30, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_character_is_created_from_a_multipart_photo_as_the_guide_shows(sim, headers):
    answer = httpx.post(f"{sim.url}/api/characters", headers=headers, files={"photo": ("photo.jpg", jpeg())})
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"id", "photo_url", "created_at"}
    assert body["created_at"].endswith("Z")
    photo = httpx.get(body["photo_url"])
    assert photo.status_code == 200 and Image.open(io.BytesIO(photo.content)).format == "JPEG"


def test_a_character_needs_a_photo_and_credentials(sim, headers):
    assert httpx.post(f"{sim.url}/api/characters", files={"photo": ("p.jpg", jpeg())}).status_code == 401
    missing = httpx.post(f"{sim.url}/api/characters", headers=headers, files={"other": ("p.jpg", jpeg())})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "photo"]


def test_generation_results_reports_a_job_as_the_guide_shows_then_the_client_reads_it(sim, headers):
    submitted = httpx.post(f"{sim.url}/v1/text2image/soul", headers=headers, json={"params": {
        "prompt": "A serene mountain landscape at sunset", "width_and_height": "1696x960", "quality": "1080p",
        "batch_size": 1}})
    job_set = submitted.json()
    for wanted in (job_set["id"], job_set["jobs"][0]["id"]):
        early = httpx.get(f"{sim.url}/api/generation-results", params={"id": wanted}, headers=headers).json()
        assert early == {"id": wanted, "status": "pending", "results": [], "retention_expires_at": None}
    finish(sim)
    done = httpx.get(f"{sim.url}/api/generation-results", params={"id": job_set["jobs"][0]["id"]},
                     headers=headers).json()
    assert set(done) == {"id", "status", "results", "retention_expires_at"}
    assert done["status"] == "completed" and done["results"][0]["type"] == "image"
    assert done["retention_expires_at"].endswith("Z")
    result = v1.parse_status(done)
    assert result.status == "completed" and result.outputs[0].url == done["results"][0]["url"]
    assert result.expires_at is not None
    conn = higgsfield.Connection("v1", sim.url, headers["hf-api-key"], headers["hf-secret"])
    assert v1.generation_results(conn, job_set["id"]).outputs[0].kind == "image"
    with pytest.raises(higgsfield.NotFound):
        v1.generation_results(conn, "nope")


def test_the_client_reads_the_guides_example_answer():
    body = {"id": "job_789012", "status": "completed",
            "results": [{"type": "image", "url": "https://cdn.higgsfield.ai/generations/img_123.jpg"}],
            "retention_expires_at": "2023-12-14T10:30:00Z"}
    result = v1.parse_status(body)
    assert (result.request_id, result.status) == ("job_789012", "completed")
    assert [(o.kind, o.url) for o in result.outputs] == [("image", "https://cdn.higgsfield.ai/generations/img_123.jpg")]
    assert result.expires_at.isoformat() == "2023-12-14T10:30:00+00:00"
    for status, normal in (("pending", "queued"), ("processing", "in_progress"), ("failed", "failed")):
        assert v1.parse_status({"id": "j", "status": status, "results": []}).status == normal
