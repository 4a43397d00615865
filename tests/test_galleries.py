"""Galleries for the team and for client accounts: curating, reordering, sharing with
client accounts, client feedback, and what the team sees of it."""

import io
import re
import zipfile

import pytest

from generations.models import Feedback, Gallery, Generation
from higgsweb.models import Project, User

HTMX = {"HX-Request": "true"}


@pytest.fixture
def gallery(alice, project):
    return Gallery.objects.create(project=project, name="Spring picks", created_by=alice)


@pytest.fixture
def three(alice, project, finished):
    return [finished(alice, project, f"a {word} fox") for word in ("red", "green", "blue")]


def order(gallery):
    return list(gallery.items.values_list("generation__params__prompt", flat=True))


def test_a_member_creates_a_gallery_and_a_duplicate_name_is_refused_on_its_field(client, alice, project):
    client.force_login(alice)
    response = client.post("/galleries/new/", {"project": project.pk, "name": "Hero shots"})
    gallery = Gallery.objects.get()
    assert response["Location"] == f"/galleries/{gallery.pk}/"
    assert gallery.created_by == alice
    html = client.post("/galleries/new/", {"project": project.pk, "name": "hero shots",
                                           "description": "kept"}).content.decode()
    assert "already has a gallery with this name" in html and "kept" in html
    assert Gallery.objects.count() == 1


def test_cards_add_finished_work_to_a_gallery_of_its_project_and_take_it_out(client, alice, gallery, three, finished):
    client.force_login(alice)
    red = three[0]
    card = client.post(f"/g/{red.pk}/galleries/", {"gallery": gallery.pk}, headers=HTMX).content.decode()
    assert card.lstrip().startswith('<article class="card')
    assert f"/galleries/{gallery.pk}/#item-" in card  # the card now shows where it is
    assert order(gallery) == ["a red fox"]
    client.post(f"/g/{red.pk}/galleries/", {"gallery": gallery.pk}, headers=HTMX)  # twice is still once
    assert gallery.items.count() == 1
    other = Project.objects.create(name="Other client")
    elsewhere = finished(alice, other, "a stray cat")
    client.post(f"/g/{elsewhere.pk}/galleries/", {"gallery": gallery.pk}, headers=HTMX)
    pending = Generation.objects.create(owner=alice, project=gallery.project, model_id="m", status="queued")
    client.post(f"/g/{pending.pk}/galleries/", {"gallery": gallery.pk})
    assert order(gallery) == ["a red fox"]
    client.post(f"/g/{red.pk}/galleries/", {"gallery": gallery.pk, "action": "remove"}, headers=HTMX)
    assert not gallery.items.exists()


def test_the_main_gallery_offers_each_finished_card_the_projects_galleries(client, alice, gallery, three):
    client.force_login(alice)
    html = client.get("/").content.decode()
    menus = re.findall(r'<details class="menu" data-menu hx-get="(/g/[^"]+/menu/)"', html)
    assert len(menus) == 3  # each card's menu comes when it is opened
    for url in menus:
        menu = client.get(url, headers=HTMX).content.decode()
        assert menu.count('class="add-to-gallery"') == 1
        assert f'<option value="{gallery.pk}">Spring picks</option>' in menu


def test_items_move_up_down_and_to_a_typed_position(client, alice, gallery, three):
    for generation in three:
        gallery.add(generation)
    red, green, blue = gallery.items.all()
    client.force_login(alice)
    response = client.post(f"/galleries/{gallery.pk}/items/{blue.pk}/move/", {"direction": "up"}, headers=HTMX)
    assert response.content.decode().lstrip().startswith('<div id="gallery-items"')
    assert order(gallery) == ["a red fox", "a blue fox", "a green fox"]
    client.post(f"/galleries/{gallery.pk}/items/{red.pk}/move/", {"position": "3"}, headers=HTMX)
    assert order(gallery) == ["a blue fox", "a green fox", "a red fox"]
    client.post(f"/galleries/{gallery.pk}/items/{red.pk}/move/", {"position": "99"})  # clamped to the end
    client.post(f"/galleries/{gallery.pk}/items/{blue.pk}/move/", {"direction": "down"})
    assert order(gallery) == ["a green fox", "a blue fox", "a red fox"]
    client.post(f"/galleries/{gallery.pk}/items/{blue.pk}/remove/", headers=HTMX)
    assert order(gallery) == ["a green fox", "a red fox"]
    assert list(gallery.items.values_list("position", flat=True)) == [0, 1]


def test_a_client_sees_only_the_finished_items_of_galleries_shared_with_them(client, carol, alice, gallery, three):
    shared = carol.gallery
    shared.add(three[0])
    gallery.add(three[1])  # the team's own gallery, not shared with Carol
    client.force_login(carol)
    index = client.get("/galleries/").content.decode()
    assert "For Carol" in index and "Spring picks" not in index
    page = client.get(f"/galleries/{shared.pk}/").content.decode()
    red_output = three[0].outputs.get()
    assert f"/files/{red_output.pk}/thumb/" in page
    assert "a red fox" not in page and "credits" not in page.lower()  # no prompts or costs for clients
    assert client.get(f"/galleries/{gallery.pk}/").status_code == 404
    green = three[1]
    for url in (f"/g/{green.pk}/", f"/g/{green.pk}/card/", f"/files/{green.outputs.get().pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/files/{red_output.pk}/").status_code == 200
    shared.items.all().delete()  # taken out of the gallery: the client loses it at once
    assert client.get(f"/files/{red_output.pk}/").status_code == 404


def test_team_only_gallery_pages_are_not_found_for_a_client_of_that_gallery(client, carol, three):
    item = carol.gallery.add(three[0])[0]
    client.force_login(carol)
    gallery = carol.gallery
    assert client.post(f"/galleries/{gallery.pk}/edit/", {"name": "x"}).status_code == 404
    assert client.post(f"/galleries/{gallery.pk}/items/{item.pk}/remove/").status_code == 404
    assert client.post(f"/galleries/{gallery.pk}/links/", {"label": "x"}).status_code == 404
    assert client.get("/galleries/feedback/").status_code == 404
    assert gallery.items.count() == 1


def test_client_feedback_approve_favourite_and_changes_with_a_required_comment(client, carol, alice, three):
    gallery = carol.gallery
    gallery.created_by = alice
    gallery.save()
    first, second = (gallery.add(g)[0] for g in three[:2])
    client.force_login(carol)
    url = f"/galleries/{gallery.pk}/items/{first.pk}/feedback/"
    html = client.post(url, {"action": "approve"}, headers=HTMX).content.decode()
    assert html.lstrip().startswith(f'<article class="card item" id="item-{first.pk}"') and "Approved" in html
    client.post(url, {"action": "favourite"}, headers=HTMX)
    answer = Feedback.objects.get(item=first)
    assert (answer.verdict, answer.favourite, answer.user, answer.name) == ("approved", True, carol, "carol")
    url = f"/galleries/{gallery.pk}/items/{second.pk}/feedback/"
    html = client.post(url, {"action": "changes", "comment": "  "}, headers=HTMX).content.decode()
    assert "Say what should change" in html
    assert not Feedback.objects.filter(item=second).exists()
    client.post(url, {"action": "changes", "comment": "Warmer light, please"}, headers=HTMX)
    assert Feedback.objects.get(item=second).verdict == "changes"
    notes = list(alice.notifications.values_list("message", flat=True))
    assert any("asked for changes" in note and "Warmer light" in note for note in notes)


def test_the_team_sees_feedback_on_the_item_and_in_the_list_and_reopens_the_studio_with_its_settings(
        client, carol, alice, bob, three):
    gallery = carol.gallery
    item = gallery.add(three[0])[0]
    Feedback.objects.give(item, "changes", author_key=f"user:{carol.pk}", name="carol", comment="Less fog",
                          user=carol)
    client.force_login(bob)  # another member: curated work is the team's, whoever made it
    assert "Less fog" in client.get(f"/galleries/{gallery.pk}/").content.decode()
    assert "Less fog" in client.get(f"/g/{three[0].pk}/").content.decode()
    listing = client.get("/galleries/feedback/?show=changes").content.decode()
    assert "Less fog" in listing
    studio = f"/?from={three[0].pk}"
    assert studio.replace("&", "&amp;") in listing
    form = client.get(studio).content.decode()
    assert 'id="id_prompt">\na red fox</textarea>' in form  # the studio form starts from its settings
    assert client.get("/galleries/feedback/?show=approved").content.decode().count("Less fog") == 0
    assert client.get(f"/g/{three[1].pk}/").status_code == 404  # not curated: still Alice's alone


def test_sharing_a_gallery_tells_the_client(client, alice, project):
    dave = User.objects.create_user("dave", password="pw-dave-123", role=User.Role.CLIENT)
    client.force_login(alice)
    gallery = Gallery.objects.create(project=project, name="Launch")
    client.post(f"/galleries/{gallery.pk}/edit/", {"name": "Launch", "clients": [dave.pk]})
    assert list(gallery.clients.all()) == [dave]
    assert dave.notifications.get().url == f"/galleries/{gallery.pk}/"


def test_the_zip_has_the_originals_and_for_the_team_a_csv_of_settings(client, alice, carol, three):
    gallery = carol.gallery
    for generation in three[:2]:
        gallery.add(generation)
    client.force_login(alice)
    response = client.get(f"/galleries/{gallery.pk}/download.zip")
    assert response["Content-Disposition"] == 'attachment; filename="for-carol.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    # Named by the prompt for the team, never "item 1"
    assert archive.namelist() == ["01-a-red-fox.png", "02-a-green-fox.png", "prompts-and-settings.csv"]
    assert archive.read("01-a-red-fox.png") == three[0].outputs.get().file.open("rb").read()
    assert "a red fox" in archive.read("prompts-and-settings.csv").decode()
    client.force_login(carol)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/galleries/{gallery.pk}/download.zip")
                                                  .streaming_content)))
    # A client, who never sees prompts, gets the items' titles, or the gallery's name and place.
    assert archive.namelist() == ["01-for-carol-1.png", "02-for-carol-2.png"]
    gallery.items.filter(position=0).update(title="Hero, warm light")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/galleries/{gallery.pk}/download.zip")
                                                  .streaming_content)))
    assert archive.namelist() == ["01-hero-warm-light.png", "02-for-carol-2.png"]


def test_the_studio_gallery_sends_clients_to_their_galleries_and_nav_says_galleries(client, carol):
    client.force_login(carol)
    assert client.get("/")["Location"] == "/galleries/"
    html = client.get("/galleries/").content.decode()
    assert 'href="/galleries/">Galleries</a>' in html and 'href="/">Gallery</a>' not in html
