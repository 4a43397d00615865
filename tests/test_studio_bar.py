"""The studio form as a prompt bar: what is above the fold, what folds under "More settings",
sweeps that never carry over, the cost line in words with the budget left, characters in
reach and image inputs picked from thumbnails."""

import json
import re
from decimal import Decimal

import pytest

from characters.models import Character
from generations import catalogue
from generations.models import Generation, Upload
from higgsweb import ledger
from higgsweb.models import Budget

SOUL = {"model": "higgsfield-ai/soul/standard", "prompt": "a red kite", "aspect_ratio": "1:1",
        "resolution": "720p", "batch_size": "1"}
DOP = "higgsfield-ai/dop/lite"


@pytest.fixture
def quiet(monkeypatch):
    """Submits create their jobs and stop there (nothing is sent to a provider)."""
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)


def submit(client, data):
    return client.post("/generations/new/", data, headers={"HX-Request": "true"})


def value_of(html, name):
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    found = re.search(r'value="([^"]*)"', match.group(0)) if match else None
    return found.group(1) if found else ""


def test_the_prompt_bar_comes_first_and_the_other_settings_fold_under_it(client, alice, project):
    client.force_login(alice)
    html = client.get("/").content.decode()
    form = html[html.index('<form id="generation-form"'):html.index("</form>", html.index('id="generation-form"'))]
    more = form.index('<details class="more-settings"')
    for above in ('name="model"', 'name="prompt"', 'id="cost"', 'type="submit"'):
        assert form.index(above) < more, above
    for below in ('name="project"', 'name="aspect_ratio"', 'name="seed"', 'name="sweep_seeds"'):
        assert form.index(below) > more, below
    assert '<details class="more-settings">' in form  # folded


def test_more_settings_opens_when_one_of_its_fields_has_an_error(client, alice, project, quiet):
    client.force_login(alice)
    html = submit(client, {**SOUL, "project": project.pk, "seed": "0"}).content.decode()
    assert '<details class="more-settings" open>' in html
    assert 'aria-invalid="true"' in html[html.index('data-param="seed"'):]
    html = submit(client, {**SOUL, "project": project.pk, "prompt": ""}).content.decode()
    assert '<details class="more-settings">' in html  # the prompt is above the fold


def test_after_a_sweep_the_form_is_back_to_a_single_generation(client, alice, project, quiet):
    client.force_login(alice)
    response = submit(client, {**SOUL, "project": project.pk, "sweep_seeds": "2"})
    assert Generation.objects.count() == 2
    html = response.content.decode()
    assert value_of(html, "sweep_seeds") == "1"
    assert '<details class="field sweep">' in html
    # Generate again with what the form now holds: one job, not another sweep.
    submit(client, {**SOUL, "project": project.pk, "sweep_seeds": value_of(html, "sweep_seeds")})
    assert Generation.objects.count() == 3


def test_a_style_grid_is_not_carried_over_either(client, alice, project, quiet):
    from characters.models import Style

    for index in range(2):
        Style.objects.create(provider_id=f"style-{index}", version="v1", name=f"Style {index}")
    client.force_login(alice)
    html = submit(client, {**SOUL, "project": project.pk, "sweep_styles": ["style-0", "style-1"]}).content.decode()
    assert Generation.objects.count() == 2
    grid = html[html.index('name="sweep_styles"'):]
    assert "selected" not in grid[:grid.index("</select>")]


def test_the_new_jobs_ids_travel_with_generation_created(client, alice, project, quiet):
    client.force_login(alice)
    response = submit(client, {**SOUL, "project": project.pk})
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["generationCreated"]["ids"] == [str(Generation.objects.get().pk)]


def test_the_cost_line_says_how_many_jobs_in_words(client, alice, project):
    client.force_login(alice)
    one = client.get("/studio/cost/", {**SOUL, "project": project.pk}).content.decode()
    assert "jobs" not in one and "1.5 credits" in one
    two = client.get("/studio/cost/", {**SOUL, "project": project.pk, "sweep_seeds": "2"}).content.decode()
    assert re.search(r"2 jobs</strong> · <strong>3 credits", two)


def test_the_cost_line_shows_what_is_left_this_month_and_warns_before_a_refusal(client, alice, project):
    Budget.objects.create(scope="user", user=alice, month=ledger.month_start(), hard_limit=Decimal("10"),
                          spent=Decimal("8.5"))
    client.force_login(alice)
    html = client.get("/studio/cost/", {**SOUL, "project": project.pk}).content.decode()
    assert "<strong>1.5 credits</strong> left this month" in html and "(of 10)" in html
    assert "would be refused" not in html
    html = client.get("/studio/cost/", {**SOUL, "project": project.pk, "batch_size": "4"}).content.decode()
    assert "would be refused" in html
    assert Budget.objects.count() == 1  # reading the allowance creates nothing


def test_a_new_month_shows_the_limit_carried_forward_and_a_project_budget(client, alice, project):
    Budget.objects.create(scope="user", user=alice, month=ledger.month_start().replace(year=2000),
                          hard_limit=Decimal("50"), spent=Decimal("49"))
    Budget.objects.create(scope="project", project=project, hard_limit=Decimal("200"), spent=Decimal("20"))
    client.force_login(alice)
    html = client.get("/studio/cost/", {**SOUL, "project": project.pk}).content.decode()
    assert "<strong>50 credits</strong> left this month" in html
    assert f"<strong>180 credits</strong> left project “{project}”" in html


def test_every_soul_model_that_takes_a_character_offers_the_ready_ones(client, alice, project):
    for version in ("v1", "v2", "cinema"):
        Character.objects.create(name=f"Mia {version}", model_version=version, owner=alice,
                                 provider_id=f"c-{version}", status="completed")
    client.force_login(alice)
    for model in catalogue.all_models():
        param = model.param("custom_reference_id")
        if param is None:
            continue
        html = client.get("/studio/form/", {"model": model.id}).content.decode()
        assert re.search(r'name="custom_reference_id" value="c-(v1|v2|cinema)"', html), model.id
    # Soul Standard, the studio's default, takes the v1 ones.
    html = client.get("/").content.decode()
    assert 'name="custom_reference_id" value="c-v1"' in html


def test_without_a_ready_character_the_picker_links_to_training_one_of_the_right_variant(client, alice, project):
    client.force_login(alice)
    html = client.get("/studio/form/", {"model": "higgsfield-ai/soul/v2/standard"}).content.decode()
    assert 'href="/characters/?model_version=v2">Train one</a>' in html


def test_the_studio_lists_ready_characters_a_model_does_not_take(client, alice, project):
    Character.objects.create(name="Leo", model_version="v2", owner=alice, provider_id="c-leo", status="completed")
    Character.objects.create(name="Ann", model_version="v2", owner=alice, provider_id="c-ann", status="in_progress")
    client.force_login(alice)
    html = client.get("/").content.decode()  # Soul Standard: v1 only
    strip = html[html.index('class="character-strip"'):]
    assert "Leo" in strip[:2000] and "Ann" not in strip[:2000]
    assert "character=c-leo" in strip and "model=higgsfield-ai/soul/v2/standard" in strip
    html = client.get("/", {"model": "higgsfield-ai/soul/v2/standard", "character": "c-leo"}).content.decode()
    assert 'name="custom_reference_id" value="c-leo" checked' in html


def test_start_frames_are_picked_from_thumbnails_of_recent_results(client, alice, project, finished, quiet):
    image = finished(alice, project, "a harbour at dawn")
    output = image.outputs.get()
    client.force_login(alice)
    html = client.get("/", {"model": DOP}).content.decode()
    field = html[html.index('data-param="image_url"'):]
    assert f'name="image_url__pick" value="output:{output.pk}"' in field
    assert f'src="/files/{output.pk}/thumb/"' in field
    assert "<select" not in field[:field.index("</fieldset>")]  # no text dropdown any more
    # "Animate this" opens the form with it chosen.
    html = client.get("/", {"model": DOP, "start": output.pk}).content.decode()
    assert f'name="image_url__pick" value="output:{output.pk}" checked' in html
    submit(client, {"model": DOP, "project": project.pk, "prompt": "slow push in",
                    "image_url__pick": f"output:{output.pk}"})
    generation = Generation.objects.exclude(pk=image.pk).get()
    upload = Upload.objects.get()
    assert generation.params["image_url"] == upload.public_url


def test_someone_elses_result_or_upload_cannot_be_picked(client, alice, bob, project, finished, quiet):
    theirs = finished(bob, project, "not yours").outputs.get()
    client.force_login(alice)
    html = submit(client, {"model": DOP, "project": project.pk, "prompt": "p",
                           "image_url__pick": f"output:{theirs.pk}"}).content.decode()
    assert "This field is required." in html and not Upload.objects.exists()
    assert f"/files/{theirs.pk}/thumb/" not in client.get("/", {"model": DOP}).content.decode()
