"""Every page on a phone, from the server's side: a navigation that folds into a menu, a
favicon (no 404 per tab), and share pages that show the gallery's title and cover with no
simulator banner and no internal address."""

import pytest
from django.contrib.staticfiles import finders

from generations.models import Gallery, ShareLink


@pytest.fixture
def shared(alice, project, finished):
    gallery = Gallery.objects.create(project=project, name="Launch film", description="Pick your favourites",
                                     created_by=alice)
    gallery.add(finished(alice, project, "a harbour at dawn", kind="video"))
    image = finished(alice, project, "a lighthouse at dusk")
    gallery.add(image)
    link = ShareLink(gallery=gallery)
    link.set_password("")
    link.save()
    return link, image.outputs.get()


def test_the_navigation_is_a_menu_button_controlling_the_links_and_log_out(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert 'data-menu-toggle aria-expanded="false" aria-controls="site-menu"' in html
    menu = html[html.index('id="site-menu"'):html.index("</header>")]
    assert "Log out" in menu and 'href="/characters/"' in menu


def test_every_page_names_an_icon_that_exists(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    assert finders.find("favicon.svg")
    response = client.get("/favicon.ico")  # asked for by a tab showing a bare image
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"


def test_a_share_page_has_the_gallerys_title_and_cover_and_no_internal_address(client, shared, settings):
    settings.USE_SIMULATOR = True
    settings.HIGGSFIELD_BASE_URL = "http://127.0.0.1:8765"
    link, image = shared
    html = client.get(f"/s/{link.token}/").content.decode()
    assert "<title>Launch film</title>" in html
    assert '<meta property="og:title" content="Launch film">' in html
    cover = f"/s/{link.token}/thumbs/{image.pk}/"
    assert f'<meta property="og:image" content="http://testserver{cover}">' in html
    assert f'<img class="gallery-cover" src="{cover}"' in html
    assert "Simulator mode" not in html and "127.0.0.1:8765" not in html
    assert 'href="/"' not in html  # no way into the team's pages from a share link


def test_a_protected_share_link_shows_no_cover_before_the_password(client, shared):
    link, image = shared
    link.set_password("harbour-42")
    link.save()
    html = client.get(f"/s/{link.token}/").content.decode()
    assert "og:image" not in html and "/thumbs/" not in html


def test_clients_see_no_simulator_banner_but_the_team_does(client, carol, alice, settings):
    settings.USE_SIMULATOR = True
    client.force_login(carol)
    assert "Simulator mode" not in client.get("/galleries/").content.decode()
    client.force_login(alice)
    assert "Simulator mode" in client.get("/galleries/").content.decode()


def test_protected_and_closed_share_pages_show_no_banner_but_the_teams_link_page_does(client, shared, alice,
                                                                                    settings):
    settings.USE_SIMULATOR = True
    link, _ = shared
    link.set_password("harbour-42")
    link.save()
    assert "Simulator mode" not in client.get(f"/s/{link.token}/").content.decode()
    link.revoked_at = link.created_at
    link.save()
    assert "Simulator mode" not in client.get(f"/s/{link.token}/").content.decode()
    client.force_login(alice)
    assert "Simulator mode" in client.get(f"/galleries/{link.gallery_id}/links/{link.pk}/").content.decode()
