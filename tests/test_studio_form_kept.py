"""The gallery page keeps its studio form and filters once drawn; anything they show that changes
draws them afresh, and each answer carries its own tokens."""

import re

from characters.models import Character, Style
from generations.models import Generation, ProviderAccount
from higgsweb.models import Project


def page(client):
    return client.get("/").content.decode()


def form_of(html):
    return re.search(r'<form id="generation-form".*?</form>', html, re.S).group(0)


def submit_token(html):
    return re.search(r'name="submit_token" value="([^"]+)"', html).group(1)


def test_each_page_gets_its_own_submit_token_and_a_working_csrf_token(client, alice, project):
    client.force_login(alice)
    first, second = page(client), page(client)
    assert submit_token(first) != submit_token(second)
    assert "submit-token-of" not in second and "csrf-token-of" not in second
    # The kept form still sends: its tokens are this answer's.
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_of(second)).group(1)
    client.handler.enforce_csrf_checks = True
    answer = client.post("/generations/new/", {"csrfmiddlewaretoken": csrf, "submit_token": submit_token(second),
                                               "model": "higgsfield-ai/soul/standard", "project": project.pk,
                                               "prompt": "a lighthouse", "batch_size": "1", "resolution": "720p",
                                               "aspect_ratio": "1:1"})
    assert answer.status_code == 302 and Generation.objects.filter(params__prompt="a lighthouse").exists()


def test_a_character_that_becomes_ready_shows_in_the_kept_form(client, alice, project):
    client.force_login(alice)
    training = Character.objects.create(name="Mara", owner=alice, status="in_progress", provider_id="char-mara")
    assert "Mara" not in form_of(page(client))
    Character.objects.filter(pk=training.pk).update(status="completed")
    assert "Mara" in form_of(page(client))
    Character.objects.filter(pk=training.pk).update(name="Mara (final)")
    assert "Mara (final)" in form_of(page(client))


def test_styles_projects_and_accounts_changed_elsewhere_show_in_the_kept_form(client, alice, project):
    client.force_login(alice)
    before = page(client)
    Style.objects.create(provider_id="style-noir", name="Film noir", version="v1", active=True)
    Project.objects.create(name="Autumn launch")
    after = form_of(page(client))
    assert "Film noir" not in form_of(before) and "Film noir" in after and "Autumn launch" in after
    # The filters know the new project too.
    assert "Autumn launch" in page(client).split('class="gallery-filters"', 1)[1]
    # No account can run the Model API any more: the picker offers only what the gateway runs.
    picker = re.compile(r'<select name="model".*?</select>', re.S)
    offered = picker.search(after).group(0).count("<option")
    for surface, name in ProviderAccount.ENV_NAMES.items():  # switched off by an admin
        ProviderAccount.objects.update_or_create(name=name, defaults={"surface": surface, "from_env": True,
                                                                      "active": False})
    ProviderAccount.objects.create(name="Gateway", surface=ProviderAccount.Surface.PIXAZO, active=True,
                                   base_url="http://127.0.0.1:9/pixazo", key_secret="k")
    assert 0 < picker.search(form_of(page(client))).group(0).count("<option") < offered


def test_a_new_result_is_offered_in_the_image_pickers_of_the_kept_form(client, alice, project, finished):
    client.force_login(alice)
    url = "/?model=higgsfield-ai/dop/standard"
    before = form_of(client.get(url).content.decode())
    result = finished(alice, project, "a red kite")
    after = form_of(client.get(url).content.decode())
    output = result.outputs.get()
    assert f"output:{output.pk}" not in before and f"output:{output.pk}" in after


def test_the_gallerys_filters_keep_what_was_chosen(client, alice, project):
    client.force_login(alice)
    html = client.get("/?q=harbour&by_status=failed").content.decode()
    filters = html.split('class="gallery-filters"', 1)[1].split("</form>", 1)[0]
    assert 'value="harbour"' in filters and re.search(r'<option value="failed" selected>', filters)
    other = client.get("/?q=mountain").content.decode().split('class="gallery-filters"', 1)[1].split("</form>")[0]
    assert 'value="mountain"' in other and "harbour" not in other
