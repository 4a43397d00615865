"""In Chromium: create a character from photos and watch it become ready without a
reload; then find a generation that used it on its page."""

import threading

import pytest
from django.db import OperationalError, connection
from PIL import Image, ImageDraw

from characters import tasks
from characters.models import Character
from generations import pipeline
from generations import tasks as generation_tasks
from tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def make_photo(path, hue):
    image = Image.new("RGB", (360, 440), (hue, 150, 255 - hue))
    draw = ImageDraw.Draw(image)
    draw.ellipse([110, 90, 250, 260], fill=(236, 200, 170))
    draw.rectangle([90, 280, 270, 440], fill=(40, 60, 120))
    image.save(path, "JPEG")
    return str(path)


@pytest.fixture
def worker():
    """Stands in for the django-q2 cluster's sweeper: dispatches due characters. The
    in-memory test database locks whole tables, so a busy moment is simply retried."""
    stop = threading.Event()

    def loop():
        while not stop.wait(0.3):
            try:
                tasks.dispatch_due()
            except OperationalError:
                continue
        connection.close()
    thread = threading.Thread(target=loop, daemon=True)
    yield thread.start
    stop.set()
    thread.join(5)


def test_a_character_created_in_the_browser_becomes_ready_without_a_reload(
        browser_page, live_server, simulator, settings, alice, project, worker, tmp_path):
    from playwright.sync_api import expect

    settings.PUBLIC_BASE_URL = live_server.url
    lib = simulator.library
    lib.not_ready_seconds, lib.queue_seconds, lib.train_seconds = 1, 1, 2
    photos = [make_photo(tmp_path / f"p{i}.jpg", hue) for i, hue in enumerate((40, 120, 200))]
    page = browser_page
    log_in(page, "alice", "pw-alice-123")
    page.click("text=Characters")
    page.fill("input[name=name]", "Mia")
    page.select_option("select[name=model_version]", "v1")
    page.set_input_files("input[name=photos]", photos)
    page.fill("input[name=consent_subject]", "Mia Jensen")
    page.fill("textarea[name=consent_notes]", "Release signed 3 March, spring campaign only")
    page.check("input[name=consent_attested]")
    page.click("text=Create character")
    page.wait_for_selector("#character-list .card")
    worker()
    character = Character.objects.get()
    card = page.locator(f"#character-{character.pk}")
    expect(card.locator(".badge")).to_have_text("Ready", timeout=20_000)
    expect(card).not_to_have_attribute("hx-trigger", "every 2s")
    expect(card.locator("img")).to_have_attribute("src", f"/characters/{character.pk}/thumbnail/")

    character.refresh_from_db()
    used = pipeline.start(owner=alice, project=project, model_id=character.model_id, params={
        "prompt": "Mia reading in a sunlit library", "custom_reference_id": character.provider_id,
        "custom_reference_strength": 0.8})
    generation_tasks.submit_generation(used.pk)
    card.locator("a").first.click()
    expect(page.locator("body")).to_contain_text("Mia reading in a sunlit library")
    expect(page.locator(".consent-record")).to_contain_text("Mia Jensen")
