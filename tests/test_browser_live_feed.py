"""Open galleries take in new work without a reload, in Chromium over real HTTP: a job started
in another tab, a teammate's work put in a gallery, and a client's gallery taking in exactly
what the team adds to it."""

import pytest
from playwright.sync_api import expect

from generations.models import Gallery, Generation
from tests.browser import htmx_idle, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOON = 10_000  # ms: the feed asks every second


def test_a_job_started_in_another_tab_appears_in_the_open_gallery_without_a_reload(
        browser_page, live_server, simulator, settings, alice, project):
    settings.PUBLIC_BASE_URL = live_server.url
    gallery_tab = browser_page
    log_in(gallery_tab, "alice", "pw-alice-123")
    expect(gallery_tab.locator("#generation-grid")).to_contain_text("Nothing here yet")

    studio_tab = gallery_tab.context.new_page()
    studio_tab.goto("/")
    studio_tab.fill("textarea[name=prompt]", "a paper boat on a puddle")
    htmx_idle(studio_tab)
    studio_tab.click("#generation-form button[type=submit]")
    expect(studio_tab.locator("#generation-form .flash")).to_contain_text("Submitted 1 generation")
    job = Generation.objects.get()

    card = gallery_tab.locator(f"#card-{job.pk}")
    expect(card).to_be_visible(timeout=SOON)
    expect(card).to_contain_text("a paper boat on a puddle")
    expect(gallery_tab.locator("#generation-grid")).not_to_contain_text("Nothing here yet")
    # It came in as a card that follows its job like any other: its result shows when ready.
    expect(card.locator(".media img")).to_be_visible(timeout=30_000)
    expect(gallery_tab.locator(f"[id='card-{job.pk}']")).to_have_count(1)
    studio_tab.close()


def test_a_teammates_job_appears_in_an_open_gallery_when_they_put_it_in_one(
        browser_page, live_server, alice, bob, project, finished):
    page = browser_page
    picks = Gallery.objects.create(project=project, name="Picks", created_by=bob)
    log_in(page, "alice", "pw-alice-123")
    theirs = finished(bob, project, "bob's harbour at dawn")
    page.wait_for_timeout(1500)  # a poll or two: made, but not shown to anyone yet
    expect(page.locator(f"#card-{theirs.pk}")).to_have_count(0)

    picks.add(theirs, by=bob)
    expect(page.locator(f"#card-{theirs.pk}")).to_be_visible(timeout=SOON)
    expect(page.locator(f"#card-{theirs.pk}")).to_contain_text("bob's harbour at dawn")

    # The gallery's own page, open, takes in the next one the same way.
    page.goto(picks.get_absolute_url())
    expect(page.locator("#gallery-items .card.item")).to_have_count(1)
    picks.add(finished(bob, project, "bob's second harbour"), by=bob)
    expect(page.locator("#gallery-items .card.item")).to_have_count(2, timeout=SOON)
    expect(page.locator("#gallery-items")).to_contain_text("bob's second harbour")


def test_a_clients_open_gallery_shows_what_the_team_adds_to_it_and_nothing_else(
        browser_page, live_server, alice, carol, project, finished):
    page = browser_page
    log_in(page, "carol", "pw-carol-123")
    page.goto(carol.gallery.get_absolute_url())
    expect(page.locator("#gallery-grid")).to_contain_text("Nothing in this gallery yet")

    Gallery.objects.create(project=project, name="Internal").add(finished(alice, project, "internal only"))
    Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                              params={"prompt": "still running"}, status="in_progress")
    chosen = finished(alice, project, "the chosen one", colour=(20, 120, 220))
    item, _ = carol.gallery.add(chosen, by=alice)

    expect(page.locator("#gallery-grid .card.item")).to_have_count(1, timeout=SOON)
    expect(page.locator(f"#item-{item.pk} .media img")).to_be_visible()
    expect(page.locator("#gallery-grid")).not_to_contain_text("Nothing in this gallery yet")
    page.wait_for_timeout(2500)  # more polls bring nothing else
    expect(page.locator("#gallery-grid .card.item")).to_have_count(1)
    for secret in ("internal only", "still running", "the chosen one"):  # clients never see prompts
        expect(page.locator("body")).not_to_contain_text(secret)
    # The client can answer on it at once.
    page.locator(f"#item-{item.pk}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#item-{item.pk} .badge")).to_contain_text("Approved")
