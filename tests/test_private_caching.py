"""Private pages stay private: every page, fragment and JSON answer says
`Cache-Control: private, no-store`; media views keep their own browser caching, marked
private; share-link pages and their files are never for a shared cache either."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from generations.models import ApiToken, Gallery, ShareLink


def directives(response):
    return {part.strip().split("=")[0] for part in response.get("Cache-Control", "").split(",") if part.strip()}


def plain_routes(patterns=None, prefix=""):
    """Every named route that captures nothing (admin/ aside)."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith("admin/"):
                yield from plain_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and not entry.pattern.converters and entry.name:
            yield entry.name


# The same for everyone, and named so: a redirect to the static icon.
PUBLIC = {"favicon"}


@pytest.fixture
def shown(db, alice, project, finished):
    generation = finished(alice, project, "a lighthouse")
    gallery = Gallery.objects.create(project=project, name="Picks", created_by=alice)
    gallery.add(generation)
    link = ShareLink.objects.create(gallery=gallery)
    return generation, gallery, link


@pytest.mark.parametrize("name", sorted(set(plain_routes()) - PUBLIC))
def test_every_page_says_private_no_store_to_someone_logged_in(client, admin_user, name):
    client.force_login(admin_user)
    response = client.get(reverse(name))
    assert {"private", "no-store"} <= directives(response), (name, response.status_code, response.get("Cache-Control"))


def test_the_icon_redirect_is_the_only_page_a_browser_may_keep():
    assert PUBLIC <= set(plain_routes())


def test_pages_fragments_and_json_of_ones_own_work_are_private_no_store(client, alice, shown):
    generation, gallery, _ = shown
    client.force_login(alice)
    urls = [generation.get_absolute_url(), reverse("generation-card", args=[generation.pk]),
            reverse("gallery-detail", args=[gallery.pk]), "/?page=1", reverse("studio-form")]
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code in (200, 286), url  # 286: a settled card stops polling
            assert {"private", "no-store"} <= directives(response), url
    raw = ApiToken.objects.issue(alice)[1]
    response = client.get(f"/api/generations/{generation.pk}", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200 and {"private", "no-store"} <= directives(response)


def test_media_keeps_its_browser_caching_and_says_private(client, alice, shown):
    generation, gallery, _ = shown
    client.force_login(alice)
    output = generation.outputs.get()
    for url in (reverse("output-file", args=[output.pk]), reverse("output-thumb", args=[output.pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert "private" in directives(response) and "max-age" in directives(response)
        assert "public" not in directives(response)
    raw = ApiToken.objects.issue(alice)[1]
    response = client.get(f"/api/outputs/{output.pk}", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200 and "private" in directives(response)
    response = client.get(reverse("gallery-zip", args=[gallery.pk]))
    assert response.status_code == 200 and "private" in directives(response)


def test_share_link_pages_and_files_are_private(client, shown):
    generation, _, link = shown
    page = client.get(link.get_absolute_url())
    assert page.status_code == 200
    assert {"private", "no-store"} <= directives(page)
    output = generation.outputs.get()
    for url in (reverse("share-thumb", args=[link.token, output.pk]),
                reverse("share-file", args=[link.token, output.pk]), reverse("share-zip", args=[link.token])):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "private" in directives(response) and "public" not in directives(response), url
