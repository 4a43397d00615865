"""A catalogue model's /api/models example made whole the way its `example_needs` say: each
required input uploaded first (here: a URL `url_for(kind)` gives), a character trained first."""

import uuid


def complete(model, url_for=lambda kind: f"https://inputs.cdn-test.example/input.{kind}"):
    params = dict(model.example)
    for need in model.example_needs():
        param = model.param(need["param"])
        if need["upload"] == "character":
            params[param.name] = str(uuid.uuid5(uuid.NAMESPACE_URL, model.id))
            continue
        url = url_for({"image": "png", "audio": "wav"}.get(param.accept, "png"))
        item = {"type": param.wrap, param.wrap: url} if param.wrap else url
        if param.type == "uploads":
            params[param.name] = [item] * max(1, param.min_items or 1)
        else:
            params[param.name] = [item] if param.list else item
    return params
