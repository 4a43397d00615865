"""The API checks what the form checks: every parameter that names something (a character,
a style, a motion preset, an upload, a saved image used as a frame) accepts only what the
token's user may pick in the studio, from the same querysets. Another member's, a deleted
and an unknown one are a 400 naming the field, and nothing is started."""

import io

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from characters.models import Character, Motion, Style
from generations import catalogue
from generations.forms import GenerationForm
from generations.models import ApiToken, Generation, Output, Upload
from tests.examples import complete

WAV = (b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00D\xac\x00\x00\x88X\x01\x00\x02\x00\x10\x00"
       b"data\x00\x00\x00\x00")


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(owner, kind="image"):
    item = Upload(owner=owner, kind=kind, content_type="image/png" if kind == "image" else "audio/wav")
    item.file.save("in.png" if kind == "image" else "in.wav", ContentFile(png() if kind == "image" else WAV),
                   save=False)
    item.save()
    return item


def api_url(path):
    return "http://testserver" + path


@pytest.fixture
def world(db, alice, bob, project, finished):
    """Alice's own things, Bob's, and things that were deleted or never existed."""
    theirs_output = finished(bob, project, "bob's picture").outputs.get()
    gone_output = finished(alice, project, "deleted picture").outputs.get()
    gone_output_pk = gone_output.pk
    gone_output.generation.delete()
    gone_upload = upload(alice)
    gone_token = gone_upload.token
    gone_upload.delete()
    characters = {}
    for version in Character.MODEL_FOR_VERSION:
        characters[version] = {
            "mine": Character.objects.create(name="Mine", owner=alice, status="completed", model_version=version,
                                             provider_id=f"alice-{version}"),
            "theirs": Character.objects.create(name="Bob's", owner=bob, status="completed", model_version=version,
                                               provider_id=f"bob-{version}"),
            "deleted": Character.objects.create(name="Withdrawn", owner=alice, status="completed",
                                                model_version=version, provider_id=f"gone-{version}",
                                                delete_requested_at=timezone.now()),
        }
    for version in ("v1", "v2"):
        Style.objects.create(provider_id=f"style-{version}", version=version, name="Noir")
        Style.objects.create(provider_id=f"retired-{version}", version=version, name="Old", active=False)
    Motion.objects.create(provider_id="zoom-in", name="Zoom in")
    Motion.objects.create(provider_id="retired-motion", name="Retired", active=False)
    return {"characters": characters, "theirs_output": theirs_output, "gone_output_pk": gone_output_pk,
            "gone_token": gone_token, "their_uploads": {"image": upload(bob), "audio": upload(bob, "audio")},
            "my_output": finished(alice, project, "my picture").outputs.get(),
            "my_uploads": {"image": upload(alice), "audio": upload(alice, "audio")},
            "token": ApiToken.objects.issue(alice)[1]}


def post(client, world, model, project, params):
    client.raise_request_exception = False
    return client.post("/api/generations", {"model": model.id, "project": project.pk, "params": params},
                       content_type="application/json", headers={"Authorization": f"Bearer {world['token']}"})


def shaped(model, param, value):
    """`value` in the place one item of this parameter goes, the rest as in the example."""
    item = {"type": param.wrap, param.wrap: value} if param.wrap else value
    if param.type == "uploads" or param.list:
        rest = list(model.example.get(param.name) or [])[1:]
        return [item, *rest] if len(rest) + 1 >= (param.min_items or 1) else [item] * (param.min_items or 1)
    return item


def refused_values(world, model, param):
    """(what it is, value) for everything the studio would not offer this user here."""
    if param.picker == "character":
        versions = [v for v, models in Character.MODELS_FOR_VERSION.items() if model.id in models]
        other = [v for v in Character.MODEL_FOR_VERSION if v not in versions][0]
        cases = [("unknown", "no-such-character"), ("another variant's", f"alice-{other}")]
        for version in versions:
            cases += [("another member's", f"bob-{version}"), ("deleted", f"gone-{version}")]
        return cases
    if param.picker == "style":
        version = param.style_version or "v1"
        return [("unknown", "no-such-style"), ("retired", f"retired-{version}")]
    if param.type == "motions":
        return [("unknown", [{"id": "no-such-motion", "strength": 0.5}]),
                ("retired", [{"id": "retired-motion", "strength": 0.5}])]
    kind = param.accept if param.accept in ("image", "audio") else "image"
    theirs = world["their_uploads"][kind]
    cases = [("another member's upload", theirs.public_url),
             ("another member's upload (page link)", api_url(f"/uploads/{theirs.pk}/")),
             ("a deleted upload", f"{settings.PUBLIC_BASE_URL}/u/{world['gone_token']}/"),
             ("an unknown upload", f"{settings.PUBLIC_BASE_URL}/u/no-such-token/"),
             ("another member's saved image", api_url(f"/api/outputs/{world['theirs_output'].pk}")),
             ("another member's saved image (page link)", api_url(f"/files/{world['theirs_output'].pk}/")),
             ("a deleted saved image", api_url(f"/api/outputs/{world['gone_output_pk']}")),
             ("an unknown saved image", api_url("/api/outputs/999999")),
             ("a page of this site", api_url(f"/g/{world['theirs_output'].generation_id}/"))]
    if kind == "image":
        mine = world["my_uploads"]["audio"]
        cases.append(("one's own upload of another kind", mine.public_url))
    return [(what, shaped(model, param, url)) for what, url in cases]


def own_example(world, model):
    """The model's example made whole with Alice's own uploads and characters."""
    params = complete(model, lambda kind: world["my_uploads"]["audio" if kind == "wav" else "image"].public_url)
    for name in params:
        if model.param(name).picker == "character":
            params[name] = f"alice-{version_for(model)}"
    return params


def version_for(model):
    return next(v for v, models in Character.MODELS_FOR_VERSION.items() if model.id in models)


REFUSALS = ("Unknown", "not one of your", "Files on this site")
NAMING = [m for m in catalogue.all_models()
          if any(p.picker or p.type == "motions" or p.is_upload for p in m.params)]


@pytest.mark.parametrize("model", NAMING, ids=lambda m: m.id)
def test_every_field_that_names_something_refuses_what_the_studio_would_not_offer(client, world, project, model):
    tried, before = 0, Generation.objects.count()
    for param in model.params:
        if not (param.picker or param.type == "motions" or param.is_upload):
            continue
        for what, value in refused_values(world, model, param):
            params = {**own_example(world, model), param.name: value}
            response = post(client, world, model, project, params)
            assert response.status_code == 400, (param.name, what, response.content)
            errors = response.json()["errors"]
            assert list(errors) == [param.name], (param.name, what, errors)
            assert any(word in errors[param.name][0] for word in REFUSALS), (param.name, what, errors)
            tried += 1
    assert tried >= 2
    assert Generation.objects.count() == before


def test_ones_own_character_style_and_motion_are_accepted(client, world, project):
    character = catalogue.get("higgsfield-ai/soul/character")
    response = post(client, world, character, project, {"prompt": "x", "custom_reference_id": "alice-v1",
                                                         "custom_reference_strength": 1, "style_id": "style-v1"})
    assert response.status_code == 201, response.content
    dop = catalogue.get("v1/image2video/dop")  # motions work on v1 DoP only (the Model API answers 500)
    response = post(client, world, dop, project, {**own_example(world, dop),
                                                  "motions": [{"id": "zoom-in", "strength": 0.4}]})
    assert response.status_code == 201, response.content


def test_a_saved_image_of_ones_own_becomes_an_upload_the_provider_can_fetch(client, world, project, alice):
    edit = catalogue.get("reve/edit")
    output = world["my_output"]
    for link in (api_url(f"/api/outputs/{output.pk}"), api_url(f"/files/{output.pk}/"),
                 f"{settings.PUBLIC_BASE_URL}/api/outputs/{output.pk}"):
        response = post(client, world, edit, project, {"prompt": "brighter", "image_url": link})
        assert response.status_code == 201, response.content
        url = Generation.objects.get(pk=response.json()["id"]).params["image_url"]
        token = url.removeprefix(f"{settings.PUBLIC_BASE_URL}/u/").strip("/")
        assert Upload.objects.get(token=token).owner == alice


def test_ones_own_uploads_go_in_by_their_link_in_every_shape(client, world, project):
    image, audio = world["my_uploads"]["image"], world["my_uploads"]["audio"]
    speak = catalogue.get("v1/speak/higgsfield")
    response = post(client, world, speak, project, {
        **speak.example, "input_image": {"type": "image_url", "image_url": image.public_url},
        "input_audio": {"type": "audio_url", "audio_url": api_url(f"/uploads/{audio.pk}/")}})
    assert response.status_code == 201, response.content
    params = Generation.objects.get(pk=response.json()["id"]).params
    assert params["input_audio"]["audio_url"] == audio.public_url  # the page link became the public one
    remix = catalogue.get("reve/remix")
    response = post(client, world, remix, project, {"prompt": "x", "image_urls": [image.public_url,
                                                                                  "https://example.com/b.png"]})
    assert response.status_code == 201, response.content


def test_the_form_offers_the_same_characters_as_the_api_accepts(world, alice, admin_user):
    model = catalogue.get("higgsfield-ai/soul/character")
    offered = [value for value, _ in GenerationForm(model=model, user=alice).fields["custom_reference_id"].choices]
    assert offered == ["", "alice-v1"]  # not Bob's, not the one being deleted
    offered = {value for value, _ in GenerationForm(model=model, user=admin_user).fields["custom_reference_id"].choices}
    assert offered == {"", "alice-v1", "bob-v1"}


def test_an_admin_may_use_any_members_ready_character_as_in_the_studio(client, world, project, admin_user):
    world["token"] = ApiToken.objects.issue(admin_user)[1]
    model = catalogue.get("higgsfield-ai/soul/character")
    params = {**model.example, "custom_reference_id": "bob-v1"}
    assert post(client, world, model, project, params).status_code == 201
    params["custom_reference_id"] = "gone-v1"
    assert post(client, world, model, project, params).status_code == 400


def test_an_output_that_is_not_an_image_is_not_a_frame(client, world, project, alice, finished):
    video = finished(alice, project, "a clip", kind="video").outputs.get()
    assert video.kind == Output.Kind.VIDEO
    edit = catalogue.get("reve/edit")
    response = post(client, world, edit, project, {"prompt": "x", "image_url": api_url(f"/api/outputs/{video.pk}")})
    assert response.status_code == 400 and "image_url" in response.json()["errors"]
