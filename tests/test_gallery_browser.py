"""A client's journey through a share link in a real browser: the password, the gallery,
approving one item, asking for changes on another, and downloading the ZIP."""

import zipfile

import pytest

from generations.models import Feedback, Gallery, ShareLink


@pytest.mark.browser
def test_a_client_opens_a_protected_link_approves_comments_and_downloads_the_zip(
        browser_page, transactional_db, alice, project, finished):
    page = browser_page
    gallery = Gallery.objects.create(project=project, name="Harbour campaign", created_by=alice)
    first = gallery.add(finished(alice, project, "a lighthouse at dusk", colour=(30, 60, 160)))[0]
    second = gallery.add(finished(alice, project, "fishing boats at dawn", colour=(220, 140, 40)))[0]
    link = ShareLink(gallery=gallery, label="Acme", show_settings=True)
    link.set_password("harbour-42")
    link.save()

    page.goto(link.get_absolute_url())
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

    page.click(f"#item-{first.pk} button[value=approve]")
    page.wait_for_selector(f"#item-{first.pk} .badge-approved")
    page.fill(f"#item-{second.pk} textarea[name=comment]", "Warmer light on the boats, please")
    page.click(f"#item-{second.pk} button[value=changes]")
    page.wait_for_selector(f"#item-{second.pk} .badge-changes")
    assert "You asked: Warmer light on the boats" in page.inner_text(f"#item-{second.pk}")

    with page.expect_download() as download_info:
        page.click("text=Download all")
    download = download_info.value
    assert download.suggested_filename == "harbour-campaign.zip"
    with zipfile.ZipFile(download.path()) as archive:
        assert archive.namelist() == ["01-a-lighthouse-at-dusk.png", "02-fishing-boats-at-dawn.png",
                                      "prompts-and-settings.csv"]
        assert archive.read("01-a-lighthouse-at-dusk.png") == first.generation.outputs.get().file.open("rb").read()
        assert "fishing boats at dawn" in archive.read("prompts-and-settings.csv").decode()

    answers = {answer.item_id: answer for answer in Feedback.objects.all()}
    assert answers[first.pk].verdict == "approved" and answers[first.pk].name == "Bea from Acme"
    assert answers[second.pk].verdict == "changes" and "Warmer light" in answers[second.pk].comment
    events = set(link.visits.values_list("event", flat=True))
    assert {"wrong_password", "unlock", "view", "feedback", "zip"} <= events
