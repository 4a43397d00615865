"""Hiding, deleting and selecting generations, and the denser cards: a member hides or deletes
their own work (admins may delete anyone's); a delete removes the files from storage and keeps
the ledger; several cards are added to a gallery, zipped, hidden or deleted at once."""

import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest

from generations import pipeline
from generations.models import Feedback, Gallery, Generation, Output, ShareLink
from higgsweb import ledger
from higgsweb.models import LedgerEntry

HTMX = {"HX-Request": "true"}


def card_of(html, generation):
    found = re.search(rf'<article[^>]*id="card-{generation.pk}".*?</article>', html, re.S)
    return found.group(0) if found else None


def charged(generation):
    ledger.hold(generation)
    ledger.confirm(generation)
    return generation


@pytest.fixture
def token(alice):
    from generations.models import ApiToken

    return ApiToken.objects.issue(alice)[1]


# Hide.


def test_a_member_hides_their_own_card_and_show_hidden_brings_it_back(client, alice, project, finished, token):
    finished(alice, project, "a kept fox")
    hidden = finished(alice, project, "a hidden owl")
    client.force_login(alice)
    card = client.post(f"/g/{hidden.pk}/hide/", headers=HTMX).content.decode()
    assert card.lstrip().startswith(f'<article class="card status-completed is-hidden" id="card-{hidden.pk}"')
    assert '<span class="badge badge-hidden">Hidden</span>' in card and "Show again" in card
    listing = client.get("/").content.decode()
    assert "a kept fox" in listing and "a hidden owl" not in listing
    shown = client.get("/?hidden=on").content.decode()
    assert "a hidden owl" in shown and 'name="hidden" id="id_hidden" checked' in shown
    # Hiding only tidies the list: the work itself is still there.
    assert client.get(f"/g/{hidden.pk}/").status_code == 200
    assert client.get(f"/api/generations/{hidden.pk}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.post(f"/g/{hidden.pk}/hide/", {"hidden": "no"}, headers=HTMX)
    assert "a hidden owl" in client.get("/").content.decode()


def test_only_the_maker_hides_a_generation(client, alice, bob, admin_user, project, finished):
    mine = finished(alice, project, "alice's fox")
    for someone in (bob, admin_user):
        client.force_login(someone)
        assert client.post(f"/g/{mine.pk}/hide/").status_code == 404
    mine.refresh_from_db()
    assert mine.hidden_at is None


# Delete.


def test_deleting_removes_the_files_keeps_the_ledger_and_it_is_gone_everywhere(client, alice, carol, project,
                                                                                 finished, token):
    doomed = charged(finished(alice, project, "a doomed heron", images=2))
    other = finished(alice, project, "a surviving crane")
    gallery = carol.gallery
    gallery.add(doomed)
    gallery.add(other)
    item = gallery.items.first()
    Feedback.objects.give(item, "approve", author_key=f"user:{carol.pk}", name="carol", user=carol)
    link = ShareLink.objects.create(gallery=gallery)
    files = [Path(f.path) for o in doomed.outputs.all() for f in (o.file, o.thumbnail)]
    assert len(files) == 4 and all(path.exists() for path in files)
    entries = list(LedgerEntry.objects.filter(generation=doomed).values_list("kind", "amount"))
    outputs = [o.pk for o in doomed.outputs.all()]

    client.force_login(alice)
    response = client.post(f"/g/{doomed.pk}/delete/", headers=HTMX)
    assert response.status_code == 200 and response.content == b""  # the card goes
    assert not any(path.exists() for path in files)  # originals and thumbnails
    assert list(LedgerEntry.objects.filter(generation=doomed).values_list("kind", "amount")) == entries
    doomed.refresh_from_db()
    assert doomed.deleted_at is not None
    assert "a doomed heron" not in client.get("/").content.decode()
    assert "a doomed heron" not in client.get("/?hidden=on").content.decode()
    for url in (f"/g/{doomed.pk}/", f"/g/{doomed.pk}/card/", *(f"/files/{pk}/" for pk in outputs),
                *(f"/files/{pk}/view/" for pk in outputs)):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/api/generations/{doomed.pk}", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    # Out of the gallery, with the feedback on it; the rest moves up.
    assert list(gallery.items.values_list("generation__params__prompt", "position")) == [("a surviving crane", 0)]
    assert not Feedback.objects.exists()
    client.logout()
    share = client.get(f"/s/{link.token}/").content.decode()
    assert "1 item" in share and all(f"/files/{pk}/" not in share for pk in outputs)
    client.force_login(carol)
    assert client.get(f"/files/{outputs[0]}/").status_code == 404


def test_the_audit_keeps_a_deleted_generations_charges(client, admin_user, alice, project, finished):
    doomed = charged(finished(alice, project, "a doomed heron"))
    client.force_login(alice)
    client.post(f"/g/{doomed.pk}/delete/")
    client.force_login(admin_user)
    assert client.get(f"/audit/g/{doomed.pk}/").status_code == 200
    assert ledger.net(generation=doomed) > 0


def test_a_running_job_is_refused_a_waiting_one_is_canceled_first(client, alice, project, account):
    params = {"prompt": "a slow fox", "batch_size": 1, "resolution": "720p"}
    running = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                       params=params)
    running.advance("submitting", Generation.Source.SUBMIT)
    running.advance("queued", Generation.Source.SUBMIT)
    waiting = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                       params=params)
    client.force_login(alice)
    card = client.post(f"/g/{running.pk}/delete/", headers=HTMX).content.decode()
    assert f'id="card-{running.pk}"' in card and "It is still running: cancel it" in card
    running.refresh_from_db()
    assert running.deleted_at is None and running.status == "queued"
    assert client.post(f"/g/{waiting.pk}/delete/", headers=HTMX).content == b""
    waiting.refresh_from_db()
    assert waiting.deleted_at is not None and waiting.status == "canceled"
    assert ledger.net(generation=waiting) == 0  # nothing was sent, nothing is charged
    saving = Generation.objects.create(owner=alice, project=project, model_id="m", status="completed", archived=False)
    Output.objects.create(generation=saving, kind="image", provider_url="https://cdn.example/z.png")
    response = client.post(f"/g/{saving.pk}/delete/", follow=True)
    assert "still being saved" in response.content.decode()
    saving.refresh_from_db()
    assert saving.deleted_at is None


def test_admins_delete_anyones_members_only_their_own(client, alice, bob, admin_user, project, finished):
    mine = finished(alice, project, "alice's fox")
    client.force_login(bob)
    assert client.post(f"/g/{mine.pk}/delete/").status_code == 404
    mine.refresh_from_db()
    assert mine.deleted_at is None
    client.force_login(admin_user)
    assert client.post(f"/g/{mine.pk}/delete/")["Location"] == "/"
    mine.refresh_from_db()
    assert mine.deleted_at is not None


# Several at once.


def test_three_selected_cards_go_in_a_gallery_in_a_zip_are_hidden_and_deleted(client, alice, bob, project, finished):
    gallery = Gallery.objects.create(project=project, name="Picks", created_by=alice)
    three = [finished(alice, project, f"a {word} fox") for word in ("red", "green", "blue")]
    left_alone = finished(alice, project, "an untouched owl")
    bobs = finished(bob, project, "bob's secret")
    ids = [str(g.pk) for g in three] + [str(bobs.pk), "not-an-id", str(uuid.uuid4())]
    client.force_login(alice)

    answer = client.post("/generations/selected/", {"ids": ids, "action": "add", "gallery": gallery.pk},
                         headers=HTMX)
    assert "Added 3 items to “Picks”." in answer.content.decode()
    assert "generationsChanged" in answer["HX-Trigger"]
    assert gallery.items.count() == 3 and not gallery.items.filter(generation=bobs).exists()

    response = client.post("/generations/selected/", {"ids": ids, "action": "zip"})
    assert response["Content-Disposition"].startswith('attachment; filename="higgsweb-3-generations-')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["01-a-blue-fox.png", "02-a-green-fox.png", "03-a-red-fox.png",
                                          "prompts-and-settings.csv"]
    assert "bob's secret" not in archive.read("prompts-and-settings.csv").decode()

    response = client.post("/generations/selected/", {"ids": ids, "action": "hide", "next": "/?q=fox"})
    assert response["Location"] == "/?q=fox"  # without JavaScript: back to the same list
    assert Generation.objects.filter(hidden_at__isnull=False).count() == 3

    answer = client.post("/generations/selected/", {"ids": ids, "action": "delete"}, headers=HTMX).content.decode()
    assert "Deleted 3 generations." in answer
    assert set(Generation.objects.filter(deleted_at__isnull=True)) == {left_alone, bobs}
    assert not gallery.items.exists()


def test_the_selection_refuses_what_it_may_not_do_and_says_so(client, alice, bob, project, finished):
    curated = finished(bob, project, "bob's curated fox")  # Alice sees it through a gallery, but it is Bob's
    Gallery.objects.create(project=project, name="Team").add(curated)
    client.force_login(alice)
    answer = client.post("/generations/selected/", {"ids": [curated.pk], "action": "delete"}, headers=HTMX)
    assert "Deleted 0 generations." in answer.content.decode() and "Only the person who made it" in \
        answer.content.decode()
    answer = client.post("/generations/selected/", {"ids": [curated.pk], "action": "hide"}, headers=HTMX)
    assert "1 left out: only their makers can hide them." in answer.content.decode()
    curated.refresh_from_db()
    assert curated.deleted_at is None and curated.hidden_at is None
    assert "Nothing selected" in client.post("/generations/selected/", {"action": "hide"},
                                             headers=HTMX).content.decode()


def test_clients_have_no_selection(client, carol, alice, project, finished):
    shared = finished(alice, project, "a shared fox")
    carol.gallery.add(shared)
    client.force_login(carol)
    for action in ("zip", "delete", "hide", "add"):
        assert client.post("/generations/selected/", {"ids": [shared.pk], "action": action}).status_code == 404
    shared.refresh_from_db()
    assert shared.deleted_at is None and shared.hidden_at is None


# Denser cards.


def test_sweep_cards_say_the_seed_or_style_that_differs(client, alice, project, finished):
    from characters.models import Style

    Style.objects.create(provider_id="noir", name="Film noir")
    seeds, styles, both = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for seed in (42, 43):
        generation = finished(alice, project, "a kite", seed=seed)
        Generation.objects.filter(pk=generation.pk).update(sweep=seeds)
    for style in ("noir", ""):
        generation = finished(alice, project, "a lamp", seed=7, style_id=style)
        Generation.objects.filter(pk=generation.pk).update(sweep=styles)
    for seed, style in ((1, "noir"), (2, "noir"), (1, ""), (2, "")):
        generation = finished(alice, project, "a boat", seed=seed, style_id=style)
        Generation.objects.filter(pk=generation.pk).update(sweep=both)
    client.force_login(alice)
    html = client.get("/").content.decode()
    captions = re.findall(r'<p class="prompt caption" title="([^"]+)">([^<]+)</p>', html)
    assert sorted(captions) == sorted([
        ("a kite", "seed 42"), ("a kite", "seed 43"),
        ("a lamp", "style “Film noir”"), ("a lamp", "no style"),
        ("a boat", "seed 1 · style “Film noir”"), ("a boat", "seed 2 · style “Film noir”"),
        ("a boat", "seed 1 · no style"), ("a boat", "seed 2 · no style")])
    # A card redrawn on its own says the same.
    kite = Generation.objects.filter(sweep=seeds).get(params__seed=43)
    assert ">seed 43</p>" in client.get(f"/g/{kite.pk}/card/").content.decode()
    grid = client.get(f"/sweeps/{seeds}/").content.decode()  # and on the sweep's own grid, with the viewer
    assert ">seed 42</p>" in grid and ">seed 43</p>" in grid and "<dialog class=\"viewer\"" in grid


def test_failed_blocked_and_canceled_cards_are_compact(client, alice, project):
    for status in ("failed", "nsfw", "canceled", "queued"):
        Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                  params={"prompt": f"a {status} job"}, status=status)
    client.force_login(alice)
    html = client.get("/").content.decode()
    for generation in Generation.objects.all():
        card = card_of(html, generation)
        assert ("compact" in card.split(">")[0]) is (generation.status != "queued")
        assert ('<div class="media' in card) is (generation.status == "queued")


ACTIONS = ("Use these settings", "Same seed", "Vary seed", "Animate", "Make it speak", "Download", "Add to gallery",
           "Hide", "Delete")


def test_each_card_keeps_its_actions_behind_one_menu_fetched_when_it_opens(client, alice, project, finished):
    done = finished(alice, project, "a finished fox", images=4)
    Gallery.objects.create(project=project, name="Picks", created_by=alice)
    client.force_login(alice)
    card = card_of(client.get("/").content.decode(), done)
    assert card.count("<details class=\"menu\"") == 1
    assert f'hx-get="/g/{done.pk}/menu/" hx-trigger="toggle once" hx-target="find .menu-items"' in card
    outside, menu = card.split('<details class="menu"')
    assert outside.count("<button") == 0  # nothing else to press on the card itself
    menu = client.get(f"/g/{done.pk}/menu/", headers=HTMX).content.decode()
    for action in ACTIONS:
        assert action not in card and action in menu, action
    # Without JavaScript the generation's page has the menu written out.
    page = client.get(f"/g/{done.pk}/").content.decode()
    assert all(action in page.split('<details class="menu"')[1] for action in ACTIONS)
    assert client.get(f"/g/{done.pk}/menu/").status_code == 200
