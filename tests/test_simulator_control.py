"""The simulator's /_sim/ page and JSON endpoints show and change its state."""

import httpx
import pytest

from generations import higgsfield
from tests.sim_support import new_account, start_simulator


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator()
    yield sim
    sim.server.stop()


def test_the_page_lists_jobs_balances_and_switches(sim):
    conn = new_account(sim)
    receipt = higgsfield.submit(conn, "higgsfield-ai/soul/standard", {"prompt": "shown"})
    page = httpx.get(f"{sim.url}/_sim/")
    assert page.status_code == 200
    assert receipt.request_id in page.text
    assert conn.key_id in page.text
    assert "webhook_duplicate" in page.text and "concurrency_mode" in page.text


def test_a_form_post_flips_fault_switches_and_settings(sim):
    response = httpx.post(f"{sim.url}/_sim/config", data={"form": "faults", "webhook_drop": "on",
                                                          "submit_5xx_burst": "2"})
    assert response.status_code == 303
    assert sim.config.faults["webhook_drop"] is True
    assert sim.config.faults["submit_5xx_burst"] == 2
    httpx.post(f"{sim.url}/_sim/config", data={"form": "faults", "submit_5xx_burst": "0"})
    assert sim.config.faults["webhook_drop"] is False
    httpx.post(f"{sim.url}/_sim/config", data={"concurrency_mode": "queue", "blocked_models": "reve/edit, nano-banana"})
    assert sim.config.concurrency_mode == "queue"
    assert sim.config.blocked_models == {"reve/edit", "nano-banana"}
    state = httpx.post(f"{sim.url}/_sim/config", json={"concurrency_mode": "reject", "blocked_models": []}).json()
    assert state["settings"]["concurrency_mode"] == "reject"
    assert httpx.post(f"{sim.url}/_sim/config", json={"no_such_switch": 1}).status_code == 400


def test_balances_can_be_set_and_the_clock_advanced(sim):
    conn = new_account(sim)
    state = httpx.post(f"{sim.url}/_sim/balance", json={"account": conn.key_id, "credits": "0.5"}).json()
    assert state["balances"][conn.key_id] == "0.5"
    with pytest.raises(higgsfield.NotEnoughCredits):
        higgsfield.submit(conn, "higgsfield-ai/soul/standard", {"prompt": "too dear"})
    before = sim.offset
    assert httpx.post(f"{sim.url}/_sim/clock", json={"advance": 90}).json()["clock_offset"] == before + 90
