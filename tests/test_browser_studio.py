"""The studio in a real browser: the Soul form shows its size and cost live, and the model
picker swaps in an image-to-video form with its own fields."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/higgsweb-shots"))


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")
def test_soul_and_image_to_video_forms_work_in_a_browser(live_server, transactional_db, alice, project):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1100})
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "pw-alice-123")
        page.click("button[type=submit]")
        page.wait_for_selector("#generation-form")
        page.select_option("select[name=resolution]", "1080p")
        page.select_option("select[name=aspect_ratio]", "9:16")
        page.wait_for_function("document.querySelector('[data-size-hint]').textContent.includes('1152 × 2048')")
        page.select_option("select[name=batch_size]", "4")
        page.wait_for_function("document.querySelector('#cost').textContent.includes('12 credits')")
        page.click("[data-random-seed]")
        assert page.input_value("input[name=seed]")
        page.screenshot(path=str(SHOTS / "soul-form.png"), full_page=True)

        page.select_option("select[name=model]", "kling-video/v2.1/pro/image-to-video")
        page.wait_for_selector("input[name=cfg_scale]")
        idle = "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
        page.wait_for_function(idle)  # the swapped-in form is wired up before it is used
        assert page.locator("input[name=image_url]").count() == 1
        page.fill("textarea[name=prompt]", "a slow dolly across the harbour")
        page.wait_for_function(idle)
        page.click("#generation-form button[type=submit]")
        page.wait_for_selector("[data-param=image_url] .error")
        assert "This field is required." in page.inner_text("[data-param=image_url]")
        assert page.input_value("textarea[name=prompt]") == "a slow dolly across the harbour"
        page.screenshot(path=str(SHOTS / "kling-form.png"), full_page=True)
        browser.close()
