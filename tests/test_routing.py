"""Which account runs each model: the routes page, the defaults, what the studio and the API
offer and refuse, and a job started on the account its model is routed to."""

import pytest

from generations import catalogue, pipeline, routing
from generations.models import ApiToken, Generation, ModelRoute, ProviderAccount

SOUL, DOP_LITE, DOP_STANDARD, KLING = ("higgsfield-ai/soul/standard", "higgsfield-ai/dop/lite",
                                       "higgsfield-ai/dop/standard", "kling-video/v2.1/pro/image-to-video")


@pytest.fixture
def pixazo(db, settings):
    settings.USE_SIMULATOR = True
    return ProviderAccount.objects.create(name="Pixazo", surface="pixazo", base_url="http://127.0.0.1:9/pixazo",
                                          key_secret="pixazo-demo-key")


@pytest.fixture
def web_app(db):
    return ProviderAccount.objects.create(name="Web app", surface="fnf", base_url="http://127.0.0.1:9/fnf",
                                          key_secret="fnf-demo-token")


def only_pixazo(pixazo):
    """A team whose only key is Pixazo's: the environment's accounts switched off."""
    for surface in ProviderAccount.ENV_NAMES:
        env = ProviderAccount.objects.default(surface)
        env.active = False
        env.save()
    return pixazo


def test_without_routes_models_run_on_their_own_surface_s_default_account(db):
    assert routing.account_for(SOUL).name == "environment"
    assert routing.account_for("v1/image2video/dop").name == "environment (v1)"


def test_a_route_sends_a_model_to_an_account_of_another_surface(pixazo, alice, project):
    routing.set_route(SOUL, pixazo)
    generation = pipeline.start(owner=alice, project=project, model_id=SOUL, params={"prompt": "a door"})
    assert generation.account == pixazo
    other = pipeline.start(owner=alice, project=project, model_id=DOP_LITE,
                           params={"prompt": "a door opens", "image_url": "https://cdn.example/door.png"})
    assert other.account.name == "environment"  # only the routed model moved


def test_a_route_to_an_account_switched_off_falls_back_to_the_default(pixazo):
    routing.set_route(SOUL, pixazo)
    pixazo.active = False
    pixazo.save()
    assert routing.account_for(SOUL).name == "environment"


def test_with_only_pixazo_the_studio_offers_soul_and_dop_but_nothing_pixazo_does_not_serve(client, alice, pixazo):
    only_pixazo(pixazo)
    assert routing.account_for(SOUL) == pixazo  # no route needed: the only account that can run it
    client.force_login(alice)
    html = client.get("/").content.decode()
    picker = html[html.index('<select name="model"'):html.index("</select>", html.index('<select name="model"'))]
    for offered in (SOUL, DOP_LITE, "higgsfield-ai/dop/turbo", "v1/text2image/soul", "v1/image2video/dop"):
        assert f'value="{offered}"' in picker
    for refused in (DOP_STANDARD, KLING, "higgsfield-ai/soul/v2/standard", "veo3.1", "v1/speak/higgsfield"):
        assert f'value="{refused}"' not in picker


def test_a_model_no_account_can_run_is_refused_by_the_studio_and_the_api(client, alice, project, pixazo):
    only_pixazo(pixazo)
    client.force_login(alice)
    response = client.post("/generations/new/", {"model": KLING, "project": project.pk, "prompt": "a kite",
                                                 "image_url__keep": ""})
    assert "No provider account can run Kling" in response.content.decode()
    token = ApiToken.objects.issue(alice)[1]
    answer = client.post("/api/generations", {"model": KLING, "project": project.name,
                                              "params": {"prompt": "a kite", "image_url": "https://cdn.example/k.png"}},
                         content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400
    assert "No provider account can run" in answer.json()["errors"]["__all__"][0]
    assert not Generation.objects.exists()


def test_what_a_surface_cannot_take_is_an_error_on_its_field(client, alice, project, pixazo, web_app):
    routing.set_route("v1/image2video/dop", pixazo)
    routing.set_route(SOUL, web_app)
    token = ApiToken.objects.issue(alice)[1]
    auth = {"Authorization": f"Bearer {token}"}
    standard = client.post("/api/generations", {"model": "v1/image2video/dop", "project": project.name, "params": {
        "prompt": "push in", "model": "dop-standard",
        "input_images": [{"type": "image_url", "image_url": "https://cdn.example/a.png"}]}},
        content_type="application/json", headers=auth)
    assert standard.status_code == 400
    assert standard.json()["errors"] == {"model": ["Pixazo runs dop-lite, dop-preview, dop-turbo."]}
    from characters.models import Character
    Character.objects.create(name="Ada", owner=alice, status="completed", provider_id="char-1",
                             model_version="v1")
    character = client.post("/api/generations", {"model": SOUL, "project": project.name, "params": {
        "prompt": "portrait", "custom_reference_id": "char-1"}}, content_type="application/json", headers=auth)
    assert character.status_code == 400
    assert "the web app (fnf) cannot use them" in character.json()["errors"]["custom_reference_id"][0]


def test_the_routes_page_offers_only_accounts_that_can_run_each_model(client, admin_user, pixazo, web_app):
    client.force_login(admin_user)
    html = client.get("/providers/routes/").content.decode()
    soul = html[html.index(f"{SOUL}<"):]
    soul = soul[:soul.index("</tr>")]
    assert "Automatic (environment)" in soul and ">Pixazo</option>" in soul and "Web app · web app (fnf)" in soul
    standard = html[html.index(f"{DOP_STANDARD}<"):]
    standard = standard[:standard.index("</tr>")]
    assert "Web app" in standard and "Pixazo" not in standard  # Pixazo has no DoP standard
    kling = html[html.index(f"{KLING}<"):]
    assert "<select" not in kling[:kling.index("</tr>")]  # one account can run it: nothing to choose
    assert html.index(f"{KLING}<") > html.index("only one account can run")


def test_an_admin_routes_a_model_and_a_forged_choice_is_refused(client, admin_user, pixazo, web_app):
    client.force_login(admin_user)
    soul_field = "route-higgsfield-ai-soul-standard"
    standard_field = "route-higgsfield-ai-dop-standard"
    assert client.post("/providers/routes/", {soul_field: str(pixazo.pk)}).status_code == 302
    assert ModelRoute.objects.get(model_id=SOUL).account == pixazo
    assert routing.account_for(SOUL) == pixazo
    forged = client.post("/providers/routes/", {soul_field: str(web_app.pk), standard_field: str(pixazo.pk)})
    assert forged.status_code == 200
    assert "Select a valid choice" in forged.content.decode()
    assert ModelRoute.objects.get(model_id=SOUL).account == pixazo  # nothing saved
    client.post("/providers/routes/", {soul_field: ""})
    assert not ModelRoute.objects.filter(model_id=SOUL).exists()


def test_every_catalogue_model_some_surface_runs_has_a_default(db):
    for model in catalogue.all_models():
        assert routing.account_for(model.id) is not None, model.id
