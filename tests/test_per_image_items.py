"""Each image of a batch is a thing of its own: its own animate, make it speak, download and
add to gallery on the card; gallery items, client approvals, favourites, share pages and the ZIP
work per image; items are called by their title or prompt, never "Item 1…4"."""

import io
import re
import zipfile

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from generations.models import Feedback, Gallery, Generation, ShareLink

HTMX = {"HX-Request": "true"}


@pytest.fixture
def four(alice, project, finished):
    """A batch of four images."""
    return finished(alice, project, "four lighthouses at dusk", images=4)


def card_of(html, generation):
    return re.search(rf'<article[^>]*id="card-{generation.pk}".*?</article>', html, re.S).group(0)


def menu_of(client, generation):
    return client.get(f"/g/{generation.pk}/menu/", headers=HTMX).content.decode()


def test_each_image_of_a_batch_has_its_own_animate_speak_and_download_on_its_card(client, alice, four):
    client.force_login(alice)
    card, menu = card_of(client.get("/").content.decode(), four), menu_of(client, four)
    for output in four.outputs.all():
        assert f"model=higgsfield-ai/dop/lite&amp;start={output.pk}&amp;" in menu
        assert f"model=v1/speak/higgsfield&amp;start={output.pk}&amp;" in menu
        assert f"/files/{output.pk}/?download=1" in menu
        assert f'href="/files/{output.pk}/view/"' in card  # and its own viewer
    # Animate on image 3 opens the image-to-video form with image 3 as its start frame.
    third = four.outputs.get(position=2)
    form = client.get(f"/?model=higgsfield-ai/dop/lite&start={third.pk}&project={four.project_id}").content.decode()
    assert f'name="image_url__pick" value="output:{third.pk}" checked' in form


def test_use_settings_from_one_image_of_a_batch_asks_for_one_image_like_it(client, alice, four):
    third = four.outputs.get(position=2)
    client.force_login(alice)
    assert f"?from={four.pk}&amp;image={third.pk}" in menu_of(client, four)
    one = client.get(f"/?from={four.pk}&image={third.pk}").content.decode()
    whole = client.get(f"/?from={four.pk}").content.decode()
    selected = r'<select name="batch_size"[^>]*>.*?<option value="(\d)" selected>'
    assert re.search(selected, one, re.S).group(1) == "1"
    assert re.search(selected, whole, re.S).group(1) == "4"
    assert "four lighthouses at dusk</textarea>" in one


def test_a_deleted_generations_images_are_not_offered_as_start_frames(client, alice, project, finished):
    kept, doomed = finished(alice, project, "kept"), finished(alice, project, "doomed")
    client.force_login(alice)
    client.post(f"/g/{doomed.pk}/delete/")
    form = client.get("/?model=higgsfield-ai/dop/lite").content.decode()
    assert f'value="output:{kept.outputs.get().pk}"' in form
    assert f'value="output:{doomed.outputs.get().pk}"' not in form


def test_one_image_of_a_batch_goes_in_a_gallery_and_out_again(client, alice, four, project):
    gallery = Gallery.objects.create(project=project, name="Picks", created_by=alice)
    third = four.outputs.get(position=2)
    client.force_login(alice)
    card = client.post(f"/g/{four.pk}/galleries/", {"gallery": gallery.pk, "output": third.pk}, headers=HTMX)
    assert list(gallery.items.values_list("output", flat=True)) == [third.pk]
    assert f"/galleries/{gallery.pk}/#item-" in card.content.decode()
    client.post(f"/g/{four.pk}/galleries/", {"gallery": gallery.pk}, headers=HTMX)  # "all 4"
    assert list(gallery.items.values_list("output__position", flat=True)) == [2, 0, 1, 3]  # image 3 kept its place
    client.post(f"/g/{four.pk}/galleries/", {"gallery": gallery.pk, "output": third.pk, "action": "remove"})
    assert list(gallery.items.values_list("output__position", "position")) == [(0, 0), (1, 1), (3, 2)]
    other = Generation.objects.create(owner=alice, project=project, model_id="m", status="completed")
    client.post(f"/g/{other.pk}/galleries/", {"gallery": gallery.pk, "output": third.pk})  # not its image
    assert gallery.items.count() == 3


def test_a_client_sees_and_approves_image_3_of_4_alone(client, carol, alice, four):
    gallery = carol.gallery
    gallery.created_by = alice
    gallery.save()
    for output in four.outputs.all():
        gallery.add(four, output=output)
    third = gallery.items.get(output__position=2)
    client.force_login(carol)
    page = client.get(f"/galleries/{gallery.pk}/").content.decode()
    assert page.count('class="card item"') == 4 and page.count('name="action" value="approve"') == 4
    html = client.post(f"/galleries/{gallery.pk}/items/{third.pk}/feedback/", {"action": "approve"},
                       headers=HTMX).content.decode()
    assert html.lstrip().startswith(f'<article class="card item" id="item-{third.pk}"') and "Approved" in html
    client.post(f"/galleries/{gallery.pk}/items/{third.pk}/feedback/", {"action": "favourite"}, headers=HTMX)
    answers = Feedback.objects.all()
    assert [(a.item_id, a.verdict, a.favourite) for a in answers] == [(third.pk, "approved", True)]
    # The team is told which image, by name.
    note = alice.notifications.get().message
    assert "approved “four lighthouses at dusk”" in note and "item 3" not in note.lower()


def test_a_client_reaches_only_the_images_that_were_shared_not_the_rest_of_the_batch(client, carol, four):
    shared, left_out = four.outputs.get(position=1), four.outputs.get(position=0)
    carol.gallery.add(four, output=shared)
    client.force_login(carol)
    assert client.get(f"/files/{shared.pk}/").status_code == 200
    for url in (f"/files/{left_out.pk}/", f"/files/{left_out.pk}/thumb/", f"/files/{left_out.pk}/view/"):
        assert client.get(url).status_code == 404, url
    detail = client.get(f"/g/{four.pk}/").content.decode()
    assert f"/files/{shared.pk}/" in detail and f"/files/{left_out.pk}/" not in detail
    link = ShareLink.objects.create(gallery=carol.gallery)
    client.logout()
    assert client.get(f"/s/{link.token}/files/{shared.pk}/").status_code == 200
    assert client.get(f"/s/{link.token}/files/{left_out.pk}/").status_code == 404


def test_share_pages_call_items_by_title_or_prompt_and_never_item_n(client, alice, four, project):
    gallery = Gallery.objects.create(project=project, name="Harbour", created_by=alice)
    for output in four.outputs.all():
        gallery.add(four, output=output)
    first = gallery.items.first()
    hidden = ShareLink.objects.create(gallery=gallery, show_settings=False)
    shown = ShareLink.objects.create(gallery=gallery, show_settings=True)
    page = client.get(f"/s/{hidden.token}/").content.decode()
    assert "Item 1" not in page and "four lighthouses" not in page  # no prompt without "show prompts"
    assert "<strong>Harbour 1</strong>" in page and "<strong>Harbour 4</strong>" in page
    assert "<strong>four lighthouses at dusk</strong>" in client.get(f"/s/{shown.token}/").content.decode()
    # The team names an item; everyone sees that name.
    client.force_login(alice)
    response = client.post(f"/galleries/{gallery.pk}/items/{first.pk}/title/", {"title": "  Hero   shot "},
                           headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<form class="item-title"') and "saved" in html
    first.refresh_from_db()
    assert first.title == "Hero shot"
    client.logout()
    assert "<strong>Hero shot</strong>" in client.get(f"/s/{hidden.token}/").content.decode()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/s/{hidden.token}/download.zip").streaming_content)))
    assert archive.namelist() == ["01-hero-shot.png", "02-harbour-2.png", "03-harbour-3.png", "04-harbour-4.png"]


def test_a_client_cannot_title_items(client, carol, four):
    item = carol.gallery.add(four)[0]
    client.force_login(carol)
    assert client.post(f"/galleries/{carol.gallery.pk}/items/{item.pk}/title/", {"title": "x"}).status_code == 404
    item.refresh_from_db()
    assert item.title == ""


def test_adding_a_batch_adds_each_image_at_the_end_in_order(alice, project, four, finished):
    gallery = Gallery.objects.create(project=project, name="All of them")
    gallery.add(finished(alice, project, "one before"))
    item, created = gallery.add(four)
    assert created and item.output.position == 0
    assert list(gallery.items.values_list("position", "output__position")) == [(0, 0), (1, 0), (2, 1), (3, 2),
                                                                               (4, 3)]
    assert gallery.add(four)[1] is False and gallery.items.count() == 5  # twice is still once


# The migration from one item per generation to one per image.

BEFORE = [("generations", "0010_idempotency_keys"), ("higgsweb", "0004_health_key_valid_and_worker_heartbeat")]
AFTER = [("generations", "0012_gallery_items_one_per_image")]


@pytest.fixture
def latest_schema_afterwards():
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_each_whole_batch_item_becomes_one_item_per_image_keeping_places_and_feedback(latest_schema_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    User, Project = apps.get_model("higgsweb", "User"), apps.get_model("higgsweb", "Project")
    OldGeneration, Output = apps.get_model("generations", "Generation"), apps.get_model("generations", "Output")
    OldGallery, Item = apps.get_model("generations", "Gallery"), apps.get_model("generations", "GalleryItem")
    OldFeedback = apps.get_model("generations", "Feedback")
    owner = User.objects.create(username="m", role="member")
    client = User.objects.create(username="c", role="client")
    project = Project.objects.create(name="P")

    def made(prompt, images):
        generation = OldGeneration.objects.create(owner=owner, project=project, model_id="m", status="completed",
                                               params={"prompt": prompt})
        for position in range(images):
            Output.objects.create(generation=generation, position=position, kind="image", provider_url="https://x/",
                                  file=f"outputs/{prompt}-{position}.png", archived_at=generation.created_at)
        return generation

    single, batch, last = made("single", 1), made("batch", 4), made("last", 1)
    gallery = OldGallery.objects.create(project=project, name="G")
    other = OldGallery.objects.create(project=project, name="Other")
    items = [Item.objects.create(gallery=gallery, generation=g, position=p)
             for p, g in enumerate((single, batch, last))]
    OldFeedback.objects.create(item=items[1], author_key=f"user:{client.pk}", user=client, name="c", verdict="approved",
                            favourite=True, comment="")
    OldFeedback.objects.create(item=items[2], author_key="visitor:abc", name="Bea", verdict="changes", comment="Warmer")
    Item.objects.create(gallery=other, generation=batch, position=0)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    # The models as that migration left them (later migrations may add columns the current ones read).
    apps = executor.loader.project_state(AFTER).apps
    GalleryItem, Feedback = apps.get_model("generations", "GalleryItem"), apps.get_model("generations", "Feedback")
    Generation = apps.get_model("generations", "Generation")
    gallery_items = list(GalleryItem.objects.filter(gallery__name="G").order_by("position", "id")
                         .select_related("output", "generation"))
    assert [(i.position, i.generation.params["prompt"], i.output.position) for i in gallery_items] == [
        (0, "single", 0), (1, "batch", 0), (2, "batch", 1), (3, "batch", 2), (4, "batch", 3), (5, "last", 0)]
    approved = Feedback.objects.filter(verdict="approved").select_related("item__output")
    assert sorted(f.item.output.position for f in approved) == [0, 1, 2, 3]  # the batch's approval, per image
    assert all(f.favourite and f.user.username == "c" for f in approved)
    assert Feedback.objects.get(verdict="changes").item.generation.params["prompt"] == "last"
    assert GalleryItem.objects.filter(gallery__name="Other").count() == 4
    # What the client could see before, they still see: every image of the batch.
    assert Generation.objects.get(params__prompt="batch").outputs.count() == 4

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(BEFORE)  # and back: one item per generation, in the same order
    apps = executor.loader.project_state(BEFORE).apps
    Item = apps.get_model("generations", "GalleryItem")
    assert list(Item.objects.filter(gallery__name="G").order_by("position")
                .values_list("position", "generation__params__prompt")) == [(0, "single"), (1, "batch"), (2, "last")]
