"""DoP motions as the service behaves: the live Model API answers 500 to any non-empty
`motions` on DoP (PROTOCOL.md §3.2, §10.9), so the studio offers motion presets only where they
work, on the v1 DoP route."""

import httpx
import pytest

from generations import catalogue
from tests.sim_support import new_account, start_simulator

GENERAL = "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a"


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator()
    yield sim
    sim.server.stop()


@pytest.mark.parametrize("model", ["higgsfield-ai/dop/lite", "higgsfield-ai/dop/turbo", "higgsfield-ai/dop/standard"])
def test_the_simulator_answers_500_to_model_api_dop_with_motions_and_charges_nothing(sim, model):
    conn = new_account(sim)
    headers = {"Authorization": f"Key {conn.key_id}:{conn.key_secret}"}
    body = {"prompt": "push in", "image_url": f"{sim.url}/_files/x.png"}
    failed = httpx.post(f"{sim.url}/{model}", json=body | {"motions": [{"id": GENERAL, "strength": 0.5}]},
                        headers=headers)
    assert failed.status_code == 500
    assert sim.balance(conn.key_id) == sim.config.starting_credits
    assert httpx.post(f"{sim.url}/{model}", json=body | {"motions": []}, headers=headers).status_code == 200
    assert httpx.post(f"{sim.url}/{model}", json=body, headers=headers).status_code == 200


def test_v1_dop_still_takes_motions(sim):
    conn = new_account(sim)
    params = {"model": "dop-lite", "prompt": "push in", "motions": [{"id": GENERAL, "strength": 0.5}],
              "input_images": [{"type": "image_url", "image_url": f"{sim.url}/_files/x.png"}]}
    answer = httpx.post(f"{sim.url}/v1/image2video/dop", json={"params": params},
                        headers={"hf-api-key": conn.key_id, "hf-secret": conn.key_secret})
    assert answer.status_code == 200


def test_motions_are_offered_on_v1_dop_only(client, alice, project):
    for model in catalogue.all_models():
        if model.family == "dop" and model.surface == "model_api":
            assert not model.has("motions"), model.id
    assert catalogue.get("v1/image2video/dop").has("motions")
    client.force_login(alice)
    lite = client.get("/studio/form/", {"model": "higgsfield-ai/dop/lite"}).content.decode()
    assert "Motion preset" not in lite and 'name="motion"' not in lite
