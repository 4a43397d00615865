"""Every URL that names an object, tried by client A with the ids of another client's and of
the team's objects, with every method: 404 each time, and nothing changes. A's own pages and
fragments mention none of the others' ids.

A new route that captures a value must get an entry in MATRIX (how to build its URL from
someone else's object) or, if it is legitimately outside it, in OUTSIDE with the reason."""

import re
import uuid
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from characters.models import Character
from generations.models import (
    ApiToken,
    Feedback,
    Gallery,
    GalleryItem,
    Generation,
    HistoryImport,
    ProviderAccount,
    ShareLink,
    Upload,
)
from higgsweb.models import Notification, Project, User

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def team_items(x, a):
    """Another's gallery and item; A's gallery with another's item; A's own item (team-only routes)."""
    return [{"pk": x.gallery.pk, "item": x.item.pk}, {"pk": a.gallery.pk, "item": x.item.pk},
            {"pk": a.gallery.pk, "item": a.item.pk}]


def team_links(x, a):
    return [{"pk": x.gallery.pk, "link": x.link.pk}, {"pk": a.gallery.pk, "link": x.link.pk},
            {"pk": a.gallery.pk, "link": a.link.pk}]


# route name → function(objects of the other party, A's objects) → list of URL kwargs.
# `x` is client B's or the team's set of objects; `a` is A's own (for mixed URLs: A's
# gallery or link with someone else's item, output or link id).
MATRIX = {
    "sweep": lambda x, a: [{"pk": x.sweep}] if x.sweep else [],
    "generation-detail": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-card": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-cancel": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-retry": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-galleries": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-menu": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-hide": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "generation-delete": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "output-file": lambda x, a: [{"pk": o.pk} for o in x.outputs],
    "output-thumb": lambda x, a: [{"pk": o.pk} for o in x.outputs],
    "output-view": lambda x, a: [{"pk": o.pk} for o in x.outputs],
    "upload-file": lambda x, a: [{"pk": x.upload.pk}] if x.upload else [],
    "api-generation": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "api-generation-cancel": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "api-output": lambda x, a: [{"pk": o.pk} for o in x.outputs],
    "audit-generation": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "audit-resolve": lambda x, a: [{"pk": g.pk} for g in x.generations],
    "character-detail": lambda x, a: [{"pk": x.character.pk}] if x.character else [],
    "character-card": lambda x, a: [{"pk": x.character.pk}] if x.character else [],
    "character-delete": lambda x, a: [{"pk": x.character.pk}] if x.character else [],
    "character-retrain": lambda x, a: [{"pk": x.character.pk}] if x.character else [],
    "character-thumbnail": lambda x, a: [{"pk": x.character.pk}] if x.character else [],
    "character-photo": lambda x, a: [{"pk": x.character.pk, "position": 0}] if x.character else [],
    # Provider accounts are the admins' alone; an import is its owner's (and the admins').
    "provider-account": lambda x, a: [{"pk": x.account.pk}] if x.account else [],
    "provider-account-check": lambda x, a: [{"pk": x.account.pk}] if x.account else [],
    "history-import": lambda x, a: [{"pk": x.history_import.pk}] if x.history_import else [],
    "gallery-detail": lambda x, a: [{"pk": x.gallery.pk}],
    "gallery-edit": lambda x, a: [{"pk": x.gallery.pk}, {"pk": a.gallery.pk}],  # team-only, even for A's own
    "gallery-delete": lambda x, a: [{"pk": x.gallery.pk}, {"pk": a.gallery.pk}],
    "gallery-zip": lambda x, a: [{"pk": x.gallery.pk}],
    "gallery-feed": lambda x, a: [{"pk": x.gallery.pk}],
    "gallery-link-create": lambda x, a: [{"pk": x.gallery.pk}, {"pk": a.gallery.pk}],
    "gallery-item-move": team_items,
    "gallery-item-remove": team_items,
    "gallery-item-feedback": lambda x, a: [{"pk": x.gallery.pk, "item": x.item.pk},
                                           {"pk": a.gallery.pk, "item": x.item.pk}],
    "gallery-item-title": team_items,
    "gallery-item-view": lambda x, a: [{"pk": x.gallery.pk, "item": x.item.pk},
                                       {"pk": a.gallery.pk, "item": x.item.pk}],
    "gallery-link": team_links,
    "gallery-link-revoke": team_links,
    # Share links: holding a live token is the permission itself (it is what the team hands
    # out), so A gets a token nobody gave A, or A's own live token with others' ids.
    "share": lambda x, a: [{"token": x.guessed_token}],
    "share-name": lambda x, a: [{"token": x.guessed_token}],
    "share-zip": lambda x, a: [{"token": x.guessed_token}],
    "share-feedback": lambda x, a: [{"token": a.link.token, "item": x.item.pk},
                                    {"token": x.guessed_token, "item": a.item.pk}],
    "share-item-view": lambda x, a: [{"token": a.link.token, "item": x.item.pk},
                                     {"token": x.guessed_token, "item": a.item.pk}],
    "share-file": lambda x, a: [{"token": a.link.token, "pk": o.pk} for o in x.outputs]
                               + [{"token": x.guessed_token, "pk": a.outputs[0].pk}],
    "share-thumb": lambda x, a: [{"token": a.link.token, "pk": o.pk} for o in x.outputs]
                                + [{"token": x.guessed_token, "pk": a.outputs[0].pk}],
}

OUTSIDE = {
    "webhook-v1": "provider-facing: authenticated by the per-generation X-Webhook-Secret-Key (401 without it, "
                  "POST only) and serves no content",
    "webhook-pixazo": "provider-facing: the per-generation HMAC token in the URL is the check (404 on a mismatch, "
                      "POST only) and serves no content",
    "upload-public": "provider-facing capability URL: the provider fetches input files by an unguessable token "
                     "without credentials, by design",
    "character-photo-public": "provider-facing capability URL: training photos by an unguessable token, only while "
                              "the character waits to train or trains",
}


def routes(patterns=None, prefix=""):
    """(name, route) of every URL pattern that captures a value, admin/ excluded."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith("admin/"):
                continue
            yield from routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and entry.pattern.converters:
            yield entry.name, route


def make_generation(owner, project, prompt, *, sweep=None, status="completed", images=1):
    generation = Generation.objects.create(owner=owner, project=project, model_id="higgsfield-ai/soul/standard",
                                           params={"prompt": prompt}, status=status, archived=True, sweep=sweep)
    for position in range(images):
        output = generation.outputs.create(kind="image", provider_url="https://cdn.example/x.png", position=position,
                                           content_type="image/png", archived_at=generation.created_at)
        output.file.save("x.png", ContentFile(b"\x89PNG fake"), save=False)
        output.thumbnail.save("x.webp", ContentFile(b"RIFF fake"), save=False)
        output.save()
    return generation


def client_world(name, project, member):
    """A client account with one gallery shared with it, one item, a live link, feedback."""
    user = User.objects.create_user(name, password=f"pw-{name}-123", role=User.Role.CLIENT)
    generation = make_generation(member, project, f"{name}'s picture")
    gallery = Gallery.objects.create(project=project, name=f"{name.title()} gallery", created_by=member)
    gallery.clients.add(user)
    item, _ = gallery.add(generation)
    link = ShareLink.objects.create(gallery=gallery, label=f"for {name}")
    Feedback.objects.give(item, "changes", author_key=f"user:{user.pk}", name=name, comment=f"{name} wants more",
                          user=user)
    Notification.objects.create(user=user, kind="shared", message=f"{gallery.name} shared",
                                url=gallery.get_absolute_url())
    return SimpleNamespace(user=user, gallery=gallery, item=item, link=link, generations=[generation],
                           outputs=list(generation.outputs.all()), sweep=None, upload=None, character=None,
                           account=None, history_import=None,
                           guessed_token=link.token[:-4] + "zzzz", words=[f"{name}'s picture", f"{name} wants more"])


@pytest.fixture
def world(db, alice):
    project = Project.objects.create(name="Matrix project")
    a = client_world("ann", project, alice)
    b = client_world("ben", project, alice)
    sweep = uuid.uuid4()
    curated = make_generation(alice, project, "the team's curated picture")
    loose = make_generation(alice, project, "the team's loose picture", sweep=sweep)
    pending = make_generation(alice, project, "the team's pending picture", status="queued")
    gallery = Gallery.objects.create(project=project, name="Team internal", created_by=alice)
    item, _ = gallery.add(curated)
    link = ShareLink.objects.create(gallery=gallery, label="team link")
    pending_in_a = make_generation(alice, project, "unfinished in ann's gallery", status="queued")
    GalleryItem.objects.create(gallery=a.gallery, generation=pending_in_a, position=9)  # not finished: not shown
    # A batch of two of which the team shared only the second image with A: the first is not A's to see.
    batch = make_generation(alice, project, "a batch for ann", images=2)
    left_out, shared = batch.outputs.all()
    a.gallery.add(batch, output=shared)
    a.batch = batch
    upload = Upload(owner=alice, kind="image", content_type="image/png", original_name="team-input.png")
    upload.file.save("in.png", ContentFile(b"\x89PNG fake"), save=False)
    upload.save()
    character = Character.objects.create(name="Team face", owner=alice, status="completed")
    account = ProviderAccount.objects.create(name="Team web app", surface="fnf", base_url="https://fnf.example",
                                             key_secret="team-token-secret")
    history_import = HistoryImport.objects.create(account=account, owner=alice, project=project)
    team = SimpleNamespace(gallery=gallery, item=item, link=link, generations=[curated, loose, pending, pending_in_a],
                           outputs=[o for g in (curated, loose, pending, pending_in_a) for o in g.outputs.all()]
                           + [left_out],
                           sweep=sweep, upload=upload, character=character, guessed_token=link.token[::-1],
                           account=account, history_import=history_import,
                           words=["the team's", "Team internal", "Team face", "team-input", "Team web app"])
    b.words.append("Ben gallery")
    return SimpleNamespace(a=a, b=b, team=team, token=ApiToken.objects.issue(a.user)[1])


def test_every_route_that_names_an_object_is_in_the_matrix_or_listed_outside_it():
    names = [name for name, _ in routes()]
    missing = sorted({f"{name} ({route})" for name, route in routes() if name not in MATRIX and name not in OUTSIDE})
    assert not missing, f"Add these routes to MATRIX (or OUTSIDE, with a reason) in {__file__}: {missing}"
    assert None not in names, "every route that captures a value needs a name"
    stale = sorted((set(MATRIX) | set(OUTSIDE)) - set(names))
    assert not stale, f"MATRIX/OUTSIDE name routes that no longer exist: {stale}"


def state(world):
    """What a stray request could change: counts, positions, feedback, revocations, statuses."""
    return (list(GalleryItem.objects.order_by("pk").values_list("pk", "gallery", "position", "output", "title")),
            list(Feedback.objects.order_by("pk").values_list("pk", "verdict", "favourite", "comment")),
            list(ShareLink.objects.order_by("pk").values_list("pk", "revoked_at", "expires_at", "label")),
            list(Gallery.objects.order_by("pk").values_list("pk", "name")),
            list(Generation.objects.order_by("pk").values_list("pk", "status", "cancel_requested_at", "hidden_at",
                                                               "deleted_at")),
            Generation.objects.count(), Character.objects.filter(delete_requested_at=None).count(),
            list(ProviderAccount.objects.order_by("pk").values_list("pk", "name", "key_secret", "active")),
            list(HistoryImport.objects.order_by("pk").values_list("pk", "status")))


def test_client_a_gets_404_for_every_other_object_by_every_route_and_method(client, world):
    client.force_login(world.a.user)
    before = state(world)
    auth = {"Authorization": f"Bearer {world.token}"}
    tried, wrong = 0, []
    for name, route in routes():
        if name in OUTSIDE:
            continue
        for owner in (world.b, world.team):
            variants = MATRIX[name](owner, world.a)
            for kwargs in variants:
                url = reverse(name, kwargs=kwargs)
                for method in METHODS:
                    response = client.generic(method, url, headers=auth if name.startswith("api-") else {})
                    tried += 1
                    if response.status_code != 404:
                        wrong.append(f"{method} {url} ({name}) → {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert tried > 400
    assert state(world) == before


def forbidden_marks(x):
    """Strings that would reveal one of x's objects in a page: ids in URLs or element ids,
    tokens, names and prompts."""
    marks = [str(g.pk) for g in x.generations] + [f"/files/{o.pk}/" for o in x.outputs]
    marks += [f"/thumbs/{o.pk}/" for o in x.outputs] + [f"/galleries/{x.gallery.pk}/", f'item-{x.item.pk}"',
                                                         x.link.token, x.link.token[:8]]
    if x.character:
        marks.append(str(x.character.pk))
    if x.upload:
        marks.append(f"/uploads/{x.upload.pk}/")
    return marks + x.words


def test_client_a_lists_and_fragments_show_only_a_s_own_objects(client, world):
    a = world.a
    client.force_login(a.user)
    generation, item = a.generations[0], a.item
    feedback_url = reverse("gallery-item-feedback", args=[a.gallery.pk, item.pk])
    pages = {
        "galleries": client.get("/galleries/"),
        "gallery page": client.get(f"/galleries/{a.gallery.pk}/"),
        "card": client.get(f"/g/{generation.pk}/card/", headers={"HX-Request": "true"}),
        "detail": client.get(f"/g/{generation.pk}/"),
        "batch detail": client.get(f"/g/{a.batch.pk}/"),
        "batch card": client.get(f"/g/{a.batch.pk}/card/", headers={"HX-Request": "true"}),
        "viewer": client.get(f"/galleries/{a.gallery.pk}/items/{item.pk}/view/", headers={"HX-Request": "true"}),
        "notifications": client.get("/notifications/"),
        "feedback fragment": client.post(feedback_url, {"action": "favourite"}, headers={"HX-Request": "true"}),
        "api": client.get(f"/api/generations/{generation.pk}", headers={"Authorization": f"Bearer {world.token}"}),
        "studio redirect": client.get("/", follow=True),
    }
    client.logout()
    pages["share link"] = client.get(f"/s/{a.link.token}/")
    pages["share viewer"] = client.get(f"/s/{a.link.token}/items/{item.pk}/view/")
    for label, response in pages.items():
        assert response.status_code in (200, 286), label  # 286: a finished card tells htmx to stop polling
        html = response.content.decode()
        for other in (world.b, world.team):
            leaked = [mark for mark in forbidden_marks(other) if mark in html]
            assert not leaked, f"{label} shows {leaked}"
        assert re.search(r"unfinished in ann", html) is None, label  # unfinished items stay hidden too
    own = pages["gallery page"].content.decode()
    assert f"/files/{a.outputs[0].pk}/thumb/" in own and f'item-{item.pk}"' in own  # the check can see ids
    assert "Ann gallery" in pages["notifications"].content.decode()
    assert set(pages["api"].json()) == {"id", "model", "status", "outputs", "created_at"}  # no prompt or cost
    assert f"/s/{a.link.token}/thumbs/{a.outputs[0].pk}/" in pages["share link"].content.decode()
