"""Studio pages: live cost, provider 422s back on their fields, gallery actions, sweeps."""

from generations import pipeline, tasks
from generations.models import Generation

SOUL = {"model": "higgsfield-ai/soul/standard", "prompt": "a red kite", "aspect_ratio": "1:1",
        "resolution": "1080p", "batch_size": "4"}


def test_cost_is_shown_in_credits_and_dollars(client, alice):
    client.force_login(alice)
    html = client.get("/studio/cost/", SOUL, headers={"HX-Request": "true"}).content.decode()
    assert "12 credits" in html and "$0.75" in html


def test_switching_model_swaps_in_its_form(client, alice, project):
    client.force_login(alice)
    html = client.get("/studio/form/", {"model": "kling-video/v2.1/pro/image-to-video", "prompt": "kept"}).content
    html = html.decode()
    assert 'name="cfg_scale"' in html and 'name="negative_prompt"' in html and "kept" in html


def test_a_provider_422_reopens_the_form_with_the_message_on_its_field(client, alice, project, account,
                                                                      monkeypatch):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "a kite", "seed": 5})
    from generations import higgsfield

    def refuse(*args, **kwargs):
        raise higgsfield.ValidationFailed("The provider rejected some parameters.",
                                          field_errors={"seed": ["Input should be less than 99"]})
    monkeypatch.setattr(higgsfield, "submit", refuse)
    tasks.submit_generation(generation.pk)
    generation.refresh_from_db()
    assert generation.status == "failed" and generation.field_errors == {"seed": ["Input should be less than 99"]}
    client.force_login(alice)
    html = client.get("/", {"from": generation.pk}).content.decode()
    seed_field = html[html.index('data-param="seed"'):]
    assert "Input should be less than 99" in seed_field[:3000]
    assert "a kite" in html


def test_same_seed_locks_it_and_vary_seed_leaves_it_random(client, alice, project):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "a kite", "seed": 4242})
    client.force_login(alice)
    same = client.get("/", {"from": generation.pk, "seed": "same"}).content.decode()
    assert 'value="4242"' in same and 'name="lock_seed" id="id_lock_seed" checked' in same
    vary = client.get("/", {"from": generation.pk, "seed": "vary"}).content.decode()
    assert 'value="4242"' not in vary


def test_other_members_generations_cannot_be_reused(client, bob, alice, project):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "a kite"})
    client.force_login(bob)
    assert client.get("/", {"from": generation.pk}).status_code == 404


def test_one_submit_makes_a_sweep_shown_as_a_grid(client, alice, project, monkeypatch,
                                                 django_capture_on_commit_callbacks):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    client.force_login(alice)
    response = client.post("/generations/new/", {**SOUL, "project": project.pk, "seed": "100",
                                                 "sweep_seeds": "4"})
    generations = Generation.objects.filter(owner=alice)
    assert generations.count() == 4 and len({g.sweep for g in generations}) == 1
    grid = client.get(response["Location"]).content.decode()
    for seed in (100, 101, 102, 103):
        assert f"<th>{seed}</th>" in grid


def test_clients_get_no_studio(client, carol):
    client.force_login(carol)
    assert client.get("/studio/form/").status_code == 403
    assert client.post("/generations/new/", SOUL).status_code == 403
