"""What a parameter that names an object may name, for one user.

The studio form builds its choices from these querysets, and the JSON API checks what a
script sends against the same ones, so both accept exactly the same things: the user's own
ready characters for that model (any member's for an admin; never one being deleted), the
active styles and motion presets, the user's own uploads, and their own saved images as
inputs. Links to files on other sites are the script's own business and are passed on."""

from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

from characters.models import Character, Motion, Style
from generations import catalogue
from generations.models import Output, Upload
from generations.uploads import from_output


def characters(user, model_id):
    return Character.objects.for_user(user).for_model(model_id)


def styles(param):
    return Style.objects.filter(version=param.style_version or "v1", active=True)


def motions():
    """The synced motion presets, or the documented ones until a sync has run."""
    return list(Motion.objects.filter(active=True)) or [
        Motion(provider_id=m["id"], name=m["name"]) for m in catalogue.motion_presets()]


def uploads(user):
    return Upload.objects.filter(owner=user)


def saved_images(user):
    """The user's archived images, which the studio offers as inputs ("pick from the gallery");
    a deleted generation's are gone."""
    return Output.objects.filter(generation__owner=user, generation__deleted_at__isnull=True, kind=Output.Kind.IMAGE,
                                 archived_at__isnull=False).exclude(file="")


# Checking what a script sent ----------------------------------------------------------------

def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.netloc or "").lower())


# Our own URLs a script may hand back as an input: an upload's public URL, or a saved image
# (as the API or the pages link to it).
FILE_ROUTES = {"upload-public": "token", "upload-file": "pk", "api-output": "pk", "output-file": "pk"}


def _ours(user, param, url, origins):
    """("external", None), ("upload", Upload), ("output", Output), or ("refused", message)."""
    parts = urlsplit(url)
    if _origin(url) not in origins:
        return "external", None
    try:
        match = resolve(parts.path)
    except Resolver404:
        match = None
    if match is None or match.url_name not in FILE_ROUTES:
        return "refused", "Files on this site go in as one of your uploads (…/u/…) or saved images (…/api/outputs/…)."
    value = match.kwargs[FILE_ROUTES[match.url_name]]
    if match.url_name in ("upload-public", "upload-file"):
        upload = uploads(user).filter(**{FILE_ROUTES[match.url_name]: value}, kind=param.accept).first()
        return ("upload", upload) if upload else ("refused", "This is not one of your uploads.")
    output = saved_images(user).filter(pk=value).first() if param.accept == "image" else None
    return ("output", output) if output else ("refused", "This is not one of your saved images.")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _swap(value, mapping):
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {key: _swap(item, mapping) for key, item in value.items()}
    if isinstance(value, list):
        return [_swap(item, mapping) for item in value]
    return value


def check(user, model, params, origins):
    """{field: [messages]} for every parameter naming something `user` may not use in the
    studio. `params` has passed `model.validate`; `origins` are this site's base URLs."""
    origins = {_origin(url) for url in origins}
    errors = {}
    for param in model.params:
        value = params.get(param.name)
        if value is None or value == "":
            continue
        if param.picker == "character":
            if not characters(user, model.id).filter(provider_id=value).exists():
                errors[param.name] = ["Unknown character: give the id of one of your ready characters "
                                      "that this model takes."]
        elif param.picker == "style":
            if not styles(param).filter(provider_id=value).exists():
                errors[param.name] = ["Unknown style: give one of the style ids the studio offers."]
        elif param.type == "motions":
            known = {motion.provider_id for motion in motions()}
            if any(item["id"] not in known for item in value):
                errors[param.name] = ["Unknown motion preset: give one of the presets the studio offers."]
        elif param.is_upload:
            refused = sorted({found for url in _strings(value) if url.startswith(("http://", "https://"))
                              for kind, found in [_ours(user, param, url, origins)] if kind == "refused"})
            if refused:
                errors[param.name] = refused
    return errors


def hand_over(user, model, params, origins):
    """The params with the user's saved images and private upload links swapped for upload
    URLs the provider can fetch, as the studio does when an image is picked from the gallery."""
    origins = {_origin(url) for url in origins}
    mapping = {}
    for param in model.params:
        if not param.is_upload or params.get(param.name) in (None, ""):
            continue
        for url in _strings(params[param.name]):
            kind, found = _ours(user, param, url, origins)
            if kind == "output":
                mapping[url] = from_output(found, user).public_url
            elif kind == "upload":
                mapping[url] = found.public_url
    return _swap(params, mapping) if mapping else params
