"""The model catalogue (catalogue.json): what each model takes, how to check it, what it costs.
Forms, the JSON API, payloads and estimates all read it; adding a model is adding an entry."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

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
    cost: dict
    example: dict
    documented: str = ""
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

    def estimate(self, params):
        """Credits by the catalogue's list-price rule (PROTOCOL.md §3.8)."""
        rule = self.cost
        if "table" in rule:
            table = rule["table"]
            key = str(params.get(rule["by"]) or self._default(rule["by"]) or "")
            unit = Decimal(str(table.get(key, max(table.values()))))
        else:
            unit = Decimal(str(rule.get("credits", 0)))
        count = 1
        if rule.get("count"):
            try:
                count = int(params.get(rule["count"]) or self._default(rule["count"]) or 1)
            except (TypeError, ValueError):
                count = 1
        return (unit * max(count, 1)).quantize(Decimal("0.001"))

    def _default(self, name):
        param = self.param(name)
        return param.default if param else None

    def body(self, params):
        """The request body for this model's surface: flat on the Model API, enveloped on v1."""
        if self.surface == "v1":
            return {"params": params}
        return dict(params)

    def describe(self):
        return {"id": self.id, "label": self.label, "mode": self.mode, "family": self.family,
                "surface": self.surface, "output": self.output,
                "parameters": [param.describe() for param in self.params],
                "cost": self.cost, "example": self.example}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
        model = Model(**{**entry, "params": params}, by_name={p.name: p for p in params})
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
