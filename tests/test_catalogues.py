"""Styles and motions synced from the provider, with the preset tables as fallback,
and the pickers other forms include."""

import pytest
from django.core.management import call_command
from django.template import engines
from django.test import RequestFactory
from django_q.models import Schedule

from characters import catalogues
from characters.models import Character, Motion, Style


def test_sync_fetches_every_style_and_motion_with_previews(account):
    reports = catalogues.sync_all()
    assert [r.source for r in reports] == ["provider"] * 3
    assert Style.objects.filter(version="v1").count() == 106
    assert Style.objects.get(provider_id="3db34ab5-3439-4317-9e03-08dc30852e69", version="v2").name == "General"
    assert Motion.objects.count() == 121
    assert Motion.objects.get(provider_id="aab8440c-0d65-4554-b88a-7a9a5e084b6e").preview_url.endswith(".webp")


def test_without_a_reachable_provider_the_preset_tables_are_used(db, settings, capsys):
    settings.HIGGSFIELD_BASE_URL = "http://127.0.0.1:9"
    call_command("sync_catalogues")
    assert "from presets" in capsys.readouterr().out
    assert Style.objects.filter(version="v1").count() == 9
    assert Style.objects.get(version="v1", provider_id="b3c8075a-cb4c-42de-b8b3-7099dd2df672").name == "Creatures"
    assert Motion.objects.count() == 12


def test_an_unreachable_provider_keeps_what_an_earlier_sync_brought(account, settings):
    catalogues.sync_all()
    account.base_url = "http://127.0.0.1:9"
    account.save()
    reports = catalogues.sync_all(account)
    assert [r.source for r in reports] == ["kept"] * 3
    assert Motion.objects.filter(active=True).count() == 121


def test_a_daily_sync_is_scheduled(db):
    assert Schedule.objects.get(name="characters-sync-catalogues").schedule_type == Schedule.DAILY


def test_style_search_filters_and_keeps_the_choice(client, alice, account):
    catalogues.sync_all()
    client.force_login(alice)
    response = client.get("/characters/pick/styles/", {"q": "subw", "version": "v1",
                                                       "style_id": "d2e8ba04-9935-4dee-8bc4-39ac789746fc"})
    html = response.content.decode()
    assert html.strip().startswith('<div class="picker-options"')
    assert "Subway" in html and "Realistic" not in html
    assert 'value="d2e8ba04-9935-4dee-8bc4-39ac789746fc" checked' in html


def test_motion_search_finds_presets_by_name(client, alice, account):
    catalogues.sync_all()
    client.force_login(alice)
    html = client.get("/characters/pick/motions/", {"q": "snorri"}).content.decode()
    assert "Snorricam" in html and 'name="motion_id"' in html and "Handheld" not in html


@pytest.fixture
def ready(alice):
    return Character.objects.create(name="Mia", owner=alice, model_version="v2", status="completed",
                                    provider_id="ref-mia")


def test_the_character_picker_offers_only_ready_characters_that_fit_the_model(client, alice, bob, ready):
    Character.objects.create(name="Training", owner=alice, model_version="v2", status="queued", provider_id="t")
    Character.objects.create(name="Bobs", owner=bob, model_version="v2", status="completed", provider_id="b")
    client.force_login(alice)
    html = client.get("/characters/pick/characters/", {"model": "higgsfield-ai/soul/v2/standard"}).content.decode()
    assert 'name="custom_reference_id" value="ref-mia"' in html
    assert "Training" not in html and "Bobs" not in html
    html = client.get("/characters/pick/characters/", {"model": "higgsfield-ai/soul/character"}).content.decode()
    assert "ref-mia" not in html and "No ready character fits" in html


def test_pickers_render_inside_other_templates(alice, ready, account):
    catalogues.sync_all()
    request = RequestFactory().get("/")
    request.user = alice
    template = engines["django"].from_string(
        '{% load characters %}{% style_picker version="v2" %}{% motion_picker %}'
        '{% character_picker "higgsfield-ai/soul/v2/standard" selected="ref-mia" %}')
    html = template.render({}, request)
    assert 'name="style_id"' in html and 'name="motion_id"' in html
    assert 'value="ref-mia" checked' in html
    assert html.count('<fieldset class="picker" data-picker>') == 3
