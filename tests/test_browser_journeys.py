"""The member's and the admin's journeys in Chromium, over real HTTP end to end: the live
server, the simulator, its signed webhooks, the archive. (Worker tasks run inline in the
server's thread, as in the other end-to-end tests.)"""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from playwright.sync_api import expect

from generations import pipeline
from generations.models import Generation
from higgsweb import ledger
from higgsweb.models import LedgerEntry
from tests.browser import htmx_idle, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_member_makes_a_soul_image_animates_it_and_the_video_plays(
        browser_page, live_server, simulator, settings, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    page = browser_page
    log_in(page, "alice", "pw-alice-123")

    # A Soul image from the studio form.
    expect(page.locator("select[name=model]")).to_have_value("higgsfield-ai/soul/standard")
    page.fill("textarea[name=prompt]", "a lighthouse at dusk, long exposure")
    page.click("#generation-form .more-settings > summary")
    page.select_option("select[name=aspect_ratio]", "16:9")
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    expect(page.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    image = Generation.objects.get()
    image_card = page.locator(f"#card-{image.pk}")
    expect(image_card.locator(".media img")).to_be_visible(timeout=30_000)
    expect(image_card.locator(".badge").first).not_to_have_text("Saving…")
    expect(image_card.locator(".badge").first).to_have_text("Completed")
    # The card was just drawn with its result: give the thumbnail a moment to arrive.
    page.locator(f"#card-{image.pk} .media img").evaluate(
        "img => img.complete || new Promise((done) => { img.onload = img.onerror = done; })")
    assert page.evaluate("""(selector) => {
        const img = document.querySelector(selector);
        return img.complete && img.naturalWidth > 0;
    }""", f"#card-{image.pk} .media img"), "the thumbnail did not load"

    # Animate it (from the card's menu): the DoP form opens with the image as its start frame.
    image_card.locator("details.menu > summary").click()
    image_card.get_by_role("link", name="Animate this").click()
    expect(page.locator("select[name=model]")).to_have_value("higgsfield-ai/dop/lite")
    page.fill("textarea[name=prompt]", "the beam sweeps slowly across the sea")
    htmx_idle(page)
    page.click("#generation-form button[type=submit]")
    expect(page.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    video = Generation.objects.exclude(pk=image.pk).get()
    assert video.model_id == "higgsfield-ai/dop/lite"
    video_card = page.locator(f"#card-{video.pk}")
    expect(video_card.locator(".media a.result-thumb img")).to_be_visible(timeout=30_000)  # its poster frame

    # The video really plays in the browser, in the viewer the poster opens.
    video_card.locator(".media a.result-thumb").click()
    expect(page.locator("dialog[data-viewer] video")).to_be_attached()
    played = page.evaluate("""async (selector) => {
        const video = document.querySelector(selector);
        video.muted = true;
        await video.play();
        await new Promise((resolve) => setTimeout(resolve, 600));
        return {time: video.currentTime, ready: video.readyState, width: video.videoWidth, error: video.error};
    }""", "dialog[data-viewer] video")
    assert played["error"] is None
    assert played["time"] > 0 and played["ready"] >= 2 and played["width"] > 0, played
    page.keyboard.press("Escape")
    expect(page.locator("dialog[data-viewer]")).not_to_be_visible()
    video.refresh_from_db()
    assert video.status == "completed" and video.archived
    # Both are in the gallery, newest first: a card refreshing itself replaces only itself.
    expect(page.locator("#generation-list article.card")).to_have_count(2)
    assert page.locator("#generation-list article.card").first.get_attribute("id") == f"card-{video.pk}"


def make_spend(alice, bob, project):
    """Ledger entries for two users: Alice has two completed jobs, Bob one and a refund. Their
    submits are held back: no provider runs here."""
    params = {"prompt": "x", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 1}
    with pipeline.follow_ups() as submits:
        for owner, outcome in ((alice, "confirm"), (alice, "confirm"), (bob, "confirm"), (bob, "refund")):
            generation = pipeline.start(owner=owner, project=project,
                                        model_id="higgsfield-ai/soul/standard", params=params)
            getattr(ledger, outcome)(generation)
        submits.clear()


def test_an_admin_filters_the_audit_and_the_csv_matches_the_page(browser_page, admin_user, alice, bob, project):
    make_spend(alice, bob, project)
    spent = {user.username: LedgerEntry.objects.filter(user=user).aggregate(net=Sum("amount"))["net"]
             for user in (alice, bob)}
    page = browser_page
    log_in(page, "ada", "pw-ada-123")
    page.get_by_role("link", name="Audit").click()
    all_total = Decimal(page.inner_text("#total-net").replace(",", ""))

    page.select_option("select[name=user]", label="alice")
    page.click("form.audit-filters button[type=submit]")
    expect(page).to_have_url(re.compile(rf"user={alice.pk}\b"))
    alice_total = Decimal(page.inner_text("#total-net").replace(",", ""))
    assert all_total == spent["alice"] + spent["bob"]
    assert alice_total == spent["alice"] > 0

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "ledger.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    entries, total_row = rows[:-1], rows[-1]
    assert total_row["created_at"] == "total"
    assert {row["user"] for row in entries} == {"alice"}
    assert sum(Decimal(row["credits"]) for row in entries) == alice_total
    assert Decimal(total_row["credits"]) == alice_total

    # The health page is one click away and renders under the same policy.
    page.get_by_role("link", name="Health").click()
    expect(page.locator("#health-worker")).to_contain_text("no heartbeat")
    expect(page.locator("#health-queue")).to_contain_text("waiting")

    # Django's admin works under the policy too (its scripts are files, its styles sheets).
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    page.goto("/admin/higgsweb/project/add/")
    expect(page.locator("#project_form")).to_be_visible()
    page.goto("/admin/generations/generation/")
    expect(page.locator("#changelist")).to_be_visible()
