"""One price table (generations/prices.json, PROTOCOL.md §3.8): the studio's estimate and what
the simulator charges are the same figure for every catalogue model, and where the account's
surface offers /estimate the cost line shows the provider's own figure and says so."""

import itertools
from decimal import Decimal

import httpx
import pytest

from generations import catalogue, pricing
from generations.models import ProviderAccount, ProviderEstimate
from higgsweb.simulator import catalogue as simulator_catalogue
from tests.examples import complete
from tests.sim_support import new_account, start_simulator

MODELS = catalogue.all_models()


def variants(model):
    """The example, and the example with each priced parameter at each of its values."""
    base = complete(model)
    yield base
    axes = []
    for name in ("resolution", "quality", "model", "sound", "batch_size", "num_images", "duration"):
        param = model.param(name)
        if param is None:
            continue
        values = list(param.choices) or [v for v in (param.min, param.max) if v is not None]
        axes.append([(name, value) for value in values])
    for combination in itertools.product(*axes):
        yield base | dict(combination)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_the_studio_estimate_is_what_the_simulator_would_charge(model):
    for params in variants(model):
        assert model.estimate(params) == simulator_catalogue.estimate(model.id, params) or model.surface == "v1"
        assert model.estimate(params) == pricing.list_price(model.id, model.with_defaults(params), model.output)


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator()
    yield sim
    sim.server.stop()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_catalogue_models_estimate_equals_the_simulators_charge(model, sim):
    """Submitted for real; the charge is what leaves the account's balance."""
    conn = new_account(sim)
    params = complete(model, lambda kind: f"{sim.url}/_files/00000000-0000-0000-0000-000000000000.{kind}")
    estimate = model.estimate(params)
    if model.surface == "v1":
        sim.v1.credits = 1000.0
        answer = httpx.post(f"{sim.url}/{model.id}", json={"params": params},
                            headers={"hf-api-key": conn.key_id, "hf-secret": conn.key_secret})
        assert answer.status_code == 200, answer.text
        assert Decimal(str(1000.0 - sim.v1.credits)).quantize(Decimal("0.001")) == estimate
        return
    answer = httpx.post(f"{sim.url}/{model.id}", json=params,
                        headers={"Authorization": f"Key {conn.key_id}:{conn.key_secret}"})
    assert answer.status_code == 200, answer.text
    assert sim.config.starting_credits - sim.balance(conn.key_id) == estimate


@pytest.mark.parametrize("model_id,params,credits", [
    ("kling-video/v3.0/pro/image-to-video", {}, "11.424"),  # 5 s, sound on by default: $0.714
    ("kling-video/v3.0/pro/image-to-video", {"sound": "off"}, "7.616"),  # $0.476
    ("kling-video/v3.0/pro/image-to-video", {"sound": "off", "duration": 10}, "15.232"),  # $0.952
    ("v1/image2video/dop", {"model": "dop-lite"}, "2.000"),
    ("higgsfield-ai/dop/turbo", {}, "6.500"),
    ("bytedance/seedance-2.5/image-to-video", {}, "36.960"),  # 720p × 5 s at $0.462/s
    ("bytedance/seedance-2.5/image-to-video", {"resolution": "1080p", "duration": 4}, "72.768"),
    ("higgsfield-ai/soul/standard", {"resolution": "720p", "aspect_ratio": "4:3"}, "1.500"),  # the docs' estimate
    ("higgsfield-ai/soul/cinema", {"resolution": "1080p", "batch_size": 4}, "0.352"),  # $0.022
    ("alibaba/qwen-image-3/edit", {}, "1.200"),  # $0.075
])
def test_figures_are_the_rows_of_the_protocols_price_table(model_id, params, credits):
    assert catalogue.get(model_id).estimate(params) == Decimal(credits)


def test_every_entry_cites_its_row_or_says_there_is_no_published_price():
    table = pricing.table()
    for model_id, rule in [*table["models"].items(), *table["default"].items()]:
        cited = "PROTOCOL.md §3.8 row" in rule["source"]
        assert cited or (rule.get("list_price") is False and "no published price" in rule["source"]), model_id
    assert {m.id for m in MODELS} <= set(table["models"]) | {m.id for m in MODELS if not m.cost.get("list_price", 1)}


def test_the_cost_line_says_list_price_until_the_provider_has_estimated_it(client, alice, project, account,
                                                                           simulator, monkeypatch):
    """The view never calls the provider: the first look queues a worker task (run inline
    here), the next look shows the provider's figure and its age."""
    monkeypatch.setattr(simulator_catalogue, "estimate", lambda model_id, payload: Decimal("3.21"))
    client.force_login(alice)
    query = {"model": "higgsfield-ai/soul/standard", "prompt": "a kite", "resolution": "720p", "batch_size": "1"}
    first = client.get("/studio/cost/", query, headers={"HX-Request": "true"}).content.decode()
    assert "1.5 credits" in first and "list price" in first
    estimate = ProviderEstimate.objects.get(account=account, model_id="higgsfield-ai/soul/standard")
    assert estimate.credits == Decimal("3.21")
    second = client.get("/studio/cost/", query, headers={"HX-Request": "true"}).content.decode()
    assert "3.21 credits" in second and "provider estimate, 0" in second and "minutes ago" in second


def test_a_surface_without_estimate_keeps_the_list_price(client, alice, project, simulator):
    ProviderAccount.objects.create(name="legacy", surface="v1", base_url=simulator.url, is_default=True)
    model = catalogue.get("v1/text2image/soul")
    legacy = ProviderAccount.objects.get(name="legacy")
    quote = pricing.quote(model, {"quality": "1080p"}, account=legacy)
    assert (quote.source, quote.credits) == ("list", Decimal("3.000"))
    assert not ProviderEstimate.objects.exists()


def test_the_scheduled_refresh_asks_each_model_once_an_hour(account, simulator, settings):
    from django_q.models import Schedule

    asked = pricing.refresh_estimates()
    model_api = [m for m in MODELS if m.surface == "model_api"]
    assert asked == len(model_api) == ProviderEstimate.objects.count()
    assert pricing.refresh_estimates() == 0  # fresh enough
    kling = ProviderEstimate.objects.get(model_id="kling-video/v3.0/pro/image-to-video")
    assert kling.credits == Decimal("11.424")  # the simulator prices from the same table
    assert Schedule.objects.get(name="generations-refresh-estimates").schedule_type == Schedule.HOURLY
