"""The JSON API for scripts: tokens, the catalogue, and the same rules as the pages."""

import io
import wave

import pytest
from django.core.management import call_command

from characters.models import Character
from generations import catalogue, higgsfield, pipeline, tasks
from generations.models import ApiToken, Generation
from tests.examples import complete


def _wav():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\0" * 8000)
    return buffer.getvalue()


def _png():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 90, 150)).save(buffer, "PNG")
    return buffer.getvalue()


PNG, WAV = _png(), _wav()


@pytest.fixture
def token(alice):
    return ApiToken.objects.issue(alice)[1]


def auth(raw):
    return {"Authorization": f"Bearer {raw}"}


def create(client, raw, body):
    return client.post("/api/generations", body, content_type="application/json", headers=auth(raw))


def test_the_command_prints_a_token_that_is_stored_only_as_a_hash(alice, capsys, client):
    call_command("apitoken", "alice")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("hw_")
    assert not ApiToken.objects.filter(key_hash=raw).exists()
    assert client.get("/api/models", headers=auth(raw)).status_code == 200


def test_a_token_can_be_made_on_the_profile_page_and_revoked(client, alice):
    client.force_login(alice)
    html = client.post("/profile/", {"action": "create", "name": "nightly"}).content.decode()
    raw = html.split("data-token>")[1].split("<")[0]
    assert client.get("/api/models", headers=auth(raw)).status_code == 200
    client.post("/profile/", {"action": "revoke", "token": ApiToken.objects.get().pk})
    assert client.get("/api/models", headers=auth(raw)).status_code == 401


def test_requests_without_a_valid_token_are_refused(client, alice):
    assert client.get("/api/models").status_code == 401
    assert client.get("/api/models", headers=auth("hw_nope")).status_code == 401


def test_models_lists_every_catalogue_model_with_bounds_and_an_example(client, token):
    models = client.get("/api/models", headers=auth(token)).json()["models"]
    assert len(models) == len(catalogue.all_models())
    soul = next(m for m in models if m["id"] == "higgsfield-ai/soul/standard")
    seed = next(p for p in soul["parameters"] if p["name"] == "seed")
    assert (seed["min"], seed["max"]) == (1, 1_000_000)
    assert soul["example"]["prompt"]


def test_model_examples_work_on_the_real_service_and_say_which_upload_comes_first(client, token):
    """No placeholder hosts (example.com) and no prompt text where an id belongs: an input the
    example cannot hold is listed in example_needs with what to upload first."""
    models = client.get("/api/models", headers=auth(token)).json()["models"]
    for described in models:
        assert "example.com" not in str(described["example"]), described["id"]
        model = catalogue.get(described["id"])
        needed = {need["param"] for need in described["example_needs"]}
        required_inputs = {p.name for p in model.params if (p.required or p.name in model.example_inputs)
                           and (p.is_upload or p.picker == "character")}
        assert needed == required_inputs, described["id"]
        assert not required_inputs & set(described["example"]), described["id"]
        for need in described["example_needs"]:
            assert need["first"].startswith(("Upload", "Train")), need
    character = next(m for m in models if m["id"] == "higgsfield-ai/soul/character")
    assert "custom_reference_id" not in character["example"]
    assert character["example_needs"][0]["upload"] == "character"
    dop = next(m for m in models if m["id"] == "v1/image2video/dop")
    assert '{"type": "image_url", "image_url": URL}' in dop["example_needs"][0]["first"]


def test_invalid_params_give_400_with_errors_per_field(client, token, project):
    response = create(client, token, {"model": "higgsfield-ai/soul/standard", "project": project.pk,
                                      "params": {"prompt": "x", "seed": 0, "batch_size": 2}})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"seed", "batch_size"}
    assert create(client, token, {"model": "nope", "params": {}}).json()["errors"]["model"]


def test_clients_cannot_create_and_others_generations_are_not_found(client, carol, bob, project, token,
                                                                     django_capture_on_commit_callbacks):
    raw = ApiToken.objects.issue(carol)[1]
    model = catalogue.get("reve/text-to-image")
    body = {"model": model.id, "project": project.pk, "params": model.example}
    assert create(client, raw, body).status_code == 403
    theirs = pipeline.start(owner=bob, project=project, model_id=model.id, params=model.example)
    assert client.get(f"/api/generations/{theirs.pk}", headers=auth(token)).status_code == 404
    assert client.post(f"/api/generations/{theirs.pk}/cancel", headers=auth(token)).status_code == 404


def test_a_waiting_generation_can_be_canceled(client, alice, project, token):
    model = catalogue.get("reve/text-to-image")
    generation = pipeline.start(owner=alice, project=project, model_id=model.id, params=model.example)
    response = client.post(f"/api/generations/{generation.pk}/cancel", headers=auth(token))
    assert response.status_code == 200 and response.json()["status"] == "canceled"


def with_own_objects(model, owner, params=None):
    """The model's example (or `params`), with a ready character of `owner`'s where it only
    says where one goes."""
    params = dict(model.example if params is None else params)
    for param in model.params:
        if param.picker == "character" and param.name in params:
            version = next(v for v, models in Character.MODELS_FOR_VERSION.items() if model.id in models)
            character = Character.objects.create(name="Ready face", owner=owner, status="completed",
                                                 model_version=version, provider_id=f"ref-{version}")
            params[param.name] = character.provider_id
    return params


@pytest.mark.parametrize("model", catalogue.all_models(), ids=lambda m: m.id)
def test_every_catalogue_model_round_trips_with_its_own_example(model, client, token, project, simulator, account,
                                                                alice, django_capture_on_commit_callbacks):
    conn = account.connection()
    inputs = {"png": PNG, "wav": WAV}
    # Each input is uploaded first, as the example's needs say, through the provider's upload flow;
    # a character is one of the member's own ready ones.
    params = complete(model, lambda kind: higgsfield.upload(conn, inputs[kind], f"image/{kind}" if kind == "png"
                                                             else "audio/wav"))
    params.update(with_own_objects(model, alice, params))
    with django_capture_on_commit_callbacks(execute=True):
        response = create(client, token, {"model": model.id, "project": project.name, "params": params})
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    generation = Generation.objects.get(pk=pk)
    assert generation.status == "queued", generation.error
    simulator.advance_clock(10)
    tasks.poll_generation(pk)
    body = client.get(f"/api/generations/{pk}", headers=auth(token)).json()
    assert body["status"] == "completed"
    assert body["outputs"] and body["outputs"][0]["kind"] == model.output
    assert body["outputs"][0]["url"].startswith("http://testserver/api/outputs/")
    assert float(body["credits"]) > 0


def test_a_queued_generation_is_canceled_through_the_worker(client, alice, project, token, simulator, account,
                                                            django_capture_on_commit_callbacks):
    simulator.config.queue_seconds = 60
    model = catalogue.get("reve/text-to-image")
    generation = pipeline.start(owner=alice, project=project, model_id=model.id, params=model.example)
    tasks.submit_generation(generation.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/generations/{generation.pk}/cancel", headers=auth(token))
    assert response.status_code == 202
    assert client.get(f"/api/generations/{generation.pk}", headers=auth(token)).json()["status"] == "canceled"


def test_a_running_generation_cannot_be_canceled(client, alice, project, token, simulator, account):
    model = catalogue.get("reve/text-to-image")
    generation = pipeline.start(owner=alice, project=project, model_id=model.id, params=model.example)
    generation.advance("submitting", Generation.Source.SUBMIT)
    generation.advance("in_progress", Generation.Source.POLL)
    response = client.post(f"/api/generations/{generation.pk}/cancel", headers=auth(token))
    assert response.status_code == 409
    assert "already started" in response.json()["errors"]["status"][0]
