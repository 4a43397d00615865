"""The model catalogue (catalogue.json): what each model takes, how to check it, what it costs.
Forms, the JSON API, payloads and estimates all read it; adding a model is adding an entry."""

import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from generations import prices

DATA = Path(__file__).with_name("catalogue.json")
MODES = [("text-to-image", "Text to image"), ("image-to-image", "Image to image"),
         ("image-to-video", "Image to video"), ("text-to-video", "Text to video"), ("speak", "Talking video")]
DEFAULT_MODEL = "higgsfield-ai/soul/standard"
SEED_MIN, SEED_MAX = 1, 1_000_000
# Prompts without a documented limit get the one the provider documents elsewhere (Kling,
# Seedream and v1 Soul/DoP/Speak: 2,500 characters, PROTOCOL.md §3.1/§3.3), so no model
# takes, charges and sends a prompt of any length.
DEFAULT_PROMPT_MAX_LENGTH = 2500
PROMPT_PARAMS = ("prompt", "negative_prompt")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    choices: tuple = ()
    default: object = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    accept: str = ""
    wrap: str = ""
    list: bool = False
    seed: bool = False
    picker: str = ""
    style_version: str = ""
    widget: str = ""
    label: str = ""

    @property
    def is_upload(self):
        return self.type in ("upload", "uploads")

    @property
    def title(self):
        return self.label or LABELS.get(self.name) or self.name.replace("_", " ").capitalize()

    def describe(self):
        """The public description used by GET /api/models."""
        out = {"name": self.name, "type": self.type, "required": self.required}
        for key in ("choices", "default", "min", "max", "step", "min_length", "max_length", "min_items",
                    "max_items", "accept"):
            value = getattr(self, key)
            if value not in (None, (), ""):
                out[key] = list(value) if key == "choices" else value
        return out


# What people call the provider's field names, where the name alone reads badly.
LABELS = {
    "image_url": "Image", "image_urls": "Images", "end_image_url": "End frame", "last_image_url": "End frame",
    "first_frame_url": "First frame", "last_frame_url": "Last frame", "image_reference_url": "Reference image",
    "input_images": "Images", "input_images_end": "End frame", "input_image": "Portrait",
    "input_audio": "Audio (WAV)", "audio_url": "Audio", "audio_urls": "Audio files", "video_urls": "Videos",
    "custom_reference_id": "Character (Soul ID)", "custom_reference_strength": "Character strength",
    "cfg_scale": "CFG scale", "width_and_height": "Size (width × height)", "num_images": "Number of images",
    "prompt_optimizer": "Optimise prompt", "generate_audio": "Generate audio", "camera_fixed": "Fixed camera",
}


@dataclass(frozen=True)
class Model:
    id: str
    label: str
    family: str
    mode: str
    surface: str
    output: str
    params: tuple
    example: dict
    documented: str = ""
    example_inputs: tuple = ()  # optional inputs the example needs too (e.g. one of several)
    by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def param(self, name):
        return self.by_name.get(name)

    def has(self, name):
        return name in self.by_name

    @property
    def takes_soul_size(self):
        return self.has("aspect_ratio") and self.has("resolution") and self.family == "soul"

    def validate(self, params):
        """Check provider params against the catalogue: {field: [messages]}, empty when valid."""
        if not isinstance(params, dict):
            return {"params": ["Expected an object of parameters."]}
        errors = {}
        for name in params:
            if name not in self.by_name:
                errors[name] = ["This model does not take this parameter."]
        for param in self.params:
            value = params.get(param.name)
            if value is None or (isinstance(value, str) and not value.strip()):  # blank, as the form strips it
                if param.required:
                    errors[param.name] = ["This field is required."]
                continue
            problems = check(param, value)
            if problems:
                errors[param.name] = problems
        return errors

    @property
    def cost(self):
        """This model's rule in the one price table (generations/prices.json)."""
        return prices.rule_for(self.id, self.output)

    def with_defaults(self, params):
        """`params` with this model's defaults for whatever is left out or empty."""
        defaults = {p.name: p.default for p in self.params if p.default is not None}
        return defaults | {k: v for k, v in (params or {}).items() if v not in (None, "")}

    def estimate(self, params):
        """Credits by the list-price table (PROTOCOL.md §3.8), with this model's defaults."""
        return prices.list_price(self.id, self.with_defaults(params), self.output)

    def body(self, params):
        """The request body for this model's surface: flat on the Model API, enveloped on v1."""
        if self.surface == "v1":
            return {"params": params}
        return dict(params)

    def example_needs(self):
        """What the example leaves out because it must be made first: one entry per required
        input file (upload it, then pass its URL) and per trained character."""
        needs = []
        for param in self.params:
            if not (param.required or param.name in self.example_inputs):
                continue
            if param.is_upload:
                what = {"image": "an image (JPEG, PNG, WebP)", "audio": "a WAV audio file"}.get(param.accept,
                                                                                              param.accept)
                count = f"{param.min_items} or more of " if param.type == "uploads" and param.min_items else ""
                shape = (f'each as {{"type": "{param.wrap}", "{param.wrap}": URL}}' if param.wrap else
                         "a list of URLs" if param.type == "uploads" or param.list else "its URL")
                needs.append({"param": param.name, "upload": param.accept or "file",
                              "first": f"Upload {count}{what} where the provider can fetch it over https (on the "
                                       f"Model API: POST /files/generate-upload-url, then PUT the file to its "
                                       f"upload_url) and pass {shape} as {param.name}."})
            elif param.picker == "character":
                needs.append({"param": param.name, "upload": "character",
                              "first": "Train a character first (Characters page: photos of one person) and pass "
                                       f"its provider id as {param.name}."})
        return needs

    def describe(self):
        return {"id": self.id, "label": self.label, "mode": self.mode, "family": self.family,
                "surface": self.surface, "output": self.output,
                "parameters": [param.describe() for param in self.params],
                "cost": self.cost, "example": self.example, "example_needs": self.example_needs()}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Numbers beyond what a JSON double holds exactly, and nesting deeper than any parameter has.
LARGEST_NUMBER = 2 ** 53
MAX_DEPTH = 32
# C0 and C1 control characters other than tab, line feed and carriage return, and lone
# surrogates: no prompt needs them, PostgreSQL refuses NUL, and no encoder takes a lone surrogate.
UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def unusable(value, depth=0):
    """Why a value (or anything inside it) cannot be stored or sent the same way on every
    database: a control character, a non-finite or oversized number, too deep a nesting.
    None when it is fine."""
    if isinstance(value, str):
        if found := UNPRINTABLE.search(value):
            return f"Remove the control character U+{ord(found.group()):04X} (at character {found.start() + 1})."
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "Enter a finite number."
    if _is_number(value) and abs(value) > LARGEST_NUMBER:
        return f"Enter a number between -{LARGEST_NUMBER} and {LARGEST_NUMBER}."
    if isinstance(value, (list, dict)):
        if depth >= MAX_DEPTH:
            return f"Nested too deeply (more than {MAX_DEPTH} levels)."
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        return next(filter(None, (unusable(item, depth + 1) for item in items)), None)
    return None


def _check_url(value):
    if not isinstance(value, str) or not value.startswith(("https://", "http://")) or len(value) > 2083:
        return "Enter a valid http(s) URL."
    return None


def _check_upload_item(param, value):
    if param.wrap:
        if not isinstance(value, dict) or value.get("type") != param.wrap:
            return f'Expected {{"type": "{param.wrap}", "{param.wrap}": URL}}.'
        value = value.get(param.wrap)
    return _check_url(value)


def check(param, value):
    """Problems with one value for one parameter (a list of messages)."""
    kind = param.type
    if problem := unusable(value):
        return [problem]
    if kind == "boolean":
        return [] if isinstance(value, bool) else ["Expected true or false."]
    if kind == "integer" and not (_is_number(value) and float(value).is_integer()):
        return ["Enter a whole number."]
    if kind == "number" and not _is_number(value):
        return ["Enter a number."]
    if kind == "string" and not isinstance(value, str):
        return ["Enter text."]
    if kind in ("integer", "number", "string"):
        return _check_scalar(param, value)
    if kind == "upload":
        if param.list:
            if not isinstance(value, list) or len(value) != 1:
                return ["Expected a list with one image."]
            value = value[0]
        problem = _check_upload_item(param, value)
        return [problem] if problem else []
    if kind == "uploads":
        return _check_list(param, value, lambda item: _check_upload_item(param, item))
    if kind == "motions":
        return _check_list(param, value, _check_motion)
    if kind == "json":
        return [] if isinstance(value, (list, dict)) else ["Expected JSON (a list or an object)."]
    return []


def _check_scalar(param, value):
    if param.choices:
        if value not in param.choices:
            return ["Choose one of: " + ", ".join(str(choice) for choice in param.choices) + "."]
        return []
    problems = []
    if param.min is not None and value < param.min:
        problems.append(f"Ensure this value is greater than or equal to {param.min}.")
    if param.max is not None and value > param.max:
        problems.append(f"Ensure this value is less than or equal to {param.max}.")
    if param.min_length is not None and len(value) < param.min_length:
        problems.append(f"Ensure this value has at least {param.min_length} characters.")
    if param.max_length is not None and len(value) > param.max_length:
        problems.append(f"This model takes at most {param.max_length:,} characters here; "
                        f"this one has {len(value):,}.")
    return problems


def _check_list(param, value, check_item):
    if not isinstance(value, list):
        return ["Expected a list."]
    problems = []
    if param.min_items and len(value) < param.min_items:
        problems.append(f"Give at least {param.min_items}.")
    if param.max_items is not None and len(value) > param.max_items:
        problems.append(f"Give at most {param.max_items}.")
    problems += sorted({problem for item in value if (problem := check_item(item))})
    return problems


def _check_motion(item):
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return 'Expected {"id": preset id, "strength": 0..1}.'
    strength = item.get("strength", 1)
    if not _is_number(strength) or not 0 <= strength <= 1:
        return "Motion strength must be between 0 and 1."
    return None


@cache
def _data():
    return json.loads(DATA.read_text())


def _with_defaults(entry):
    param = {**entry, "choices": tuple(entry.get("choices", ()))}
    if param["name"] in PROMPT_PARAMS and param["type"] == "string":
        param.setdefault("max_length", DEFAULT_PROMPT_MAX_LENGTH)
    return param


@cache
def _models():
    models = {}
    for entry in _data()["models"]:
        params = tuple(Param(**_with_defaults(p)) for p in entry["params"])
        model = Model(**{**entry, "params": params, "example_inputs": tuple(entry.get("example_inputs", ()))},
                      by_name={p.name: p for p in params})
        models[model.id] = model
    return models


def all_models():
    return list(_models().values())


def get(model_id):
    """The catalogue entry for a model id, or None."""
    return _models().get(model_id)


def grouped_choices():
    """Model picker choices grouped by mode."""
    models = all_models()
    return [(label, [(m.id, m.label) for m in models if m.mode == mode]) for mode, label in MODES]


def soul_sizes():
    return _data()["soul_sizes"]


def soul_size(resolution, aspect_ratio):
    size = soul_sizes().get(resolution, {}).get(aspect_ratio)
    return tuple(size) if size else None


def motion_presets():
    return _data()["motion_presets"]


def first_image_param(model):
    return next((p for p in model.params if p.is_upload and p.accept == "image"), None)
