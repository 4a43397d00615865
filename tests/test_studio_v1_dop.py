"""v1 DoP in the studio: its `model` parameter ("dop-lite"…) lives beside the form's own model
picker (also `model`) without either taking the other's place."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generations import pipeline
from generations.models import Generation

DOP = "v1/image2video/dop"


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("frame.png", buffer.getvalue(), content_type="image/png")


def test_the_v1_dop_form_opens_with_both_the_model_picker_and_the_dop_model(client, alice, project):
    client.force_login(alice)
    for response in (client.get("/", {"model": DOP}), client.get("/studio/form/", {"model": DOP})):
        assert response.status_code == 200
        html = response.content.decode()
        picker = html[html.index('<select name="model"'):]
        assert f'<option value="{DOP}" selected>' in picker[:picker.index("</select>")]
        assert 'name="param_model"' in html and '<option value="dop-turbo">' in html
        assert "DoP model" in html


def test_a_v1_dop_job_keeps_the_chosen_dop_model(client, alice, project):
    client.force_login(alice)
    with pipeline.follow_ups() as held:  # nothing is sent to a provider here
        response = client.post("/generations/new/", {"model": DOP, "project": project.pk, "prompt": "push in",
                                                     "param_model": "dop-turbo", "input_images": png()})
        held.clear()
    assert response.status_code == 302
    generation = Generation.objects.get()
    assert generation.model_id == DOP
    assert generation.params["model"] == "dop-turbo"
    assert generation.params["input_images"][0]["image_url"].startswith("http")


def test_a_wrong_dop_model_is_an_error_on_its_own_field(client, alice, project):
    client.force_login(alice)
    response = client.post("/generations/new/", {"model": DOP, "project": project.pk, "prompt": "push in",
                                                 "param_model": "dop-ultra", "input_images": png()})
    html = response.content.decode()
    dop_model = html[html.index('data-param="model"'):]
    assert "Select a valid choice" in dop_model[:dop_model.index("</div>")]
    assert not Generation.objects.exists()


def test_the_cost_line_prices_the_chosen_dop_model(client, alice):
    client.force_login(alice)
    lite = client.get("/studio/cost/", {"model": DOP, "param_model": "dop-lite"}).content.decode()
    turbo = client.get("/studio/cost/", {"model": DOP, "param_model": "dop-turbo"}).content.decode()
    assert "<strong>2 credits</strong>" in lite
    assert "<strong>6.5 credits</strong>" in turbo


def test_use_these_settings_reopens_the_dop_model_that_was_used(client, alice, project):
    generation = Generation.objects.create(owner=alice, project=project, model_id=DOP,
                                           params={"prompt": "orbit", "model": "dop-standard"})
    client.force_login(alice)
    html = client.get("/", {"from": generation.pk}).content.decode()
    assert '<option value="dop-standard" selected>' in html
