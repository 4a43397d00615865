"""Webhook URLs the service accepts (PROTOCOL.md §2.6): with a key, a webhook URL goes with a
submit only when PUBLIC_BASE_URL is https on a public host; otherwise jobs are polled, every 2 s
while young. The health page, the banner and the studio say which mode is on and why; the main
journey (Soul → animate) runs both ways."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from generations import pipeline, tasks, webhook_mode
from generations.higgsfield import download
from generations.models import Generation, ProviderAccount, WebhookDelivery
from tests.conftest import SIM_KEY, SIM_SECRET

SOUL = {"prompt": "a red kite", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 1, "seed": 42}
PUBLIC_HOOKS = "hooks.studio.example"


@pytest.fixture(autouse=True)
def fresh_lookups():
    webhook_mode.clear_cache()
    yield
    webhook_mode.clear_cache()


def public_hooks(monkeypatch, sim=None):
    """Make PUBLIC_HOOKS a public https host name for the app (and the simulator's check)."""
    real = download.resolve
    monkeypatch.setattr(download, "resolve",
                        lambda host, port: ["93.184.216.34"] if host == PUBLIC_HOOKS else real(host, port))
    if sim is not None:
        sim.config.dns[PUBLIC_HOOKS] = ["93.184.216.34"]


@pytest.mark.parametrize("url,why", [
    ("http://127.0.0.1:8000", "PUBLIC_BASE_URL is http://127.0.0.1:8000 (not public https)"),
    ("http://app.example.com", "not public https"),
    ("https://127.0.0.1", "not a public address"),
    ("https://[::1]:8443", "not a public address"),
    ("https://169.254.10.1", "not a public address"),
    ("https://10.1.2.3", "not a public address"),
    ("https://user:pw@" + PUBLIC_HOOKS, "carries credentials"),
    ("https://no-such-host.invalid", "does not resolve"),
])
def test_a_public_base_url_the_service_would_refuse_means_no_webhook(db, settings, monkeypatch, url, why):
    public_hooks(monkeypatch)
    settings.USE_SIMULATOR = False
    settings.PUBLIC_BASE_URL = url
    mode = webhook_mode.for_account(ProviderAccount.objects.default())
    assert not mode.webhooks and why in mode.summary
    assert mode.summary.endswith("results are fetched by polling every 2 s at first.")


def test_a_public_https_base_url_gets_webhooks(db, settings, monkeypatch):
    public_hooks(monkeypatch)
    settings.USE_SIMULATOR = False
    settings.PUBLIC_BASE_URL = f"https://{PUBLIC_HOOKS}"
    mode = webhook_mode.for_account(ProviderAccount.objects.default())
    assert mode.webhooks and mode.short == "Results arrive by webhook."


def test_the_local_simulator_without_a_key_gets_loopback_webhooks_but_an_account_elsewhere_does_not(
        db, simulator, settings):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert webhook_mode.for_account(ProviderAccount.objects.default()).webhooks
    remote = ProviderAccount.objects.create(name="Pixazo", surface="pixazo", base_url="https://gateway.pixazo.ai")
    assert not webhook_mode.for_account(remote).webhooks
    fnf = ProviderAccount.objects.create(name="web", surface="fnf", base_url=simulator.url + "/fnf")
    assert not webhook_mode.for_account(fnf).webhooks


@pytest.mark.parametrize("surface,model,params", [
    ("model_api", "higgsfield-ai/soul/standard", SOUL),
    ("v1", "v1/text2image/soul", {"prompt": "a dog", "width_and_height": "1152x2048", "quality": "720p"}),
    ("pixazo", "higgsfield-ai/soul/standard", SOUL),
])
def test_with_a_key_each_surface_submits_without_a_webhook_the_strict_simulator_would_refuse(
        db, strict, alice, project, surface, model, params):
    base = {"model_api": strict.url, "v1": strict.url, "pixazo": strict.url + "/pixazo"}[surface]
    key = ("pixazo-demo-key", "") if surface == "pixazo" else (SIM_KEY, SIM_SECRET)
    account = ProviderAccount.objects.create(name=surface, surface=surface, base_url=base, key_id=key[0],
                                             key_secret=key[1])
    generation = pipeline.start(owner=alice, project=project, model_id=model, params=params, account=account)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued", generation.error
    assert generation.webhook_url  # there is a URL for the job; it was not sent
    assert strict.jobs[generation.request_id].webhook_url == ""


def test_with_a_public_https_base_url_the_strict_simulator_takes_the_webhook(db, strict, alice, project,
                                                                           settings, monkeypatch):
    public_hooks(monkeypatch, strict)
    settings.PUBLIC_BASE_URL = f"https://{PUBLIC_HOOKS}"
    account = ProviderAccount.objects.default()
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard", params=SOUL,
                                account=account)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "queued"
    assert strict.jobs[generation.request_id].webhook_url == (
        f"https://{PUBLIC_HOOKS}/webhooks/higgsfield/?g={generation.pk}")


def test_a_job_without_a_webhook_is_polled_every_2_s_for_its_first_minute_then_backs_off(db, strict, alice,
                                                                                        project):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard", params=SOUL)
    tasks.submit_generation(generation.pk)
    waits = []
    for _ in range(4):
        tasks.poll_generation(generation.pk)
        generation.refresh_from_db()
        waits.append(round((generation.next_action_at - timezone.now()).total_seconds()))
    assert waits == [2, 2, 2, 2]
    Generation.objects.filter(pk=generation.pk).update(submitted_at=timezone.now() - timedelta(seconds=61))
    for _ in range(3):
        tasks.poll_generation(generation.pk)
        generation.refresh_from_db()
        waits.append(round((generation.next_action_at - timezone.now()).total_seconds()))
    assert waits[4:] == [2, 4, 8]  # the usual backoff from there


def test_a_job_with_a_webhook_backs_off_from_the_start(db, simulator, account, alice, project):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard", params=SOUL)
    tasks.submit_generation(generation.pk)
    waits = []
    for _ in range(3):
        tasks.poll_generation(generation.pk)
        generation.refresh_from_db()
        waits.append(round((generation.next_action_at - timezone.now()).total_seconds()))
    assert waits == [2, 4, 8]


def test_the_health_page_banner_and_studio_say_which_mode_is_on_and_why(db, strict, client, admin_user, alice):
    client.force_login(alice)
    page = client.get("/").content.decode()
    expected = ("No webhook: PUBLIC_BASE_URL is http://127.0.0.1:8000 (not public https), "
                "results are fetched by polling every 2 s at first.")
    assert f'id="webhook-banner">{expected}</div>' in page
    assert f'id="results-mode">{expected}</small>' in page
    client.force_login(admin_user)
    health = client.get("/health/").content.decode()
    row = health[health.index('id="health-webhook-mode"'):]
    assert "polling" in row[:600] and expected in row[:800]


def test_in_simulator_mode_the_banner_says_results_arrive_by_webhook(db, simulator, client, alice):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "Simulator mode" in page and "Results arrive by webhook" in page
    assert 'id="webhook-banner"' not in page


# --- the member's journey, both ways -------------------------------------------------------

def drive(until, timeout=30):
    """Act as the worker's sweeper until `until()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until():
            return True
        pipeline.dispatch_due()
        time.sleep(0.05)
    return until()


def archived(generation):
    def check():
        generation.refresh_from_db()
        return generation.archived
    return check


def journey(client, alice, project):
    """Soul from the studio, then "Animate this" with its image as the start frame; returns both."""
    client.force_login(alice)
    client.post("/generations/new/", {"project": project.pk, "prompt": "a lighthouse at dusk",
                                      "aspect_ratio": "16:9", "resolution": "720p", "batch_size": "1"},
                headers={"HX-Request": "true"})
    image = Generation.objects.get()
    assert drive(archived(image)), f"the image is stuck in {image.status}"
    output = image.outputs.get()
    client.post("/generations/new/", {"model": "higgsfield-ai/dop/lite", "project": project.pk,
                                      "prompt": "the beam sweeps across the sea",
                                      "image_url__pick": f"output:{output.pk}"}, headers={"HX-Request": "true"})
    video = Generation.objects.exclude(pk=image.pk).get()
    assert drive(archived(video)), f"the video is stuck in {video.status}: {video.error}"
    assert video.outputs.get().kind == "video"
    return image, video


@pytest.mark.slow
def test_the_journey_with_a_key_and_an_http_public_url_finishes_by_polling(transactional_db, strict, alice,
                                                                         project):
    image, video = journey(Client(), alice, project)
    for generation in (image, video):
        assert generation.events.get(to_status="completed").source == "poll"
        assert strict.jobs[generation.request_id].webhook_url == ""
    assert not strict.delivery_log and not WebhookDelivery.objects.exists()
    assert strict.jobs[video.request_id].payload["image_url"].startswith(strict.url)  # copied up, not our URL


@pytest.mark.slow
def test_the_journey_in_make_run_mode_lands_through_the_webhook(transactional_db, live_server, simulator, settings,
                                                              alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    image, video = journey(Client(), alice, project)
    for generation in (image, video):
        assert simulator.jobs[generation.request_id].webhook_url.startswith(live_server.url + "/webhooks/higgsfield/")
    assert any(WebhookDelivery.objects.filter(request_id=g.request_id, signed=True).exists() for g in (image, video))


@pytest.mark.slow
def test_unsigned_deliveries_in_make_run_mode_wake_a_poll_that_finishes_the_job(transactional_db, live_server,
                                                                                simulator, settings, alice,
                                                                                project):
    settings.PUBLIC_BASE_URL = live_server.url
    simulator.config.webhook_unsigned = True
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard", params=SOUL)
    assert drive(archived(generation))
    assert generation.events.get(to_status="completed").source == "poll"  # never trusted from the body
    assert WebhookDelivery.objects.filter(request_id=generation.request_id, signed=False).exists()
    assert not WebhookDelivery.objects.filter(signed=True).exists()
