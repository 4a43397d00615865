"""Every model's prompt has a length limit from the catalogue, and the studio and the JSON API
both refuse a longer one with an error that names the limit: nothing is created or charged."""

import pytest

from generations import catalogue
from generations.models import ApiToken, Generation
from higgsweb.models import LedgerEntry
from tests.examples import complete

SOUL = "higgsfield-ai/soul/standard"


@pytest.mark.parametrize("model", catalogue.all_models(), ids=lambda m: m.id)
def test_every_models_prompt_has_a_length_limit(model):
    prompt = model.param("prompt")
    assert prompt is not None and prompt.max_length
    example = complete(model)  # with the inputs its example says to upload first
    assert model.validate({**example, "prompt": "x" * prompt.max_length}) == {}
    assert "prompt" in model.validate({**example, "prompt": "x" * (prompt.max_length + 1)})


def test_kling_prompts_take_the_documented_2500_characters():
    kling = [model for model in catalogue.all_models() if model.family == "kling-video"]
    assert kling and {model.param("prompt").max_length for model in kling} == {2500}


def test_the_studio_refuses_a_prompt_over_the_limit_on_its_field_and_keeps_it(client, alice, project):
    client.force_login(alice)
    limit = catalogue.get(SOUL).param("prompt").max_length
    prompt = ("a lighthouse " * 1600).strip()  # 20,799 characters
    response = client.post("/generations/new/", {"model": SOUL, "project": project.pk, "prompt": prompt,
                                                 "aspect_ratio": "4:3", "resolution": "720p", "batch_size": "1"},
                           headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "generationCreated" not in response.headers.get("HX-Trigger", "")
    assert f"at most {limit:,} characters" in html and f"this one has {len(prompt):,}" in html
    assert prompt.strip() in html  # kept for shortening
    assert not Generation.objects.exists() and not LedgerEntry.objects.exists()


def test_the_api_refuses_a_huge_prompt_with_the_limit_named(client, alice, project):
    raw = ApiToken.objects.issue(alice)[1]
    limit = catalogue.get(SOUL).param("prompt").max_length
    for prompt, status in (("x" * 20_000, 400), ("x" * 2_000_000, 413)):  # 2 MB is over the body limit too
        body = {"model": SOUL, "project": project.pk, "params": {"prompt": prompt}}
        response = client.post("/api/generations", body, content_type="application/json",
                                headers={"Authorization": f"Bearer {raw}"})
        assert response.status_code == status and response["Content-Type"] == "application/json"
        if status == 400:
            assert f"at most {limit:,} characters" in response.json()["errors"]["prompt"][0]
    assert not Generation.objects.exists() and not LedgerEntry.objects.exists()


def test_the_api_lists_each_prompt_limit(client, alice):
    raw = ApiToken.objects.issue(alice)[1]
    models = client.get("/api/models", headers={"Authorization": f"Bearer {raw}"}).json()["models"]
    soul = next(m for m in models if m["id"] == SOUL)
    assert next(p for p in soul["parameters"] if p["name"] == "prompt")["max_length"] == 2500


def test_the_prompt_box_counts_against_the_limit(client, alice, project):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert 'data-max-length="2500"' in html and "data-counter" in html


def test_the_api_takes_a_blank_prompt_as_missing_as_the_studio_does(client, alice, project):
    raw = ApiToken.objects.issue(alice)[1]
    response = client.post("/api/generations", {"model": SOUL, "project": project.pk, "params": {"prompt": "  \n "}},
                           content_type="application/json", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 400 and response.json()["errors"]["prompt"] == ["This field is required."]
    assert not Generation.objects.exists()
