import pytest

from generations.forms import SoulForm


def data(project, **overrides):
    base = {"project": project.pk, "prompt": "a lighthouse at dusk", "aspect_ratio": "4:3",
            "resolution": "720p", "batch_size": "1", "seed": "", "random_seed": "on"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize("seed, ok", [("0", False), ("1", True), ("1000000", True), ("1000001", False)])
def test_seed_bounds(project, seed, ok):
    form = SoulForm(data(project, seed=seed, random_seed=None))
    assert form.is_valid() is ok
    if not ok:
        assert "seed" in form.errors


def test_entered_seed_is_sent(project):
    form = SoulForm(data(project, seed="500000"))
    assert form.is_valid()
    assert form.payload()["seed"] == 500000


def test_random_seed_is_within_range(project):
    form = SoulForm(data(project))
    assert form.is_valid()
    assert 1 <= form.payload()["seed"] <= 1_000_000


def test_locked_seed_needs_a_value(project):
    form = SoulForm(data(project, random_seed=None))
    assert not form.is_valid()
    assert "seed" in form.errors


@pytest.mark.parametrize("batch, ok", [("1", True), ("2", False), ("4", True), ("5", False)])
def test_batch_is_one_or_four(project, batch, ok):
    form = SoulForm(data(project, batch_size=batch))
    assert form.is_valid() is ok


def test_empty_prompt_is_refused(project):
    form = SoulForm(data(project, prompt="   "))
    assert not form.is_valid()
    assert "prompt" in form.errors


def test_unknown_aspect_ratio_is_refused(project):
    assert "aspect_ratio" in SoulForm(data(project, aspect_ratio="5:4")).errors


def test_payload_is_the_model_api_body(project):
    form = SoulForm(data(project, resolution="1080p", aspect_ratio="16:9", batch_size="4", seed="7",
                         enhance_prompt="on"))
    assert form.is_valid()
    assert form.payload() == {"prompt": "a lighthouse at dusk", "aspect_ratio": "16:9", "resolution": "1080p",
                              "batch_size": 4, "enhance_prompt": True, "seed": 7}


def test_form_shows_the_resulting_size(project):
    form = SoulForm(data(project, resolution="1080p", aspect_ratio="9:16"))
    assert form.size == (1152, 2048)


def test_bad_input_is_shown_on_its_field_and_kept(client, alice, project):
    client.force_login(alice)
    response = client.post("/generations/new/", data(project, prompt="my careful prompt", seed="1000001",
                                                     random_seed=None), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<form")
    assert "less than or equal to 1000000" in html
    assert "my careful prompt" in html
    assert 'value="1000001"' in html
