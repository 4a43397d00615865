"""Share links: no account needed, an unguessable token, expiry on by default, an optional
password (hashed, remembered per browser, throttled), downloads and prompts switches,
revocation, and a visit log."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from generations.models import Feedback, Gallery, LinkVisit, ShareLink

HTMX = {"HX-Request": "true"}


@pytest.fixture
def gallery(alice, project, finished):
    gallery = Gallery.objects.create(project=project, name="Launch film", created_by=alice)
    gallery.add(finished(alice, project, "a lighthouse at dusk"))
    gallery.add(finished(alice, project, "a harbour at dawn", kind="video"))
    return gallery


def make_link(gallery, password="", **fields):
    link = ShareLink(gallery=gallery, **fields)
    link.set_password(password)
    link.save()
    return link


def outputs(gallery):
    image, video = (item.generation.outputs.get() for item in gallery.items.all())
    return image, video


def test_a_member_makes_a_link_that_expires_in_30_days_with_a_hashed_password(client, alice, gallery):
    client.force_login(alice)
    form = client.get(f"/galleries/{gallery.pk}/").content.decode()
    assert (timezone.localdate() + timedelta(days=30)).isoformat() in form  # expiry is on by default
    response = client.post(f"/galleries/{gallery.pk}/links/", {
        "label": "Acme", "expires_on": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "new_password": "harbour-42", "allow_downloads": "on"})
    assert response.status_code == 302
    link = ShareLink.objects.get()
    assert link.password.startswith("md5$") and "harbour-42" not in link.password  # hashed (tests use MD5)
    assert link.check_password("harbour-42") and not link.check_password("harbour-43")
    assert len(link.token) >= 32 and link.allow_downloads and not link.show_settings
    assert (link.expires_at - timezone.now()).days in (30, 31)


def test_a_link_without_an_expiry_needs_never_expires_ticked_and_keeps_what_was_typed(client, alice, gallery):
    client.force_login(alice)
    html = client.post(f"/galleries/{gallery.pk}/links/", {"label": "For Bea", "expires_on": ""}).content.decode()
    assert "or tick “Never expires”" in html and 'value="For Bea"' in html
    html = client.post(f"/galleries/{gallery.pk}/links/", {"label": "x", "expires_on": "2001-01-01"}).content.decode()
    assert "after today" in html
    assert not ShareLink.objects.exists()
    client.post(f"/galleries/{gallery.pk}/links/", {"label": "Forever", "never_expires": "on"})
    assert ShareLink.objects.get().expires_at is None


def test_an_anonymous_visitor_sees_the_gallery_without_prompts_and_the_visit_is_logged(client, gallery):
    link = make_link(gallery)
    html = client.get(f"/s/{link.token}/").content.decode()
    image, video = outputs(gallery)
    assert f"/s/{link.token}/thumbs/{image.pk}/" in html
    assert f"/s/{link.token}/files/{video.pk}/" in html
    assert "a lighthouse at dusk" not in html  # prompts hidden unless the link shows them
    assert f'"/files/{image.pk}/' not in html  # never the account-only media URLs
    assert list(link.visits.values_list("event", flat=True)) == ["view"]


def test_unknown_expired_and_revoked_links_show_a_clear_page_and_no_content(client, gallery):
    assert client.get("/s/not-a-real-token-at-all/").status_code == 404
    image, _ = outputs(gallery)
    expired = make_link(gallery, expires_at=timezone.now() - timedelta(minutes=1))
    revoked = make_link(gallery, revoked_at=timezone.now())
    for link, words in ((expired, "It expired on"), (revoked, "switched it off")):
        response = client.get(f"/s/{link.token}/")
        html = response.content.decode()
        assert response.status_code == 410 and "This link no longer works" in html and words in html
        assert "thumbs" not in html and "lighthouse" not in html
        for url in (f"/s/{link.token}/files/{image.pk}/", f"/s/{link.token}/thumbs/{image.pk}/",
                    f"/s/{link.token}/download.zip"):
            assert client.get(url).status_code == 410, url
        assert link.visits.filter(event="refused").exists()


def test_a_revoked_link_stops_at_once(client, alice, gallery):
    link = make_link(gallery)
    assert client.get(f"/s/{link.token}/").status_code == 200
    client.force_login(alice)
    client.post(f"/galleries/{gallery.pk}/links/{link.pk}/revoke/")
    client.logout()
    assert client.get(f"/s/{link.token}/").status_code == 410


def test_a_password_is_asked_first_then_remembered_for_this_link_only(client, gallery):
    link = make_link(gallery, password="harbour-42")
    other = make_link(gallery, password="another-one")
    image, _ = outputs(gallery)
    page = client.get(f"/s/{link.token}/").content.decode()
    assert "This gallery is protected" in page and "thumbs" not in page
    assert client.get(f"/s/{link.token}/thumbs/{image.pk}/").status_code == 302  # media waits for the password
    wrong = client.post(f"/s/{link.token}/", {"password": "nope"})
    assert wrong.status_code == 403 and "not the password" in wrong.content.decode()
    assert "thumbs" not in wrong.content.decode()
    assert client.post(f"/s/{link.token}/", {"password": "harbour-42"})["Location"] == f"/s/{link.token}/"
    assert f"/s/{link.token}/thumbs/{image.pk}/" in client.get(f"/s/{link.token}/").content.decode()
    assert client.get(f"/s/{link.token}/thumbs/{image.pk}/").status_code == 200
    assert "This gallery is protected" in client.get(f"/s/{other.token}/").content.decode()
    link.set_password("changed-now")  # a new password locks out those who knew the old one
    link.save()
    assert "This gallery is protected" in client.get(f"/s/{link.token}/").content.decode()
    events = list(link.visits.order_by("at", "id").values_list("event", flat=True))
    assert events == ["wrong_password", "unlock", "view"]


def test_wrong_passwords_are_throttled_per_address(client, gallery):
    link = make_link(gallery, password="harbour-42")
    for _ in range(ShareLink.MAX_TRIES_PER_ADDRESS):
        assert client.post(f"/s/{link.token}/", {"password": "guess"}).status_code == 403
    response = client.post(f"/s/{link.token}/", {"password": "harbour-42"})
    assert response.status_code == 429 and "Too many wrong passwords" in response.content.decode()
    assert client.post(f"/s/{link.token}/", {"password": "harbour-42"},
                       REMOTE_ADDR="10.0.0.9").status_code == 302  # someone else is not locked out
    LinkVisit.objects.filter(event="wrong_password").update(at=timezone.now() - timedelta(minutes=16))
    assert client.post(f"/s/{link.token}/", {"password": "harbour-42"}).status_code == 302


def test_with_downloads_off_only_previews_and_video_playback_are_served(client, gallery):
    link = make_link(gallery, allow_downloads=False)
    image, video = outputs(gallery)
    html = client.get(f"/s/{link.token}/").content.decode()
    assert "download.zip" not in html and "?download=1" not in html
    assert f"/s/{link.token}/files/{image.pk}/" not in html
    assert client.get(f"/s/{link.token}/thumbs/{image.pk}/").status_code == 200
    assert client.get(f"/s/{link.token}/files/{image.pk}/").status_code == 404
    playing = client.get(f"/s/{link.token}/files/{video.pk}/")
    assert playing.status_code == 200 and playing["Content-Disposition"].startswith("inline")
    assert client.get(f"/s/{link.token}/files/{video.pk}/?download=1").status_code == 404
    assert client.get(f"/s/{link.token}/download.zip").status_code == 404


def test_with_downloads_on_originals_come_as_attachments_and_are_logged(client, gallery):
    link = make_link(gallery)
    image, _ = outputs(gallery)
    response = client.get(f"/s/{link.token}/files/{image.pk}/?download=1")
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == image.file.open("rb").read()
    assert link.visits.filter(event="download").count() == 1


@pytest.mark.parametrize("show_settings", [False, True])
def test_the_zip_carries_prompts_and_settings_only_when_the_link_shows_them(client, gallery, show_settings):
    link = make_link(gallery, show_settings=show_settings)
    html = client.get(f"/s/{link.token}/").content.decode()
    assert ("a lighthouse at dusk" in html) is show_settings
    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/s/{link.token}/download.zip").streaming_content)))
    names = archive.namelist()
    # By the prompt where the link shows prompts; otherwise by the gallery's name and the place.
    if show_settings:
        assert names[:2] == ["01-a-lighthouse-at-dusk.png", "02-a-harbour-at-dawn.mp4"]
    else:
        assert names[:2] == ["01-launch-film-1.png", "02-launch-film-2.mp4"]
    assert ("prompts-and-settings.csv" in names) is show_settings
    if show_settings:
        rows = archive.read("prompts-and-settings.csv").decode().splitlines()
        assert rows[0].startswith("file,item,title,model,prompt,seed")
        assert rows[1].startswith("01-a-lighthouse-at-dusk.png,1,a lighthouse at dusk,higgsfield-ai/soul/standard,"
                                  "a lighthouse at dusk,4242")
    assert link.visits.filter(event="zip").exists()


def test_a_visitor_gives_a_name_once_then_approves_and_asks_for_changes(client, alice, gallery):
    link = make_link(gallery, label="Acme")
    first, second = gallery.items.all()
    feedback = f"/s/{link.token}/items/{first.pk}/feedback/"
    refused = client.post(feedback, {"action": "approve"}, headers=HTMX).content.decode()
    assert "Give your name at the top of the page first" in refused
    assert not Feedback.objects.exists()
    page = client.get(f"/s/{link.token}/").content.decode()
    assert 'name="name"' in page and 'name="action"' not in page
    assert "Please give a name" in client.post(f"/s/{link.token}/name/", {"name": "   "}).content.decode()
    client.post(f"/s/{link.token}/name/", {"name": "Bea  Client"})
    page = client.get(f"/s/{link.token}/").content.decode()
    assert "Answering as <strong>Bea Client</strong>" in page and 'name="name"' not in page
    client.post(feedback, {"action": "approve"}, headers=HTMX)
    html = client.post(f"/s/{link.token}/items/{second.pk}/feedback/",
                       {"action": "changes", "comment": "Slower pan"}, headers=HTMX).content.decode()
    assert "Changes requested" in html and "You asked: Slower pan" in html
    answers = {a.item_id: a for a in Feedback.objects.all()}
    assert answers[first.pk].verdict == "approved" and answers[second.pk].comment == "Slower pan"
    assert answers[first.pk].name == "Bea Client" and answers[first.pk].link == link
    assert answers[first.pk].author_key == answers[second.pk].author_key  # one visitor, one identity
    client.force_login(alice)
    log = client.get(f"/galleries/{gallery.pk}/links/{link.pk}/").content.decode()
    assert "Bea Client: changes on item 2, “a harbour at dawn”" in log and "Opened the gallery" in log
    assert '<span class="badge badge-link-live">Live</span>' in log


def test_the_team_edits_a_links_expiry_and_password(client, alice, gallery):
    link = make_link(gallery, password="harbour-42")
    client.force_login(alice)
    later = timezone.localdate() + timedelta(days=90)
    client.post(f"/galleries/{gallery.pk}/links/{link.pk}/", {
        "label": "Acme", "expires_on": later.isoformat(), "remove_password": "on", "allow_downloads": "on"})
    link.refresh_from_db()
    assert timezone.localdate(link.expires_at) == later + timedelta(days=1)
    assert not link.has_password and not link.show_settings
