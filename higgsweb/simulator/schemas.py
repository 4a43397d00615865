"""Request validation for model endpoints, from the published OpenAPI document and
the supplement of later/corrected schemas (data/ holds copies of both).
Errors come out in FastAPI's 422 shape: {type, loc: ["body", field], msg, input}."""

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
UNDEFINED_REFS = {
    "#/definitions/MotionSchema": "MotionSchema_ASSUMED",
    "#/definitions/ImageUrlInputImageSchema": "ImageUrlInputImageSchema",
}


@cache
def supplement():
    return json.loads((DATA / "models-supplement.json").read_text())


@cache
def model_schemas():
    """{model_id: JSON schema} for every model path the two data files define, plus the few
    that only the provider's guides show (models-extra.json).
    A supplement entry named `id#live` replaces the OpenAPI schema of `id`."""
    spec = json.loads((DATA / "openapi.json").read_text())
    schemas = {}
    for path, item in spec["paths"].items():
        if path.startswith("/requests/"):
            continue
        body = item.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json", {})
        if "schema" in body:
            schemas[path.strip("/")] = body["schema"]
    for name, schema in supplement()["models"].items():
        if " " in name:  # not a model path (e.g. the custom-reference create schema)
            continue
        schemas[name.split("#")[0]] = schema
    for name, schema in json.loads((DATA / "models-extra.json").read_text())["models"].items():
        schemas[name] = schemas[schema["$same_as"]] if "$same_as" in schema else schema
    return schemas


def _resolve(schema):
    ref = schema.get("$ref")
    if ref in UNDEFINED_REFS:
        return supplement()[UNDEFINED_REFS[ref]]
    return schema


def _type_ok(expected, value):
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return checks.get(expected, lambda v: True)(value)


def validate(schema, value, loc=("body",)):
    """Return a list of FastAPI-style error dicts (empty when valid)."""
    schema = _resolve(schema)
    errors = []

    def err(kind, msg, where=loc, **ctx):
        item = {"type": kind, "loc": list(where), "msg": msg, "input": value}
        if ctx:
            item["ctx"] = ctx
        errors.append(item)

    expected = schema.get("type")
    if value is None and schema.get("default", "absent") is None:
        return errors  # an explicit null where the default is null
    if expected and not _type_ok(expected, value):
        err(f"{expected}_type", f"Input should be a valid {expected}")
        return errors
    if "const" in schema and value != schema["const"]:
        err("literal_error", f"Input should be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        # Enums of strings sometimes hold numbers the docs wrote as strings ("720" vs 720).
        if not (isinstance(value, (int, float)) and str(value) in schema["enum"]):
            err("enum", "Input should be " + ", ".join(repr(v) for v in schema["enum"]),
                expected=", ".join(repr(v) for v in schema["enum"]))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            err("greater_than_equal", f"Input should be greater than or equal to {schema['minimum']}",
                ge=schema["minimum"])
        if "maximum" in schema and value > schema["maximum"]:
            err("less_than_equal", f"Input should be less than or equal to {schema['maximum']}",
                le=schema["maximum"])
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            err("string_too_short", f"String should have at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            err("string_too_long", f"String should have at most {schema['maxLength']} characters")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            err("too_short", f"List should have at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            err("too_long", f"List should have at most {schema['maxItems']} items")
        if "items" in schema:
            for index, item in enumerate(value):
                errors += validate(schema["items"], item, (*loc, index))
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append({"type": "missing", "loc": [*loc, name], "msg": "Field required", "input": value})
        for name, item in value.items():
            if name in properties:
                errors += validate(properties[name], item, (*loc, name))
            elif schema.get("additionalProperties") is False:
                errors.append({"type": "extra_forbidden", "loc": [*loc, name],
                               "msg": "Extra inputs are not permitted", "input": item})
        if "rule" in schema:
            errors += rule_errors(schema, value, loc)
    return errors


def rule_errors(schema, value, loc=("body",)):
    """The supplement's cross-field `rule`s, in the two forms it uses:
    "at least one of a | b | c" and "x=true requires y=true"."""
    rule = schema["rule"]
    properties = schema.get("properties", {})
    if rule.startswith("at least one of "):
        names = [name.strip() for name in rule.removeprefix("at least one of ").split("|")]
        if not any(value.get(name) for name in names):
            return [{"type": "missing", "loc": list(loc), "msg": f"At least one of {', '.join(names)} is required",
                     "input": value}]
    elif " requires " in rule:
        left, right = (part.strip().partition("=") for part in rule.split(" requires "))
        field, expected = left[0], json.loads(left[2])
        needed, needed_value = right[0], json.loads(right[2])
        actual = value.get(field, properties.get(field, {}).get("default"))
        other = value.get(needed, properties.get(needed, {}).get("default"))
        if actual == expected and other != needed_value:
            return [{"type": "value_error", "loc": [*loc, field], "msg": f"Value error, {rule}",
                     "input": value.get(field)}]
    return []


def example_body(schema):
    """A minimal valid body: every required field with a plausible value."""
    body = {}
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        body[name] = example_value(name, _resolve(properties.get(name, {})))
    rule = schema.get("rule", "")
    if rule.startswith("at least one of "):
        first = rule.removeprefix("at least one of ").split("|")[0].strip()
        body[first] = example_value(first, _resolve(properties.get(first, {})))
    return body


def example_value(name, schema):
    if "enum" in schema:
        default = schema.get("default")
        return default if default in schema["enum"] else schema["enum"][0]
    kind = schema.get("type")
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [example_value(name, _resolve(schema.get("items", {}))) for _ in range(count)]
    if kind == "object" or "properties" in schema:
        return {key: example_value(key, _resolve(sub)) for key, sub in schema.get("properties", {}).items()
                if key in schema.get("required", [])}
    if kind == "boolean":
        return bool(schema.get("default", False))
    if kind in ("integer", "number"):
        default = schema.get("default")
        if isinstance(default, (int, float)):
            return default
        return schema.get("minimum", 1)
    if "url" in name or schema.get("format") == "uri":
        return "https://example.com/input.png"
    if "const" in schema:
        return schema["const"]
    return "a lighthouse on a cliff at dusk"
