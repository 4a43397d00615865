"""A client's journey through a share link in a real browser: the password, the gallery,
approving one item, asking for changes on another, and downloading the ZIP."""

import os
import zipfile
from pathlib import Path

import pytest

from generations.models import Feedback, Gallery, ShareLink

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/higgsweb-shots"))


def launch(playwright):
    """The one place this file starts a browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"])


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")
def test_a_client_opens_a_protected_link_approves_comments_and_downloads_the_zip(
        live_server, transactional_db, alice, project, finished):
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    gallery = Gallery.objects.create(project=project, name="Harbour campaign", created_by=alice)
    first = gallery.add(finished(alice, project, "a lighthouse at dusk", colour=(30, 60, 160)))[0]
    second = gallery.add(finished(alice, project, "fishing boats at dawn", colour=(220, 140, 40)))[0]
    link = ShareLink(gallery=gallery, label="Acme", show_settings=True)
    link.set_password("harbour-42")
    link.save()

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, accept_downloads=True)
        page.goto(live_server.url + link.get_absolute_url())
        assert "This gallery is protected" in page.inner_text("main")
        assert page.locator(".card").count() == 0
        page.fill("input[name=password]", "wrong-one")
        page.click("main button[type=submit]")
        assert "That is not the password" in page.inner_text("main")
        page.fill("input[name=password]", "harbour-42")
        page.click("main button[type=submit]")
        page.wait_for_selector(".card.item")
        assert page.locator(".card.item").count() == 2
        assert "a lighthouse at dusk" in page.inner_text(f"#item-{first.pk}")  # this link shows settings
        page.fill("input[name=name]", "Bea from Acme")
        page.click(".name-form button[type=submit]")
        page.wait_for_selector("text=Answering as")
        page.screenshot(path=str(SHOTS / "share-link-gallery.png"), full_page=True)

        page.click(f"#item-{first.pk} button[value=approve]")
        page.wait_for_selector(f"#item-{first.pk} .badge-approved")
        page.fill(f"#item-{second.pk} textarea[name=comment]", "Warmer light on the boats, please")
        page.click(f"#item-{second.pk} button[value=changes]")
        page.wait_for_selector(f"#item-{second.pk} .badge-changes")
        assert "You asked: Warmer light on the boats" in page.inner_text(f"#item-{second.pk}")
        page.screenshot(path=str(SHOTS / "share-link-feedback.png"), full_page=True)

        with page.expect_download() as download_info:
            page.click("text=Download all")
        download = download_info.value
        assert download.suggested_filename == "harbour-campaign.zip"
        with zipfile.ZipFile(download.path()) as archive:
            assert archive.namelist() == ["01.png", "02.png", "prompts-and-settings.csv"]
            assert archive.read("01.png") == first.generation.outputs.get().file.open("rb").read()
            assert "fishing boats at dawn" in archive.read("prompts-and-settings.csv").decode()
        browser.close()

    answers = {answer.item_id: answer for answer in Feedback.objects.all()}
    assert answers[first.pk].verdict == "approved" and answers[first.pk].name == "Bea from Acme"
    assert answers[second.pk].verdict == "changes" and "Warmer light" in answers[second.pk].comment
    events = set(link.visits.values_list("event", flat=True))
    assert {"wrong_password", "unlock", "view", "feedback", "zip"} <= events
