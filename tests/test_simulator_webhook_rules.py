"""The simulator, started plainly, holds webhook URLs to the service's rule (PROTOCOL.md §2.6:
https, public addresses only, no credentials) on every surface; loopback webhooks and
unsigned deliveries are explicit switches."""

import json

import httpx
import pytest

from higgsweb.management.commands.simulate import Command
from tests.sim_support import WebhookReceiver, finish, new_account, start_simulator, wait_for

SOUL = "higgsfield-ai/soul/standard"


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator(allow_loopback_webhooks=False)
    sim.config.dns.update({"hooks.studio.example": ["93.184.216.34"], "hooks.internal.example": ["10.0.0.8"],
                           "hooks.mixed.example": ["93.184.216.34", "fd00::8"]})
    yield sim
    sim.server.stop()


@pytest.fixture
def conn(sim):
    return new_account(sim)


def submit(sim, conn, hook):
    return httpx.post(f"{sim.url}/{SOUL}", params={"hf_webhook": hook}, json={"prompt": "a harbour"},
                      headers={"Authorization": f"Key {conn.key_id}:{conn.key_secret}"})


@pytest.mark.parametrize("hook,reason", [
    ("http://127.0.0.1:8000/webhooks/higgsfield/", "https"),
    ("https://127.0.0.1/webhooks/higgsfield/", "public"),
    ("https://hooks.internal.example/h", "public"),
    ("https://hooks.mixed.example/h", "public"),
    ("https://user:pw@hooks.studio.example/h", "credentials"),
    ("https://no-such-host.invalid/h", "resolved"),
])
def test_a_model_api_submit_with_a_webhook_the_service_would_refuse_is_refused(sim, conn, hook, reason):
    answer = submit(sim, conn, hook)
    assert answer.status_code == 422
    problem = answer.json()["detail"][0]
    assert problem["loc"] == ["query", "hf_webhook"] and reason in problem["msg"]
    assert not [job for job in sim.jobs.values() if job.account == conn.key_id]  # nothing created or charged


def test_a_public_https_webhook_is_accepted(sim, conn):
    answer = submit(sim, conn, "https://hooks.studio.example/h")
    assert answer.status_code == 200 and answer.json()["status"] == "queued"


def test_v1_and_pixazo_hold_their_webhook_urls_to_the_same_rule(sim, conn):
    v1 = httpx.post(f"{sim.url}/v1/text2image/soul", headers={"hf-api-key": conn.key_id, "hf-secret": conn.key_secret},
                    json={"params": {"prompt": "a dog", "width_and_height": "1152x2048", "quality": "720p"},
                          "webhook": {"url": "http://127.0.0.1:8000/webhooks/v1/x/", "secret": "s"}})
    assert v1.status_code == 422 and v1.json()["detail"][0]["loc"] == ["body", "webhook", "url"]
    pixazo = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul",
                        headers={"Ocp-Apim-Subscription-Key": "pixazo-demo-key",
                                 "X-Webhook-URL": "http://127.0.0.1:8000/webhooks/pixazo/x/t/"},
                        json={"prompt": "a dog", "width_and_height": "1152x2048"})
    assert pixazo.status_code == 400 and "X-Webhook-URL" in pixazo.json()["message"]


def test_loopback_webhooks_are_an_explicit_switch_on_the_config_page_and_the_command_line(sim, conn):
    hook = "http://127.0.0.1:8000/webhooks/higgsfield/"
    assert submit(sim, conn, hook).status_code == 422
    httpx.post(f"{sim.url}/_sim/config", json={"allow_loopback_webhooks": True}).raise_for_status()
    try:
        assert submit(sim, conn, hook).status_code == 200
        assert httpx.get(f"{sim.url}/_sim/state").json()["allow_loopback_webhooks"] is True
    finally:
        httpx.post(f"{sim.url}/_sim/config", json={"allow_loopback_webhooks": False})
    parser = Command().create_parser("manage.py", "simulate")
    assert parser.parse_args(["--allow-loopback-webhooks"]).allow_loopback_webhooks is True
    assert parser.parse_args([]).allow_loopback_webhooks is False


def test_deliveries_are_signed_unless_the_unsigned_switch_is_on():
    sim = start_simulator(queue_seconds=0, run_seconds=0)  # loopback webhooks allowed: the receiver is local
    receiver = WebhookReceiver()
    try:
        conn = new_account(sim)
        for count, unsigned in enumerate((False, True), start=1):
            sim.config.webhook_unsigned = unsigned
            answer = httpx.post(f"{sim.url}/{SOUL}", params={"hf_webhook": receiver.url}, json={"prompt": "x"},
                                headers={"Authorization": f"Key {conn.key_id}:{conn.key_secret}"})
            answer.raise_for_status()
            finish(sim)
            assert wait_for(lambda count=count: len(receiver.received) >= count)
        signed, unsigned = receiver.received[0][0], receiver.received[-1][0]
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(signed)
        assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & set(unsigned)
        assert json.loads(receiver.received[-1][1])["status"] == "completed"
        parser = Command().create_parser("manage.py", "simulate")
        assert parser.parse_args(["--unsigned-webhooks"]).unsigned_webhooks is True
    finally:
        receiver.close()
        sim.server.stop()


@pytest.mark.parametrize("hook", ["http://hooks.studio.example/h", "https://127.0.0.1/h", "https://hooks.internal.example/h",
                                  "https://user:pw@hooks.studio.example/h"])
def test_v1_and_pixazo_refuse_every_kind_of_webhook_url_the_service_would(sim, conn, hook):
    v1 = httpx.post(f"{sim.url}/v1/text2image/soul", headers={"hf-api-key": conn.key_id, "hf-secret": conn.key_secret},
                    json={"params": {"prompt": "a dog", "width_and_height": "1152x2048", "quality": "720p"},
                          "webhook": {"url": hook, "secret": "s"}})
    assert v1.status_code == 422, v1.text
    pixazo = httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul",
                        headers={"Ocp-Apim-Subscription-Key": "pixazo-demo-key", "X-Webhook-URL": hook},
                        json={"prompt": "a dog", "width_and_height": "1152x2048"})
    assert pixazo.status_code == 400, pixazo.text
    public = "https://hooks.studio.example/h"
    assert httpx.post(f"{sim.url}/pixazo/ai-model-api/v1/generateSoul",
                      headers={"Ocp-Apim-Subscription-Key": "pixazo-demo-key", "X-Webhook-URL": public},
                      json={"prompt": "a dog", "width_and_height": "1152x2048"}).status_code == 202
