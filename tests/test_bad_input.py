"""Every bad request is a clear 4xx in the format asked: a corpus of bad bodies through the
JSON API (types, nesting, size, encodings, control characters, wrong shapes for every
parameter of every model), unknown routes and methods, over budget; and control characters
in the studio form. Nothing answers 5xx, and the API never answers HTML. The suite runs this
on SQLite and on PostgreSQL, which refuses NUL where SQLite stores it."""

import json
from decimal import Decimal

import pytest

from generations import catalogue
from generations.models import ApiToken, Generation
from higgsweb import ledger
from higgsweb.models import Budget

SOUL = "higgsfield-ai/soul/standard"


@pytest.fixture
def token(alice):
    return ApiToken.objects.issue(alice)[1]


@pytest.fixture
def api(client, token):
    """post(body, content_type=…, **headers) → response, with the token; raw bytes go as they are."""
    client.raise_request_exception = False  # a crash must show as a 5xx answer, which the tests refuse

    def post(body, content_type="application/json", path="/api/generations", **headers):
        data = body if isinstance(body, bytes) else json.dumps(body)
        return client.generic("POST", path, data, content_type=content_type,
                              headers={"Authorization": f"Bearer {token}", **headers})
    return post


def soul(project, **params):
    return {"model": SOUL, "project": project.pk, "params": {"prompt": "a lighthouse", **params}}


def assert_clear(response, status=None):
    """A 4xx JSON answer with {"errors": {field: [messages]}}; returns the errors."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    errors = response.json()["errors"]
    assert errors and all(isinstance(messages, list) and messages for messages in errors.values())
    return errors


def nested(depth, open_="[", close="]"):
    return (open_ * depth + close * depth).encode()


RAW_BODIES = {
    "not JSON": b"{model: soul}",
    "a list": b"[]",
    "a string": b'"soul"',
    "a number": b"42",
    "null": b"null",
    "truncated": b'{"model": "higgsfield-ai/soul/standard", "params": {"prompt": "x"',
    "nested 100,000 deep (lists)": nested(100_000),
    "nested 100,000 deep (objects)": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "nested 1,000 deep": nested(1000),
    "nested 40 deep in params": b'{"model": "' + SOUL.encode() + b'", "params": {"prompt": ' + nested(40) + b"}}",
    "NaN": b'{"model": "' + SOUL.encode() + b'", "params": {"prompt": "x", "seed": NaN}}',
    "Infinity": b'{"model": "' + SOUL.encode() + b'", "params": {"prompt": "x", "seed": -Infinity}}',
    "1e999": b'{"model": "' + SOUL.encode() + b'", "params": {"prompt": "x", "seed": 1e999}}',
    "a 5,000-digit number": b'{"model": "' + SOUL.encode() + b'", "params": {"seed": ' + b"9" * 5000 + b"}}",
    "invalid UTF-8": b'{"model": "\xff\xfe", "params": {}}',
    "UTF-16": json.dumps({"model": SOUL}).encode("utf-16"),
    "Latin-1 text": '{"model": "café"}'.encode("latin-1"),
    "a byte-order mark": b"\xef\xbb\xbf" + json.dumps({"model": SOUL}).encode(),
}


@pytest.mark.parametrize("name", RAW_BODIES)
def test_a_malformed_body_gets_a_json_400(api, name):
    assert "__all__" in assert_clear(api(RAW_BODIES[name]), 400) or name in ("nested 40 deep in params", "1e999")


def test_a_body_of_20_megabytes_gets_a_json_413(api, project):
    body = json.dumps(soul(project, prompt="x" * 20_000_000)).encode()
    assert "larger than" in assert_clear(api(body), 413)["__all__"][0]


def test_a_body_just_over_the_limit_is_413(api, project):
    body = json.dumps(soul(project, prompt="x" * 1_100_000)).encode()
    assert_clear(api(body), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/xml", "", "application/json; charset=latin-1"])
def test_json_sent_as_another_type_gets_415(api, project, content_type):
    errors = assert_clear(api(soul(project), content_type=content_type), 415)
    assert "Content-Type" in errors["__all__"][0] or "UTF-8" in errors["__all__"][0]
    assert not Generation.objects.exists()


def test_json_with_a_utf8_charset_is_accepted(api, project):
    assert api(soul(project), content_type="application/json; charset=UTF-8").status_code == 201


CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\ud800", "\udfff"]


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_in_the_prompt_are_refused_on_the_prompt(api, project, char):
    errors = assert_clear(api(soul(project, prompt=f"a light{char}house"), content_type="application/json"), 400)
    assert f"U+{ord(char):04X}" in errors["prompt"][0]
    assert not Generation.objects.exists()


def test_tabs_and_newlines_are_fine(api, project):
    assert api(soul(project, prompt="a lighthouse\n\tat dusk\r\n")).status_code == 201


@pytest.mark.parametrize("where", ["model", "project", "a parameter's name", "a url", "a nested json value",
                                   "a nested json key", "a motion id", "a character id"])
def test_nul_anywhere_in_the_body_is_a_400_naming_the_field(api, project, where):
    model = {"a url": "reve/edit", "a nested json value": "kling-video/v3.0/pro/image-to-video",
             "a nested json key": "kling-video/v3.0/pro/image-to-video", "a motion id": "higgsfield-ai/dop/standard",
             "a character id": "higgsfield-ai/soul/character"}.get(where, SOUL)
    body = {"model": model, "project": project.pk, "params": dict(catalogue.get(model).example)}
    field = {"model": "model", "project": "project", "a parameter's name": "pr\x00mpt", "a url": "image_url",
             "a nested json value": "elements", "a nested json key": "elements", "a motion id": "motions",
             "a character id": "custom_reference_id"}[where]
    if where == "model":
        body["model"] = SOUL + "\x00"
    elif where == "project":
        body["project"] = project.name + "\x00"
    elif where == "a parameter's name":
        body["params"][field] = "x"
    elif where == "a url":
        body["params"][field] = "https://example.com/a\x00.png"
    elif where == "a nested json value":
        body["params"][field] = [{"name": "hero", "notes": ["ok", "bad\x00"]}]
    elif where == "a nested json key":
        body["params"][field] = [{"na\x00me": "hero"}]
    elif where == "a motion id":
        body["params"][field] = [{"id": "zoom\x00", "strength": 0.5}]
    else:
        body["params"][field] = "char\x00"
    assert field in assert_clear(api(body), 400)
    assert not Generation.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("model", 42), ("model", ["x"]), ("model", {"id": SOUL}), ("model", None), ("model", ""), ("model", "nope"),
    ("project", ["x"]), ("project", {"id": 1}), ("project", True), ("project", 1.5), ("project", 10 ** 30),
    ("project", -1), ("project", "99999999999999999999999"), ("project", "²"), ("project", ""), ("project", None),
    ("params", []), ("params", "prompt"), ("params", 3), ("params", None), ("extra", 1),
])
def test_wrong_shapes_of_the_top_level_fields_are_a_400_on_that_field(api, project, field, value):
    body = soul(project)
    body[field] = value
    errors = assert_clear(api(body), 400)
    assert field in errors or (field == "params" and "prompt" in errors), errors


# For each parameter type, values that are never right for it.
WRONG = {
    "boolean": ["yes", 1, [], {}],
    "integer": ["5", 1.5, True, [], {}, 10 ** 100],
    "number": ["5", True, [], {}, 10 ** 100],
    "string": [5, True, [], {"a": 1}, 1.5],
    "upload": [5, [], {}, "not a url", "ftp://example.com/a.png", ["https://example.com/a.png"] * 3],
    "uploads": ["https://example.com/a.png", {}, [5], [[]], 7],
    "motions": ["zoom", [{"id": 5}], [{"id": "x", "strength": 9}], [5], {}],
    "json": ["x", 5, True],
}


@pytest.mark.parametrize("model", catalogue.all_models(), ids=lambda m: m.id)
def test_every_parameter_of_every_model_refuses_wrong_shapes_with_a_400_on_it(api, project, model):
    answered = 0
    for param in model.params:
        for value in WRONG[param.type]:
            if param.type == "string" and param.choices and value in param.choices:
                continue
            params = {**model.example, param.name: value}
            response = api({"model": model.id, "project": project.pk, "params": params})
            errors = assert_clear(response, 400)
            assert param.name in errors, (param.name, value, errors)
            answered += 1
    assert answered >= len(model.params)
    assert not Generation.objects.exists()


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "ünïcode", "two words", "tab\there"])
def test_an_unusable_idempotency_key_is_a_400(api, project, key):
    response = api(soul(project), **{"Idempotency-Key": key})
    assert "Idempotency-Key" in assert_clear(response, 400)


# Routes and methods -------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/", 404), ("GET", "/api/nope", 404), ("POST", "/api/models/extra", 404),
    ("GET", "/api/generations/not-a-uuid", 404), ("GET", "/api/generations/00000000-0000-0000-0000-000000000000", 404),
    ("POST", "/api/generations/00000000-0000-0000-0000-000000000000/cancel", 404), ("GET", "/api/outputs/999", 404),
    ("GET", "/api/outputs/99999999999999999999999", 404), ("DELETE", "/api/generations", 405),
    ("GET", "/api/generations", 405), ("PUT", "/api/models", 405), ("POST", "/api/models", 405),
    ("PATCH", "/api/generations", 405),
])
def test_unknown_routes_and_methods_under_api_answer_json(client, token, method, path, status):
    client.raise_request_exception = False
    response = client.generic(method, path, headers={"Authorization": f"Bearer {token}"})
    errors = assert_clear(response, status)
    if status == 405:
        assert response.has_header("Allow") and response["Allow"] in errors["__all__"][0]


def test_without_a_token_unknown_routes_are_still_json(client):
    assert_clear(client.get("/api/nope"), 404)
    assert_clear(client.post("/api/generations"), 401)


def test_a_failure_inside_the_api_is_a_json_500_with_the_request_id(client, token, monkeypatch):
    client.raise_request_exception = False

    def broken():
        raise RuntimeError("the catalogue is unreadable")
    monkeypatch.setattr(catalogue, "all_models", broken)
    response = client.get("/api/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response["X-Request-ID"] in response.json()["errors"]["__all__"][0]


# Over budget ------------------------------------------------------------------------------------

def test_over_budget_is_a_402_saying_what_is_left(api, alice, project):
    budget = ledger.user_budget(alice)
    Budget.objects.filter(pk=budget.pk).update(hard_limit=Decimal("0.100"))
    response = api(soul(project))
    errors = assert_clear(response, 402)
    assert "0.100 of 0.100 credits left" in errors["budget"][0]
    assert response.json()["budget"] == {"scope": "user", "needed": str(catalogue.get(SOUL).estimate({})),
                                         "remaining": "0.100", "hard_limit": "0.100"}
    assert not Generation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_race_past_the_budget_gets_201s_then_402s_never_a_5xx(alice, project, live_server):
    """Parallel submits from threads: exactly as many start as the budget holds."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    raw = ApiToken.objects.issue(alice)[1]
    cost = catalogue.get(SOUL).estimate({"resolution": "720p"})
    budget = ledger.user_budget(alice)
    Budget.objects.filter(pk=budget.pk).update(hard_limit=cost * 3)
    body = soul(project, resolution="720p")

    def post(_):
        response = httpx.post(f"{live_server.url}/api/generations", json=body, timeout=60,
                              headers={"Authorization": f"Bearer {raw}"})
        return response.status_code, response.headers["Content-Type"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(12)))
    assert all(kind == "application/json" for _, kind in answers)
    assert sorted(status for status, _ in answers) == [201] * 3 + [402] * 9
    assert Generation.objects.count() == 3


# The studio form ----------------------------------------------------------------------------------

@pytest.mark.parametrize("char", CONTROL[:-2], ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_in_the_studio_prompt_are_a_field_error(client, alice, project, char):
    client.raise_request_exception = False
    client.force_login(alice)
    response = client.post("/generations/new/", {"model": SOUL, "project": project.pk,
                                                  "prompt": f"a light{char}house", "resolution": "720p"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.context["form"].errors["prompt"]
    assert not Generation.objects.exists()


@pytest.mark.parametrize("text", ['[{"name": "hero\\u0000"}]', '{"a\\u0001": 1}', '[NaN]', "[" * 50_000 + "]" * 50_000])
def test_a_json_field_in_the_studio_refuses_what_no_database_stores(client, alice, project, text):
    client.raise_request_exception = False
    client.force_login(alice)
    model = catalogue.get("kling-video/v3.0/pro/image-to-video")
    response = client.post("/generations/new/", {"model": model.id, "project": project.pk, "prompt": "x",
                                                  "elements": text}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.context["form"].errors["elements"]
    assert not Generation.objects.exists()


@pytest.mark.parametrize("url", ["/?from=not-an-id", "/studio/form/?from=12", "/?by_model=%00", "/?by_model=x%01"])
def test_bad_query_values_in_the_studio_are_4xx_or_ignored(client, alice, url):
    client.raise_request_exception = False
    client.force_login(alice)
    assert client.get(url).status_code in (200, 404)
