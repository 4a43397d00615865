"""Journeys through the gallery in Chromium: per-image actions on a batch, the full-screen viewer
with the keyboard, a client approving one image of four, and hiding, deleting and acting on
several selected cards."""

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from generations.models import Feedback, Gallery, Generation
from tests.browser import htmx_idle, log_in

pytestmark = pytest.mark.browser


def viewer_key(page):
    return page.locator("dialog[data-viewer] [data-viewer-key]").get_attribute("data-viewer-key")


def test_a_member_animates_image_3_of_a_batch_from_its_menu_and_from_the_viewer(
        browser_page, transactional_db, alice, project, finished):
    page = browser_page
    batch = finished(alice, project, "four lighthouses at dusk", images=4)
    third = batch.outputs.get(position=2)
    log_in(page, "alice", "pw-alice-123")

    card = page.locator(f"#card-{batch.pk}")
    card.locator("details.menu > summary").click()
    image_3 = card.locator(".menu-group", has_text="Image 3")
    image_3.get_by_role("link", name="Animate").click()
    expect(page.locator("select[name=model]")).to_have_value("higgsfield-ai/dop/lite")
    expect(page.locator(f"input[name=image_url__pick][value='output:{third.pk}']")).to_be_checked()

    page.goto("/")
    page.locator(f"#card-{batch.pk} a[data-viewer-key=o{third.pk}]").click()
    expect(page.locator("dialog[data-viewer]")).to_be_visible()
    assert viewer_key(page) == f"o{third.pk}"
    expect(page.locator("dialog[data-viewer] .viewer-heading")).to_contain_text("Image 3 of 4")
    page.locator("dialog[data-viewer] .viewer-actions").get_by_role("link", name="Make it speak").click()
    expect(page.locator("select[name=model]")).to_have_value("v1/speak/higgsfield")
    expect(page.locator(f"input[name=input_image__pick][value='output:{third.pk}']")).to_be_checked()


def test_the_viewer_steps_through_the_feed_with_the_arrow_keys_zooms_and_closes_on_escape(
        browser_page, transactional_db, alice, project, finished):
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    older = finished(alice, project, "an older pair", images=2, colour=(30, 90, 200))
    newer = finished(alice, project, "four newer boats", images=4)
    keys = [f"o{o.pk}" for g in (newer, older) for o in g.outputs.all()]  # the feed's order: newest first
    log_in(page, "alice", "pw-alice-123")

    page.locator(f"a[data-viewer-key={keys[0]}]").click()
    dialog = page.locator("dialog[data-viewer]")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".viewer-panel")).to_contain_text("four newer boats")
    expect(dialog.locator(".viewer-panel")).to_contain_text("4242")  # the seed
    for key in keys[1:]:
        page.keyboard.press("ArrowRight")
        expect(dialog.locator(f"[data-viewer-key={key}]")).to_be_visible()
    expect(dialog.locator(".viewer-panel")).to_contain_text("an older pair")  # into the next card
    page.keyboard.press("ArrowRight")  # the last one: stays
    htmx_idle(page)
    assert viewer_key(page) == keys[-1]
    page.keyboard.press("ArrowLeft")
    expect(dialog.locator(f"[data-viewer-key={keys[-2]}]")).to_be_visible()

    stage = dialog.locator("[data-viewer-stage]")
    image = dialog.locator("[data-viewer-image]")
    fitted = image.bounding_box()["width"]
    page.keyboard.press("z")
    expect(stage).to_have_class(re.compile(r"\bzoomed\b"))
    assert image.bounding_box()["width"] != fitted  # shown at its own size
    dialog.locator("[data-viewer-zoom]").click()
    expect(stage).not_to_have_class(re.compile(r"\bzoomed\b"))

    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()
    # Back where it was. (The browser first gives the focus back to the link that opened the dialog;
    # the viewer's close handler then moves it to the result it showed: wait for that.)
    expect(page.locator(f"a[data-viewer-open][data-viewer-key={keys[-2]}]")).to_be_focused()
    expect(dialog.locator("[data-viewer-body] *")).to_have_count(0)  # nothing left playing


def test_a_client_approves_image_3_of_4_and_looks_at_it_full_screen(browser_page, transactional_db, carol, alice,
                                                                    project, finished):
    page = browser_page
    batch = finished(alice, project, "four harbour views", images=4)
    gallery = carol.gallery
    gallery.add(batch)
    items = list(gallery.items.all())
    third = items[2]
    log_in(page, "carol", "pw-carol-123")
    page.goto(gallery.get_absolute_url())
    expect(page.locator(".card.item")).to_have_count(4)
    assert "four harbour views" not in page.inner_text("main")  # a client never sees prompts

    page.click(f"#item-{third.pk} button[value=approve]")
    expect(page.locator(f"#item-{third.pk} .badge-approved")).to_be_visible()
    expect(page.locator(".badge-approved")).to_have_count(1)
    answers = list(Feedback.objects.values_list("item", "verdict"))
    assert answers == [(third.pk, "approved")]

    page.locator(f"#item-{third.pk} a[data-viewer-open]").click()
    dialog = page.locator("dialog[data-viewer]")
    expect(dialog.locator(".viewer-title")).to_have_text("For Carol 3")
    expect(dialog.locator(".viewer-panel")).to_have_count(0)
    page.keyboard.press("ArrowRight")
    expect(dialog.locator(".viewer-title")).to_have_text("For Carol 4")
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()


def test_a_member_selects_three_cards_adds_them_to_a_gallery_zips_deletes_them_and_hides_another(
        browser_page, transactional_db, alice, project, finished):
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    gallery = Gallery.objects.create(project=project, name="Picks", created_by=alice)
    foxes = [finished(alice, project, f"a {word} fox") for word in ("red", "green", "blue", "grey")]
    chosen, other = foxes[:3], foxes[3]
    log_in(page, "alice", "pw-alice-123")
    cards = page.locator("#generation-list article.card")
    expect(cards).to_have_count(4)
    assert all(cards.nth(i).bounding_box()["width"] <= 240 for i in range(4))  # more, smaller cards
    card_width = cards.first.bounding_box()["width"]
    assert cards.first.locator(".media img").bounding_box()["width"] >= card_width - 4  # the picture fills it

    for generation in chosen:
        page.locator(f"#card-{generation.pk} input[data-select]").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    page.select_option(".bulk-bar select[name=gallery]", label="Picks")
    page.click(".bulk-bar button[value=add]")
    expect(page.locator("#bulk-status")).to_contain_text("Added 3 items to “Picks”.")
    for generation in chosen:  # the list was redrawn: each card says where it is, and is still ticked
        expect(page.locator(f"#card-{generation.pk} .in-galleries")).to_contain_text("Picks")
    expect(page.locator("[data-bulk-count]")).to_have_text("3 selected")
    assert gallery.items.count() == 3

    with page.expect_download() as download_info:
        page.click(".bulk-bar button[value=zip]")
    with zipfile.ZipFile(download_info.value.path()) as archive:
        assert sorted(archive.namelist()) == ["01-a-blue-fox.png", "02-a-green-fox.png", "03-a-red-fox.png",
                                              "prompts-and-settings.csv"]

    files = [Path(o.file.path) for g in chosen for o in g.outputs.all()]
    page.once("dialog", lambda dialog: dialog.accept())  # "Delete the selected generations?"
    page.click(".bulk-bar button[value=delete]")
    expect(page.locator("#bulk-status")).to_contain_text("Deleted 3 generations.")
    expect(cards).to_have_count(1)
    expect(page.locator("[data-bulk-count]")).to_have_text("Tick cards to act on several at once.")
    assert not any(path.exists() for path in files)
    assert Generation.objects.filter(deleted_at__isnull=False).count() == 3 and not gallery.items.exists()

    # Hide the last one from its menu; "Show hidden" brings it back.
    card = page.locator(f"#card-{other.pk}")
    card.locator("details.menu > summary").click()
    card.get_by_role("button", name="Hide").click()
    expect(card).to_have_class(re.compile(r"\bis-hidden\b"))
    page.reload()
    expect(cards).to_have_count(0)
    page.locator("input[name=hidden]").check()
    expect(page.locator(f"#card-{other.pk} .badge-hidden")).to_be_visible()
    page.locator(f"#card-{other.pk} form.unhide").get_by_role("button", name="Show again").click()
    expect(page.locator(f"#card-{other.pk} .badge-hidden")).to_have_count(0)
