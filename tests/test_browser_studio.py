"""The studio in a real browser: the Soul form shows its size and cost live, and the model
picker swaps in an image-to-video form with its own fields."""

import pytest
from playwright.sync_api import expect

from tests.browser import htmx_idle, log_in

pytestmark = pytest.mark.browser


def test_soul_and_image_to_video_forms_work_in_a_browser(browser_page, alice, project):
    page = browser_page
    log_in(page, "alice", "pw-alice-123")
    page.wait_for_selector("#generation-form")
    page.click("#generation-form .more-settings > summary")  # the model's other settings fold under the bar
    page.select_option("select[name=resolution]", "1080p")
    page.select_option("select[name=aspect_ratio]", "9:16")
    expect(page.locator("[data-size-hint]")).to_contain_text("1152 × 2048")
    page.select_option("select[name=batch_size]", "4")
    expect(page.locator("#cost")).to_contain_text("12 credits")
    page.click("[data-random-seed]")
    assert page.input_value("input[name=seed]")

    page.select_option("select[name=model]", "kling-video/v2.1/pro/image-to-video")
    page.wait_for_selector("input[name=cfg_scale]", state="attached")
    expect(page.locator("input[name=cfg_scale]")).to_be_visible()  # "More settings" stays open for the new model
    htmx_idle(page)  # the swapped-in form is wired up before it is used
    assert page.locator("input[name=image_url]").count() == 1
    page.fill("textarea[name=prompt]", "a slow dolly across the harbour")
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    page.wait_for_selector("[data-param=image_url] .error")
    assert "This field is required." in page.inner_text("[data-param=image_url]")
    assert page.input_value("textarea[name=prompt]") == "a slow dolly across the harbour"
