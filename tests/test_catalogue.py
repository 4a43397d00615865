"""The catalogue covers every model the data files define, and its checks hold at every bound."""

import json
from decimal import Decimal

import pytest

from generations import catalogue, pricing
from higgsweb.simulator.schemas import DATA
from tests.examples import complete

MODELS = catalogue.all_models()


def data_file_model_paths():
    spec = json.loads((DATA / "openapi.json").read_text())
    paths = {p.strip("/") for p in spec["paths"] if not p.startswith("/requests/")}
    supplement = json.loads((DATA / "models-supplement.json").read_text())["models"]
    return paths | {name.split("#")[0] for name in supplement if " " not in name}


def test_catalogue_covers_every_model_path_in_the_data_files():
    missing = data_file_model_paths() - {model.id for model in MODELS}
    assert not missing


def test_catalogue_has_the_v1_shapes_and_the_guides_models():
    soul = catalogue.get("v1/text2image/soul")
    assert len(soul.param("width_and_height").choices) == 16
    assert set(catalogue.get("v1/image2video/dop").param("model").choices) >= {"dop-lite", "dop-turbo",
                                                                               "dop-standard"}
    speak = catalogue.get("v1/speak/higgsfield")
    assert speak.param("quality").choices == ("mid", "high") and speak.param("duration").choices == (5, 10, 15)
    assert catalogue.get("higgsfield-ai/dop/preview") and catalogue.get("bytedance/seedream/v4/text-to-image")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_each_models_own_example_is_valid(model):
    assert model.validate(complete(model)) == {}


def bound_cases():
    for model in MODELS:
        for param in model.params:
            if param.type in ("integer", "number") and not param.choices:
                step = 1 if param.type == "integer" else 0.01
                if param.min is not None:
                    yield model, param, param.min - step, False
                    yield model, param, param.min, True
                if param.max is not None:
                    yield model, param, param.max, True
                    yield model, param, param.max + step, False
            elif param.choices:
                yield model, param, param.choices[0], True
                yield model, param, param.choices[-1], True
                yield model, param, "not-a-choice" if param.type == "string" else 999_999_999, False
            elif param.type == "string" and param.max_length:
                yield model, param, "x" * param.max_length, True
                yield model, param, "x" * (param.max_length + 1), False
            elif param.type in ("uploads", "motions") and param.max_items is not None:
                item = ({"id": "d2389a9a-91c2-4276-bc9c-c9e35e8fb85a", "strength": 1} if param.type == "motions"
                        else {"type": param.wrap, param.wrap: "https://example.com/a.png"} if param.wrap
                        else "https://example.com/a.png")
                yield model, param, [item] * param.max_items, True
                yield model, param, [item] * (param.max_items + 1), False
                if param.min_items:
                    yield model, param, [item] * param.min_items, True
                    yield model, param, [item] * (param.min_items - 1), False


@pytest.mark.parametrize("model, param, value, ok", list(bound_cases()),
                         ids=lambda v: v.id if hasattr(v, "id") else getattr(v, "name", None))
def test_every_parameter_is_checked_below_at_and_above_its_limits(model, param, value, ok):
    params = {**complete(model), param.name: value}
    errors = model.validate(params)
    assert (param.name not in errors) is ok, errors


def test_a_required_parameter_left_out_is_reported_on_its_field():
    errors = catalogue.get("higgsfield-ai/dop/lite").validate({"prompt": "x"})
    assert errors == {"image_url": ["This field is required."]}


def test_an_unknown_parameter_is_refused():
    errors = catalogue.get("reve/text-to-image").validate({"prompt": "x", "colour": "blue"})
    assert "colour" in errors


@pytest.mark.parametrize("model_id, params, credits", [
    ("higgsfield-ai/soul/standard", {"resolution": "720p", "aspect_ratio": "4:3"}, "1.500"),
    ("higgsfield-ai/soul/standard", {"resolution": "1080p", "batch_size": 4}, "12.000"),
    ("higgsfield-ai/dop/turbo", {}, "6.500"),
    ("v1/image2video/dop", {"model": "dop-standard"}, "9.000"),
    ("bytedance/seedance-2.5/image-to-video", {"resolution": "480p", "duration": 10}, "32.960"),
])
def test_costs_come_from_the_catalogue_rule(model_id, params, credits):
    assert pricing.estimate_credits(model_id, params) == Decimal(credits)


def test_credits_convert_to_dollars_at_the_list_rate():
    assert pricing.credits_to_usd(Decimal("1.5")) == Decimal("0.094")


def test_soul_quality_and_aspect_give_the_documented_size():
    assert catalogue.soul_size("720p", "9:16") == (864, 1536)
    assert catalogue.soul_size("1080p", "2:3") == (1365, 2048)


def test_v1_models_are_sent_in_the_params_envelope():
    model = catalogue.get("v1/text2image/soul")
    assert model.body(model.example) == {"params": model.example}
    flat = catalogue.get("higgsfield-ai/soul/standard")
    assert flat.body(flat.example) == flat.example
