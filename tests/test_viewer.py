"""The full-screen viewer: a server-rendered fragment for the page's <dialog> (or a page of its
own without JavaScript). The team sees prompt, model, seed, settings, character, cost and the
actions for that one image; clients and share-link visitors see the picture, and the prompt and
settings only where the link shows them, never costs."""

import re

import pytest

from characters.models import Character, Style
from generations.models import Gallery, ShareLink

HTMX = {"HX-Request": "true"}


@pytest.fixture
def four(alice, project, finished):
    Style.objects.create(provider_id="style-noir", name="Film noir")
    Character.objects.create(name="Captain Ada", owner=alice, status="completed", provider_id="char-ada")
    return finished(alice, project, "four lighthouses at dusk", images=4, style_id="style-noir",
                    custom_reference_id="char-ada", enhance_prompt=True)


def test_clicking_a_result_opens_the_viewer_not_the_raw_file(client, alice, four):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert '<dialog class="viewer" id="viewer" data-viewer' in html
    thumbs = re.findall(r'<a class="result-thumb[^"]*" href="([^"]+)" data-viewer-open data-viewer-key="(o\d+)"', html)
    assert [href for href, _ in thumbs] == [f"/files/{o.pk}/view/" for o in four.outputs.all()]
    assert 'target="_blank"' not in html.split('id="generation-list"')[1]  # nothing opens the raw file any more


def test_the_team_viewer_has_the_prompt_settings_cost_and_this_images_actions(client, alice, four, project):
    Gallery.objects.create(project=project, name="Picks", created_by=alice)
    third = four.outputs.get(position=2)
    client.force_login(alice)
    response = client.get(f"/files/{third.pk}/view/", headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith(f'<div class="viewer-frame" data-viewer-key="o{third.pk}"')
    assert "<html" not in html  # a fragment for the dialog
    assert f'<img src="/files/{third.pk}/"' in html and "Image 3 of 4" in html
    panel = html.split('<aside class="viewer-panel"')[1]
    for fact in ("four lighthouses at dusk", "<dt>Seed</dt><dd>4242</dd>", "<dt>Style</dt><dd>Film noir</dd>",
                 "<dt>Character</dt><dd>Captain Ada</dd>", "<dt>Aspect ratio</dt><dd>4:3</dd>",
                 "<dt>Enhance prompt</dt><dd>yes</dd>", "<dt>Cost</dt>", "soul/standard"):
        assert fact in panel, fact
    for action in (f"?from={four.pk}&amp;image={third.pk}\"", f"?from={four.pk}&amp;seed=same&amp;image={third.pk}",
                   f"?from={four.pk}&amp;seed=vary&amp;image={third.pk}",
                   f"model=higgsfield-ai/dop/lite&amp;start={third.pk}&amp;",
                   f"model=v1/speak/higgsfield&amp;start={third.pk}&amp;", f"/files/{third.pk}/?download=1"):
        assert action in html, action
    # Add this image (only this one) to a gallery from the viewer: the panel's list answers.
    gallery = Gallery.objects.get()
    answer = client.post(f"/g/{four.pk}/galleries/", {"gallery": gallery.pk, "output": third.pk},
                         headers={**HTMX, "HX-Target": "viewer-galleries"}).content.decode()
    assert f"/galleries/{gallery.pk}/#item-{gallery.items.get().pk}" in answer and "<article" not in answer
    assert list(gallery.items.values_list("output", flat=True)) == [third.pk]


def test_without_javascript_the_same_link_is_a_page_of_its_own(client, alice, four):
    client.force_login(alice)
    html = client.get(f"/files/{four.outputs.first().pk}/view/").content.decode()
    assert "<html" in html and 'class="viewer-page"' in html and 'href="/" data-viewer-close' in html


def test_a_video_plays_and_loops_in_the_viewer(client, alice, project, finished):
    video = finished(alice, project, "waves", kind="video").outputs.get()
    client.force_login(alice)
    html = client.get(f"/files/{video.pk}/view/", headers=HTMX).content.decode()
    assert re.search(rf'<video src="/files/{video.pk}/" poster="/files/{video.pk}/thumb/" controls autoplay', html)


def test_a_client_account_sees_the_picture_without_prompt_settings_or_cost(client, carol, four):
    item = carol.gallery.add(four, output=four.outputs.get(position=1))[0]
    item.title = "Harbour light"
    item.save()
    client.force_login(carol)
    page = client.get(f"/galleries/{carol.gallery.pk}/").content.decode()
    assert f'href="/galleries/{carol.gallery.pk}/items/{item.pk}/view/" data-viewer-open' in page
    html = client.get(f"/galleries/{carol.gallery.pk}/items/{item.pk}/view/", headers=HTMX).content.decode()
    assert 'class="viewer-frame no-panel"' in html and "Harbour light" in html
    assert "lighthouses" not in html and "credit" not in html and "4242" not in html and "viewer-panel" not in html
    other = four.outputs.get(position=0)  # its batch sibling was not shared
    assert client.get(f"/files/{other.pk}/view/").status_code == 404
    # From the generation's page, the same picture opens without settings too.
    html = client.get(f"/files/{four.outputs.get(position=1).pk}/view/", headers=HTMX).content.decode()
    assert "viewer-panel" not in html and "lighthouses" not in html


@pytest.mark.parametrize("show_settings", [False, True])
def test_a_share_link_gets_the_viewer_with_the_panel_only_when_it_shows_settings(client, alice, four, project,
                                                                                 show_settings):
    gallery = Gallery.objects.create(project=project, name="Harbour", created_by=alice)
    item = gallery.add(four, output=four.outputs.get(position=3))[0]
    link = ShareLink.objects.create(gallery=gallery, show_settings=show_settings, allow_downloads=False)
    page = client.get(f"/s/{link.token}/").content.decode()
    assert f'href="/s/{link.token}/items/{item.pk}/view/" data-viewer-open' in page
    html = client.get(f"/s/{link.token}/items/{item.pk}/view/", headers=HTMX).content.decode()
    assert (f'<img src="/s/{link.token}/thumbs/{four.outputs.get(position=3).pk}/"') in html  # downloads off: preview
    assert ("viewer-panel" in html) is show_settings
    assert ("four lighthouses at dusk" in html) is show_settings
    assert "credit" not in html and "Captain Ada" not in html and "Download" not in html
    assert "use these settings" not in html.lower()


def test_the_viewer_is_not_found_for_an_unsaved_or_someone_elses_result(client, alice, bob, project, four):
    from generations.models import Output

    client.force_login(bob)
    assert client.get(f"/files/{four.outputs.first().pk}/view/").status_code == 404
    saving = Output.objects.create(generation=four, position=9, kind="image", provider_url="https://cdn.example/y")
    client.force_login(alice)
    assert client.get(f"/files/{saving.pk}/view/").status_code == 404
