"""Generated from the data files (openapi.json + models-supplement.json): every model
path the simulator knows is accepted with a valid body, refused with a 422 for an invalid
one, and produces the kind and number of outputs its family promises."""

import pytest

from generations import higgsfield
from higgsweb.simulator import catalogue, schemas
from tests.sim_support import finish, new_account, start_simulator

MODELS = sorted(schemas.model_schemas().items())


def invalid_body(schema):
    """A valid body with its first required field taken away; a model with no required
    field (its rule asks for one of several) gets an empty body."""
    body = schemas.example_body(schema)
    required = schema.get("required") or []
    if required:
        body.pop(required[0])
        return body
    return {}


@pytest.fixture(scope="module")
def sim():
    sim = start_simulator(concurrency_limit=1000, starting_credits=10**6)
    yield sim
    sim.server.stop()


@pytest.fixture(scope="module")
def conn(sim):
    return new_account(sim)


@pytest.mark.parametrize("model_id, schema", MODELS, ids=[m for m, _ in MODELS])
def test_every_model_path_accepts_its_example_body_and_refuses_an_invalid_one(sim, conn, model_id, schema):
    receipt = higgsfield.submit(conn, model_id, schemas.example_body(schema))
    assert receipt.status == "queued"
    with pytest.raises(higgsfield.ValidationFailed) as info:
        higgsfield.submit(conn, model_id, invalid_body(schema))
    assert info.value.status == 422
    assert info.value.field_errors


@pytest.mark.parametrize("model_id, schema", MODELS, ids=[m for m, _ in MODELS])
def test_every_model_yields_its_kind_of_output_in_the_number_asked(model_id, schema):
    body = schemas.example_body(schema)
    properties = schema.get("properties", {})
    for name in ("batch_size", "num_images"):
        allowed = properties.get(name, {})
        if 4 in allowed.get("enum", []) or allowed.get("maximum", 0) >= 4:
            body[name] = 4
    plan = catalogue.output_plan(model_id, body)
    wanted = catalogue.output_type(model_id)
    assert {kind for kind, *_ in plan} == {wanted}
    if wanted == "image":
        assert len(plan) == (4 if "batch_size" in body or "num_images" in body else 1)
    else:
        assert len(plan) == 1


def test_video_families_are_listed_as_video_and_image_families_as_image():
    kinds = {model_id: catalogue.output_type(model_id) for model_id, _ in MODELS}
    assert {kinds[m] for m in kinds if m.startswith(("kling-video/", "veo3.1", "sora-2/", "minimax/",
                                                     "higgsfield-ai/dop/", "wan-", "bytedance/seedance"))} == {"video"}
    assert {kinds[m] for m in kinds if m.startswith(("higgsfield-ai/soul/", "reve/", "nano-banana", "flux-pro/",
                                                     "xai/grok-imagine-image", "alibaba/qwen-image"))} == {"image"}


def test_a_completed_job_of_a_batch_model_lists_every_image(sim, conn):
    receipt = higgsfield.submit(conn, "higgsfield-ai/popcorn/auto", {"prompt": "eight", "num_images": 8})
    finish(sim)
    result = higgsfield.status(conn, receipt.request_id)
    assert [output.kind for output in result.outputs] == ["image"] * 8
