"""The live feed an open gallery polls: new work the viewer may see, and nothing else."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bench.livefeed import with_cursor
from generations import feed
from generations.models import Gallery, Generation

HX = {"HX-Request": "true"}


def feed_url(client, path="/"):
    """The feed URL the page (or list) at `path` polls, with the cursor it sends."""
    html = client.get(path).content.decode()
    found = re.search(r'id="(?:live|gallery)-feed"[^>]*hx-get="([^"]+)"', html)
    assert found, "the page carries no live feed"
    return with_cursor(found.group(1).replace("&amp;", "&"), html)


def draft(owner, project, prompt):
    return Generation.objects.create(owner=owner, project=project, model_id="higgsfield-ai/soul/standard",
                                     params={"prompt": prompt})


def test_a_job_started_in_another_tab_comes_through_the_open_gallerys_feed_once(client, alice, project):
    client.force_login(alice)
    url = feed_url(client)
    assert client.get(url, headers=HX).status_code == 204
    draft(alice, project, "a fox from the other tab")
    answer = client.get(url, headers=HX)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "a fox from the other tab" in html
    assert 'hx-swap-oob="afterbegin:#generation-grid"' in html
    # Only the cursor moves: the poller stays, so its 1 s cadence does not start over after each answer.
    assert re.search(r'id="feed-cursor"[^>]*hx-swap-oob="true"', html) and 'id="live-feed"' not in html
    following = with_cursor(url, html)
    assert client.get(following, headers=HX).status_code == 204


def test_a_job_that_commits_after_a_later_one_still_comes_through_and_nothing_comes_twice(client, alice, project):
    """A job's time is set when it is created; its transaction can commit after the page was
    read, or after a later job was already shown. The feed still brings it, once."""
    client.force_login(alice)
    on_page = draft(alice, project, "already on the page")
    url = feed_url(client)
    assert client.get(url, headers=HX).status_code == 204  # the page's own card is not sent again
    late = draft(alice, project, "a slow transaction")
    later = draft(alice, project, "a quick one")
    # The first job was created before the page was read but committed only now.
    Generation.objects.filter(pk=late.pk).update(created_at=on_page.created_at - timedelta(seconds=3))
    Generation.objects.filter(pk=later.pk).update(created_at=timezone.now())
    html = client.get(url, headers=HX).content.decode()
    assert "a slow transaction" in html and "a quick one" in html and "already on the page" not in html
    following = with_cursor(url, html)
    assert client.get(following, headers=HX).status_code == 204
    # One more commits late, behind the cursor the last answer moved on to.
    laggard = draft(alice, project, "committed last, started first")
    Generation.objects.filter(pk=laggard.pk).update(created_at=timezone.now() - timedelta(seconds=5))
    html = client.get(following, headers=HX).content.decode()
    assert "committed last, started first" in html and "a quick one" not in html


def test_a_teammates_work_already_on_the_page_is_not_sent_again(client, alice, bob, project, finished):
    """The feed brings a teammate's work by when it was put in a gallery; the page that already
    shows it leaves it out of the cursor's reach, so an idle gallery's polls stay empty."""
    theirs = finished(bob, project, "bob's harbour")
    Generation.objects.filter(pk=theirs.pk).update(created_at=timezone.now() - timedelta(days=2))
    Gallery.objects.create(project=project, name="Picks").add(theirs, by=bob)  # just now
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert "bob&#x27;s harbour" in page
    url = feed_url(client)
    assert client.get(url, headers=HX).status_code == 204


def test_a_teammates_job_stays_out_of_a_members_feed_until_it_is_put_in_a_gallery_of_theirs(
        client, alice, bob, project, finished):
    client.force_login(alice)
    url = feed_url(client)
    theirs = finished(bob, project, "bob's lighthouse")
    assert client.get(url, headers=HX).status_code == 204
    Gallery.objects.create(project=project, name="Picks").add(theirs, by=bob)
    answer = client.get(url, headers=HX)
    assert answer.status_code == 200 and "bob&#x27;s lighthouse" in answer.content.decode()


def test_an_admins_feed_brings_everyones_new_jobs(client, admin_user, alice, project):
    client.force_login(admin_user)
    url = feed_url(client)
    draft(alice, project, "alice's kite")
    assert "alice&#x27;s kite" in client.get(url, headers=HX).content.decode()


def test_the_feed_keeps_the_gallerys_filters(client, alice, project):
    client.force_login(alice)
    url = feed_url(client, "/?q=harbour")
    assert "q=harbour" in url
    draft(alice, project, "a mountain")
    assert client.get(url, headers=HX).status_code == 204
    draft(alice, project, "a harbour at dusk")
    html = client.get(url, headers=HX).content.decode()
    assert "a harbour at dusk" in html and "a mountain" not in html


def test_a_client_has_no_studio_feed_and_a_bad_cursor_is_refused(client, alice, carol):
    client.force_login(carol)
    assert client.get("/feed/?since=1").status_code == 404
    client.force_login(alice)
    assert client.get("/feed/?since=soon").status_code == 400


def test_a_clients_gallery_feed_brings_items_the_team_adds_and_nothing_from_other_galleries(
        client, alice, carol, project, finished):
    client.force_login(carol)
    url = feed_url(client, carol.gallery.get_absolute_url())
    assert client.get(url, headers=HX).status_code == 204
    Gallery.objects.create(project=project, name="Internal").add(finished(alice, project, "internal draft"))
    assert client.get(url, headers=HX).status_code == 204
    carol.gallery.add(finished(alice, project, "for the client"), by=alice)
    answer = client.get(url, headers=HX)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'hx-swap-oob="beforeend:#gallery-grid"' in html
    assert "for the client" not in html  # clients are not shown prompts
    assert html.count('class="card item"') == 1


def test_a_client_cannot_poll_a_gallery_not_shared_with_them(client, carol, project):
    other = Gallery.objects.create(project=project, name="Not yours")
    client.force_login(carol)
    assert client.get(f"/galleries/{other.pk}/feed/?since=0").status_code == 404


def test_the_team_page_of_a_gallery_is_redrawn_when_a_teammate_adds_to_it(client, alice, bob, project, finished):
    gallery = Gallery.objects.create(project=project, name="Picks")
    client.force_login(alice)
    url = feed_url(client, gallery.get_absolute_url())
    assert client.get(url, headers=HX).status_code == 204
    gallery.add(finished(bob, project, "bob's pick"), by=bob)
    html = client.get(url, headers=HX).content.decode()
    assert 'id="gallery-items" hx-swap-oob="true"' in html and "bob&#x27;s pick" in html


def test_a_gallery_item_that_commits_late_still_reaches_an_open_client_gallery_once(
        client, alice, carol, project, finished):
    """Item ids are handed out as rows are inserted, not as they commit: a slow transaction's item
    can commit after one with a higher id was shown. The feed still brings it, once."""
    slow, _ = carol.gallery.add(finished(alice, project, "added in a slow transaction"), by=alice)
    carol.gallery.add(finished(alice, project, "on the page"), by=alice)
    kept = {field.attname: getattr(slow, field.attname) for field in type(slow)._meta.concrete_fields}
    slow.delete()  # not committed yet when the page is read
    client.force_login(carol)
    url = feed_url(client, carol.gallery.get_absolute_url())
    assert client.get(url, headers=HX).status_code == 204  # what the page shows is not sent again
    type(slow).objects.create(**kept)  # commits now, with its lower id
    answer = client.get(url, headers=HX)
    assert answer.status_code == 200 and answer.content.decode().count('class="card item"') == 1
    assert client.get(with_cursor(url, answer.content.decode()), headers=HX).status_code == 204


@pytest.mark.parametrize("value", ["", "x", "99999999999999999999999"])
def test_a_cursor_that_is_not_a_time_reads_as_none(value):
    assert feed.moment_of(value) is None


LIST = {"HX-Request": "true", "HX-Target": "generation-list"}


def test_a_stored_card_is_drawn_again_when_it_goes_into_a_gallery_or_is_hidden(client, alice, project, finished):
    done = finished(alice, project, "a quiet pier")
    client.force_login(alice)

    def card():
        html = client.get("/?hidden=on", headers=LIST).content.decode()
        return re.search(rf'<article[^>]*id="card-{done.pk}".*?</article>', html, re.S).group(0)

    assert "Spring picks" not in card() and card() == card()
    Gallery.objects.create(project=project, name="Spring picks").add(done)
    assert "Spring picks" in card()
    client.post(f"/g/{done.pk}/hide/", {"hidden": "yes"})
    assert "badge-hidden" in card()


def test_a_stored_card_carries_each_viewers_own_csrf_token(alice, project, finished):
    from django.test import Client

    done = finished(alice, project, "a windmill")
    gallery = Gallery.objects.create(project=project, name="Mills")
    gallery.add(done)
    for _ in range(2):  # drawn, then from the cache
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(alice)
        html = browser.get("/", headers=LIST).content.decode()
        token = re.search(rf'action="/g/{done.pk}/galleries/".*?name="csrfmiddlewaretoken" value="(\w+)"', html,
                          re.S).group(1)
        answer = browser.post(f"/g/{done.pk}/galleries/", {"gallery": gallery.pk, "action": "remove",
                                                            "csrfmiddlewaretoken": token}, headers=HX)
        assert answer.status_code == 200
        gallery.add(done)
