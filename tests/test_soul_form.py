"""The studio form for Soul (and a video model) built from the catalogue."""

import pytest

from characters.models import Character, Style
from generations import catalogue
from generations.forms import GenerationForm

SOUL = catalogue.get("higgsfield-ai/soul/standard")


def data(project, **overrides):
    base = {"project": project.pk, "prompt": "a lighthouse at dusk", "aspect_ratio": "4:3",
            "resolution": "720p", "batch_size": "1", "seed": ""}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def form_for(user, values, model=SOUL, files=None):
    return GenerationForm(values, files, model=model, user=user)


@pytest.mark.parametrize("seed, ok", [("0", False), ("1", True), ("1000000", True), ("1000001", False)])
def test_seed_bounds(alice, project, seed, ok):
    form = form_for(alice, data(project, seed=seed))
    assert form.is_valid() is ok
    if not ok:
        assert "seed" in form.errors


@pytest.mark.parametrize("strength, ok", [("-0.01", False), ("0", True), ("0.37", True), ("1", True),
                                          ("1.01", False), ("0.375", False)])
def test_style_strength_is_0_to_1_in_hundredths(alice, project, strength, ok):
    form = form_for(alice, data(project, style_strength=strength))
    assert form.is_valid() is ok
    if ok:
        assert form.cleaned_data["params"]["style_strength"] == float(strength)


def test_entered_seed_is_sent(alice, project):
    form = form_for(alice, data(project, seed="500000"))
    assert form.is_valid()
    assert form.cells()[0]["seed"] == 500000


def test_random_seed_is_within_range(alice, project):
    form = form_for(alice, data(project))
    assert form.is_valid()
    assert 1 <= form.cells()[0]["seed"] <= 1_000_000


def test_locked_seed_needs_a_value(alice, project):
    form = form_for(alice, data(project, lock_seed="on"))
    assert not form.is_valid()
    assert "seed" in form.errors


@pytest.mark.parametrize("batch, ok", [("1", True), ("2", False), ("4", True), ("5", False)])
def test_batch_is_one_or_four(alice, project, batch, ok):
    assert form_for(alice, data(project, batch_size=batch)).is_valid() is ok


def test_empty_prompt_is_refused(alice, project):
    form = form_for(alice, data(project, prompt="   "))
    assert not form.is_valid()
    assert "prompt" in form.errors


def test_unknown_aspect_ratio_is_refused(alice, project):
    assert "aspect_ratio" in form_for(alice, data(project, aspect_ratio="5:4")).errors


def test_params_are_the_model_api_body(alice, project):
    form = form_for(alice, data(project, resolution="1080p", aspect_ratio="16:9", batch_size="4", seed="7",
                                enhance_prompt="on"))
    assert form.is_valid()
    params = form.cells()[0]
    assert {k: params[k] for k in ("prompt", "aspect_ratio", "resolution", "batch_size", "enhance_prompt",
                                   "seed")} == {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9",
                                                "resolution": "1080p", "batch_size": 4, "enhance_prompt": True,
                                                "seed": 7}
    assert SOUL.validate(params) == {}


def test_form_shows_the_resulting_size(alice, project):
    assert form_for(alice, data(project, resolution="1080p", aspect_ratio="9:16")).size == (1152, 2048)


def test_style_picker_lists_synced_styles_of_the_models_list(alice, project):
    Style.objects.create(provider_id="1cb4b936-77bf-4f9a-9039-f3d349a4cdbe", version="v1", name="Realistic")
    Style.objects.create(provider_id="3db34ab5-3439-4317-9e03-08dc30852e69", version="v2", name="General")
    v1 = [name for _, name in GenerationForm(model=SOUL, user=alice).fields["style_id"].choices]
    v2 = [name for _, name in GenerationForm(model=catalogue.get("higgsfield-ai/soul/v2/standard"),
                                             user=alice).fields["style_id"].choices]
    assert "Realistic" in v1 and "General" not in v1
    assert "General" in v2


def test_character_picker_offers_only_ready_characters_of_the_matching_variant(alice, project):
    Character.objects.create(name="Mia", model_version="v1", owner=alice, provider_id="c-1", status="completed")
    Character.objects.create(name="Leo", model_version="v2", owner=alice, provider_id="c-2", status="completed")
    Character.objects.create(name="Ann", model_version="v1", owner=alice, provider_id="c-3", status="in_progress")
    form = GenerationForm(model=catalogue.get("higgsfield-ai/soul/character"), user=alice)
    assert [name for _, name in form.fields["custom_reference_id"].choices] == ["No character", "Mia"]


def test_seed_sweep_times_style_grid_makes_a_matrix(alice, project):
    for index in range(3):
        Style.objects.create(provider_id=f"style-{index}", version="v1", name=f"Style {index}")
    form = form_for(alice, data(project, seed="10", sweep_seeds="4",
                                sweep_styles=None) | {"sweep_styles": ["style-0", "style-1", "style-2"]})
    assert form.is_valid(), form.errors
    cells = form.cells()
    assert len(cells) == 12
    assert {(c["seed"], c["style_id"]) for c in cells} == {(s, f"style-{i}") for s in (10, 11, 12, 13)
                                                           for i in range(3)}


def test_kling_fields_come_from_the_catalogue(alice, project):
    kling = catalogue.get("kling-video/v2.1/pro/image-to-video")
    form = GenerationForm(model=kling, user=alice)
    assert {"cfg_scale", "negative_prompt", "duration", "image_url"} <= set(form.fields)
    bad = GenerationForm({"project": project.pk, "prompt": "p", "cfg_scale": "1.5", "duration": "7"},
                         model=kling, user=alice)
    assert not bad.is_valid()
    assert {"cfg_scale", "duration", "image_url"} <= set(bad.errors)


def test_bad_input_is_shown_on_its_field_and_kept(client, alice, project):
    client.force_login(alice)
    response = client.post("/generations/new/", data(project, prompt="my careful prompt", seed="1000001"),
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert "less than or equal to 1000000" in html
    assert "my careful prompt" in html
    assert 'value="1000001"' in html
