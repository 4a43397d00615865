"""One form for every catalogue model: its fields are built from the model's parameters."""

import json
import random
import re
import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cached_property

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from characters.forms import KEPT_PREFIX
from characters.models import Character
from generations import catalogue, references, routing, uploads
from generations.models import Gallery, Generation, Output, ProviderAccount, ShareLink, Upload
from generations.templatetags.generations import model_label
from higgsweb.models import Project, User

MAX_SWEEP_SEEDS = 8


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


RECENT_PICKS, RECENT_UPLOADS = 24, 12
IMAGE_LABELS = ("Image", "Images", "Portrait")  # generic names that mean the start frame of a video


class PickField(forms.Field):
    """Picker values ("upload:<pk>" or "output:<pk>"), one or several; checked against the
    member's own files when the form is cleaned."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        if not value:
            return []
        return [str(item) for item in (value if isinstance(value, (list, tuple)) else [value])][:20]


def _pick_key(item):
    return f"upload:{item.pk}" if isinstance(item, Upload) else f"output:{item.pk}"


def _pick(item, checked=False):
    """One thumbnail of an image picker."""
    if isinstance(item, Upload):
        return {"value": _pick_key(item), "checked": checked, "thumb": item.get_absolute_url(),
                "label": item.original_name or "Upload", "width": item.width, "height": item.height,
                "when": item.created_at}
    return {"value": _pick_key(item), "checked": checked, "thumb": reverse("output-thumb", args=[item.pk]),
            "label": f"Result ({model_label(item.generation.model_id)})", "width": item.width,
            "height": item.height, "when": item.generation.created_at}


def recent_outputs(user):
    """The member's newest saved images, as the image pickers offer them."""
    return references.saved_images(user).order_by("-generation__created_at", "position")[:RECENT_PICKS]


def recent_uploads(user):
    """The member's newest image uploads, less copies made of results and of kept photos."""
    return (references.uploads(user).filter(kind=Upload.Kind.IMAGE).exclude(original_name__startswith="gallery-")
            .exclude(original_name__startswith=KEPT_PREFIX).order_by("-created_at")[:RECENT_UPLOADS])


def random_seed():
    return random.randint(catalogue.SEED_MIN, catalogue.SEED_MAX)


def new_submit_token():
    """A one-time token for one rendering of the studio form: the job it starts is started
    once, however often the form is sent (generations/idempotency.py)."""
    return secrets.token_urlsafe(18)


# Form fields of the studio's own: a model parameter of the same name gets another field name.
RESERVED_NAMES = {"model", "project", "submit_token"}


def field_name(param):
    """The form field a model parameter is entered in: its own name, unless the studio's form
    uses that name itself (v1 DoP's `model`, e.g. "dop-lite", beside the model picker)."""
    if param.type == "motions":
        return "motion"
    return f"param_{param.name}" if param.name in RESERVED_NAMES else param.name


def params_from_query(model, query):
    """A model's parameters from the studio form's fields as a query string sends them (the
    cost line): each under its parameter's name."""
    data = query.dict() if hasattr(query, "dict") else dict(query)
    return {param.name: data.get(field_name(param)) for param in model.params
            if data.get(field_name(param)) not in (None, "")}


def token_from_url(url):
    """The Upload token inside one of our public upload URLs (or "")."""
    marker = "/u/"
    if not isinstance(url, str) or marker not in url:
        return ""
    return url.rsplit(marker, 1)[1].strip("/")


class ModelPickerField(forms.ChoiceField):
    """The studio's model picker. It lists the models some account can run; the view picks the
    model the form is for, and the form's clean says plainly when no account can run it."""

    def valid_value(self, value):
        return True


class GenerationForm(forms.Form):
    model = ModelPickerField(label="Model", choices=routing.grouped_choices, required=False)
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)

    def __init__(self, data=None, files=None, *, model, user, **kwargs):
        self.spec, self.user = model, user
        super().__init__(data.copy() if data is not None else None, files, **kwargs)
        self.fields["model"].initial = model.id
        self.fields["project"].queryset = Project.objects.for_user(user).active()
        self.fields["submit_token"] = forms.CharField(required=False, widget=forms.HiddenInput,
                                                      initial=new_submit_token)
        self.kept = {}
        self.characters = []
        for param in model.params:
            self._add(param)

    # Building fields ---------------------------------------------------------------------
    def _add(self, param):
        name, label = field_name(param), param.title
        if self.spec.mode == "image-to-video" and param.is_upload and param.accept == "image" and label in IMAGE_LABELS:
            label = "Start frame"
        if param.seed:
            self.fields[name] = forms.IntegerField(
                min_value=param.min, max_value=param.max, required=False, label="Seed",
                help_text=f"{param.min:,} to {param.max:,}. Empty: a random seed each time.")
            self.fields["lock_seed"] = forms.BooleanField(required=False, label="Lock seed")
            self.fields["sweep_seeds"] = forms.IntegerField(
                min_value=1, max_value=MAX_SWEEP_SEEDS, required=False, initial=1, label="Seeds to try",
                help_text="More than 1 makes a seed sweep: one generation per seed.")
        elif param.picker == "style":
            self.styles = list(references.styles(param))
            choices = [("", "No style")] + [(s.provider_id, s.name) for s in self.styles]
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label="Style")
            self.fields["sweep_styles"] = forms.MultipleChoiceField(
                choices=choices[1:], required=False, label="Style grid",
                help_text="Pick several to make one generation per style (and per seed).")
        elif param.picker == "character":
            self.characters = list(references.characters(self.user, self.spec.id))
            self.character_version = next((version for version, models in Character.MODELS_FOR_VERSION.items()
                                           if self.spec.id in models), "")
            choices = [("", "No character")] + [(c.provider_id, c.name) for c in self.characters]
            self.fields[name] = forms.ChoiceField(choices=choices, required=False, label="Character (Soul ID)")
        elif param.type == "upload" or param.type == "uploads":
            field_class = MultipleFileField if param.type == "uploads" else forms.FileField
            self.fields[name] = field_class(required=False, label=label)
            self.fields[name].widget.attrs["accept"] = "audio/wav,audio/mpeg" if param.accept == "audio" \
                else "image/jpeg,image/png,image/webp,image/gif"
            self.fields[f"{name}__keep"] = forms.CharField(required=False, widget=forms.HiddenInput)
            if param.accept == "image":
                self.fields[f"{name}__pick"] = PickField(label=f"{label}: recent results and uploads")
        elif param.type == "motions":
            self.motions = references.motions()
            choices = [("", "No motion preset")] + [(m.provider_id, m.name) for m in self.motions]
            self.fields["motion"] = forms.ChoiceField(choices=choices, required=False, label="Motion preset")
            self.fields["motion_strength"] = forms.DecimalField(
                min_value=0, max_value=1, decimal_places=2, initial=Decimal("1"), required=False,
                label="Motion strength", widget=forms.NumberInput(attrs={"step": "0.01"}))
        elif param.type == "json":
            self.fields[name] = forms.CharField(required=False, label=label, widget=forms.Textarea(
                attrs={"rows": 2, "placeholder": "JSON"}))
        elif param.type == "boolean":
            self.fields[name] = forms.BooleanField(required=False, label=label, initial=param.default)
        elif param.choices:
            choices = [(c, str(c)) for c in param.choices]
            if param.default is None and not param.required:
                choices = [("", "Default")] + choices
            kwargs = {"choices": choices, "required": param.required or param.default is not None,
                      "label": label, "initial": param.default}
            if param.type == "integer":
                self.fields[name] = forms.TypedChoiceField(coerce=int, empty_value=None, **kwargs)
            else:
                self.fields[name] = forms.ChoiceField(**kwargs)
        elif param.type == "integer":
            self.fields[name] = forms.IntegerField(min_value=param.min, max_value=param.max,
                                                   required=param.required, label=label, initial=param.default)
        elif param.type == "number":
            places = 2 if param.step == 0.01 else None
            self.fields[name] = forms.DecimalField(
                min_value=param.min, max_value=param.max, decimal_places=places, required=param.required,
                label=label, initial=param.default,
                widget=forms.NumberInput(attrs={"step": str(param.step or "any")}))
        else:
            widget = forms.Textarea(attrs={"rows": 3}) if param.widget == "textarea" else forms.TextInput()
            if param.max_length:
                # No maxlength attribute: it would cut a pasted prompt short without a word. The
                # catalogue's check (shared with the API) names the limit; the page counts towards it.
                widget.attrs["data-max-length"] = param.max_length
            self.fields[name] = forms.CharField(required=param.required, label=label, widget=widget,
                                                min_length=param.min_length)

    def picks(self, name):
        """Thumbnails to pick an image input from: what is chosen now first, then the member's
        newest results, then their newest uploads (copies of results left out)."""
        chosen = self.kept.get(name) or self._initial_picks(name)
        chosen_keys = {_pick_key(item) for item in chosen}
        recent = [*recent_outputs(self.user).select_related("generation"), *recent_uploads(self.user)]
        options = [_pick(item, checked=True) for item in chosen]
        options += [_pick(item) for item in recent if _pick_key(item) not in chosen_keys]
        return options

    def _initial_picks(self, name):
        """An unbound form's pre-chosen image (the studio opened from "Animate this")."""
        if self.is_bound:
            return []
        keys = self.initial.get(f"{name}__pick") or []
        pks = [int(key.split(":", 1)[1]) for key in keys if key.startswith("output:") and key[7:].isdigit()]
        return list(references.saved_images(self.user).filter(pk__in=pks).select_related("generation"))

    # Cleaning --------------------------------------------------------------------------------
    def clean(self):
        cleaned = super().clean()
        params = {}
        for param in self.spec.params:
            try:
                value = self._value(param, cleaned)
            except ValidationError as exc:
                self.add_error(self.field_for(param.name), exc)
                continue
            if value is not None and value != "" and value != []:
                params[param.name] = value
        problems = self.spec.validate(params)
        routed = routing.problems(self.spec, params)  # no account at all, or what its surface refuses
        if "__all__" in routed or not (problems or self.errors):
            problems = {**problems, **routed}
        for name, messages in problems.items():
            field = self.field_for(name)
            if field is not None and field not in self.errors:
                self.add_error(field, messages)
            elif field is None:
                self.add_error(None, messages if name == "__all__" else f"{name}: {' '.join(messages)}")
        cleaned["params"] = params
        return cleaned

    def field_for(self, param_name):
        """The field a message about a model parameter belongs on, or None (the form as a whole)."""
        param = self.spec.param(param_name)
        name = field_name(param) if param is not None else param_name
        return name if name in self.fields and name not in ("model", "project", "submit_token") else None

    def _value(self, param, cleaned):
        name = field_name(param)
        if param.seed:
            seed = cleaned.get(name)
            if seed is None and cleaned.get("lock_seed") and name not in self.errors:
                raise ValidationError("Enter a seed to lock it, or untick “Lock seed”.")
            return seed
        if param.is_upload:
            return self._upload_value(param, cleaned)
        if param.type == "motions":
            motion = cleaned.get("motion")
            strength = cleaned.get("motion_strength")
            return [{"id": motion, "strength": float(1 if strength is None else strength)}] if motion else None
        if param.type == "json":
            text = (cleaned.get(name) or "").strip()
            if not text:
                return None
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                raise ValidationError("This is not valid JSON.")
        value = cleaned.get(name)
        if isinstance(value, Decimal):
            return float(value)
        return value

    def _upload_value(self, param, cleaned):
        """New files first; then the thumbnails picked (a list takes files and picks together);
        then what an earlier submit kept. Whatever is used is kept for the re-rendered form."""
        name, found, problem = param.name, [], None
        given = cleaned.get(name) or []
        for file in given if isinstance(given, list) else [given]:
            try:
                found.append(uploads.store(file, param.accept, self.user))
            except ValidationError as exc:
                problem = exc
        if not problem and (param.type == "uploads" or not found):
            try:
                found += [upload for upload in self._picked(cleaned.get(f"{name}__pick") or [])
                          if upload not in found]
            except ValidationError as exc:
                problem = exc
        if not found and not problem and not cleaned.get(f"{name}__pick"):
            tokens = (cleaned.get(f"{name}__keep") or "").split()
            found = list(references.uploads(self.user).filter(token__in=tokens)) if tokens else []
        if param.type == "upload":
            found = found[:1]
        if found:
            # Re-rendering the form keeps these by reference; the member does not upload again.
            self.kept[name] = found
        self._set(f"{name}__keep", " ".join(upload.token for upload in found))
        if f"{name}__pick" in self.fields:
            self._set(f"{name}__pick", [f"upload:{upload.pk}" for upload in found])
        if problem:
            raise problem
        if not found:
            return None
        items = [{"type": param.wrap, param.wrap: u.public_url} if param.wrap else u.public_url for u in found]
        return items if param.type == "uploads" or param.list else items[0]

    def _picked(self, keys):
        """The member's own uploads and results named by picker values ("upload:7", "output:9"),
        in order; a result becomes an upload (a copy of its saved image)."""
        found = []
        for key in keys:
            kind, _, pk = str(key).partition(":")
            if not pk.isdigit():
                continue
            if kind == "upload":
                upload = references.uploads(self.user).filter(kind=Upload.Kind.IMAGE, pk=pk).first()
            elif kind == "output":
                output = references.saved_images(self.user).filter(pk=pk).first()
                upload = uploads.from_output(output, self.user) if output else None
            else:
                upload = None
            if upload is not None and upload not in found:
                found.append(upload)
        return found

    def _set(self, name, value):
        if hasattr(self.data, "setlist") and isinstance(value, list):
            self.data.setlist(name, value)
        else:
            self.data[name] = value

    # What the views use ------------------------------------------------------------------------
    @property
    def sweep_count(self):
        return self.cleaned_data.get("sweep_seeds") or 1

    def cells(self):
        """Params for each generation this submit creates: one, or a seeds × styles matrix."""
        params = self.cleaned_data["params"]
        styles = self.cleaned_data.get("sweep_styles") or [params.get("style_id")]
        count = self.sweep_count if self.spec.has("seed") else 1
        seeds = [params.get("seed")] if count == 1 else []
        if count > 1:
            seeds = [params["seed"] + i for i in range(count)] if params.get("seed") else \
                [random_seed() for _ in range(count)]
        cells = []
        for style in styles:
            for seed in seeds:
                cell = dict(params)
                if self.spec.has("seed"):
                    cell["seed"] = seed or random_seed()
                if style:
                    cell["style_id"] = style
                cells.append(cell)
        return cells

    @property
    def is_sweep(self):
        return len(self.cleaned_data.get("sweep_styles") or []) > 1 or self.sweep_count > 1

    @property
    def size(self):
        """Soul: the width × height the chosen aspect ratio and quality give."""
        if not self.spec.takes_soul_size:
            return None
        return catalogue.soul_size(self["resolution"].value(), self["aspect_ratio"].value())

    @property
    def size_table_json(self):
        return json.dumps(catalogue.soul_sizes()) if self.spec.takes_soul_size else ""

    def rows(self):
        """The model's fields in catalogue order, with what the template needs beside each."""
        rows = []
        for param in self.spec.params:
            name = field_name(param)
            picks = self.picks(name) if f"{name}__pick" in self.fields else None
            rows.append({"param": param, "field": self[name], "kept": self.kept.get(param.name, []),
                         "picks": picks, "picked": any(p["checked"] for p in picks or ()),
                         "pick_name": f"{name}__pick", "multiple": param.type == "uploads",
                         "keep": self[f"{name}__keep"] if f"{name}__keep" in self.fields and picks is None else None,
                         "fields": self._row_fields(param, name)})
        return rows

    def _row_fields(self, param, name):
        names = {name, f"{name}__keep", f"{name}__pick"}
        if param.seed:
            names |= {"lock_seed", "sweep_seeds"}
        if param.picker == "style":
            names.add("sweep_styles")
        if param.type == "motions":
            names.add("motion_strength")
        return names

    @cached_property
    def other_characters(self):
        """Ready characters this model's picker does not offer: each link switches to the model
        that takes it."""
        return list(Character.objects.for_user(self.user).ready().exclude(pk__in=[c.pk for c in self.characters])
                    .only("pk", "name", "provider_id", "model_version", "thumbnail"))

    @cached_property
    def layout(self):
        """The prompt bar (the prompt), the inputs shown right under it (what has to be given,
        and the character), and the rest, folded under "More settings"."""
        prompt, shown, folded = None, [], []
        for row in self.rows():
            param = row["param"]
            if param.name == "prompt":
                prompt = row
            elif param.picker == "character" or (param.required and param.default is None):
                shown.append(row)
            else:
                folded.append(row)
        return {"prompt": prompt, "shown": shown, "folded": folded}

    @property
    def more_open(self):
        """"More settings" opens when one of its fields has an error, or a sweep is set up."""
        outside = {"model", "__all__"}
        for row in (self.layout["prompt"], *self.layout["shown"]):
            if row:
                outside |= row["fields"]
        return any(name not in outside for name in self.errors) or self.sweep_is_set

    @property
    def sweep_is_set(self):
        seeds = self["sweep_seeds"].value() if "sweep_seeds" in self.fields else None
        styles = self["sweep_styles"].value() if "sweep_styles" in self.fields else None
        return str(seeds or "1") not in ("", "1") or bool(styles)

    def ready_for_next(self):
        """After a submit: the same settings for the next one, but a single generation (a sweep
        or style grid is never carried over) and a fresh random seed unless it is locked."""
        if "sweep_seeds" in self.fields:
            self._set("sweep_seeds", "1")
        if "sweep_styles" in self.fields:
            self._set("sweep_styles", [])
        if not self.cleaned_data.get("lock_seed") and "seed" in self.data:
            self._set("seed", "")


def data_from_params(model, params, *, project=None, seed_mode="same"):
    """Form data that reproduces a generation's params (for "use these settings" and 422 reopen)."""
    data = {"model": model.id}
    if project is not None:
        data["project"] = str(project.pk)
    for param in model.params:
        value = params.get(param.name)
        if value is None:
            continue
        if param.seed:
            if seed_mode == "same":
                data[param.name], data["lock_seed"] = str(value), "on"
        elif param.is_upload:
            items = value if isinstance(value, list) else [value]
            urls = [item.get(param.wrap) if isinstance(item, dict) else item for item in items]
            data[f"{param.name}__keep"] = " ".join(filter(None, (token_from_url(url) for url in urls)))
        elif param.type == "motions":
            if value:
                data["motion"], data["motion_strength"] = value[0].get("id", ""), str(value[0].get("strength", 1))
        elif param.type == "json":
            data[param.name] = json.dumps(value)
        elif param.type == "boolean":
            if value:
                data[param.name] = "on"
        else:
            data[field_name(param)] = str(value)
    return data


class GalleryFilterForm(forms.Form):
    """Filters for the gallery; every field optional, unknown values simply ignored."""

    q = forms.CharField(required=False, max_length=200, label="Search prompts",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search prompts"}))
    by_model = forms.ChoiceField(required=False, label="Model")
    by_status = forms.ChoiceField(required=False, label="Status",
                                  choices=[("", "Any status"), *Generation.Status.choices])
    by_project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False, label="Project",
                                        empty_label="All projects")
    character = forms.CharField(required=False, widget=forms.HiddenInput)
    hidden = forms.BooleanField(required=False, label="Show hidden")

    def __init__(self, data, *, user):
        super().__init__(data)
        self.fields["by_project"].queryset = Project.objects.for_user(user)
        # The studio's models, as its picker groups and names them; reading the models out of the
        # user's history would scan all of it on every filter change. A model since taken out of
        # the catalogue still filters when asked for, as an extra choice.
        choices = [("", "All models"), *((group, models) for group, models in catalogue.grouped_choices() if models)]
        asked = self.data.get("by_model") or ""
        if asked and catalogue.get(asked) is None and not catalogue.unusable(asked):
            choices.append((asked, asked.removeprefix("higgsfield-ai/")))
        self.fields["by_model"].choices = choices

    def filters(self):
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"q": data["q"], "model": data["by_model"], "status": data["by_status"],
                "project": data["by_project"], "character": data["character"], "hidden": data["hidden"]}

    @property
    def active(self):
        return any(self.filters().values())


# Galleries, share links and client feedback.


class GalleryForm(forms.ModelForm):
    """Create (with a project) or edit (name, description, which client accounts see it)."""

    class Meta:
        model = Gallery
        fields = ["project", "name", "description", "clients"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "clients": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["project"]
        else:
            self.fields["project"].queryset = Project.objects.for_user(user).active()
            self.fields["project"].empty_label = None
        self.fields["clients"].queryset = User.objects.filter(role=User.Role.CLIENT, is_active=True)
        self.fields["clients"].required = False
        self.fields["clients"].help_text = "Client accounts that see this gallery when they log in."

    def clean(self):
        data = super().clean()
        project = data.get("project") if "project" in self.fields else self.instance.project
        name = data.get("name")
        if project and name and Gallery.objects.filter(project=project, name__iexact=name) \
                .exclude(pk=self.instance.pk).exists():
            self.add_error("name", f"“{project}” already has a gallery with this name.")
        return data


class ShareLinkForm(forms.ModelForm):
    """A link's settings. The password is typed in clear and stored hashed; leaving it empty
    keeps the current one (or none)."""

    expires_on = forms.DateField(required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"}))
    never_expires = forms.BooleanField(required=False, label="Never expires")
    new_password = forms.CharField(required=False, label="Password", max_length=128,
                                   widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                   help_text="Optional. Visitors type it once per browser.")
    remove_password = forms.BooleanField(required=False, label="Remove the password")

    class Meta:
        model = ShareLink
        fields = ["label", "allow_downloads", "show_settings"]
        labels = {"allow_downloads": "Allow downloads", "show_settings": "Show prompts and settings"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        link = self.instance
        if link.pk:
            self.initial.setdefault("expires_on", timezone.localdate(link.expires_at) if link.expires_at else None)
            self.initial.setdefault("never_expires", link.expires_at is None)
        else:
            self.initial.setdefault("expires_on", timezone.localdate() + timedelta(days=ShareLink.DEFAULT_DAYS))
            del self.fields["remove_password"]

    def clean(self):
        data = super().clean()
        if data.get("never_expires"):
            data["expires_on"] = None
        elif not data.get("expires_on") and "expires_on" not in self.errors:
            self.add_error("expires_on", "Pick the day the link stops working, or tick “Never expires”.")
        elif data.get("expires_on") and data["expires_on"] <= timezone.localdate():
            self.add_error("expires_on", "The expiry has to be after today.")
        if data.get("new_password") and len(data["new_password"]) < 6:
            self.add_error("new_password", "Use at least 6 characters, or leave it empty for no password.")
        return data

    def save(self, commit=True):
        link = super().save(commit=False)
        day = self.cleaned_data["expires_on"]
        # The link works to the end of its last day, in the site's time zone.
        link.expires_at = (timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
                           if day else None)
        if self.cleaned_data.get("remove_password"):
            link.set_password("")
        if self.cleaned_data.get("new_password"):
            link.set_password(self.cleaned_data["new_password"])
        if commit:
            link.save()
        return link


class LinkPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autofocus": True, "autocomplete": "off"}))


class VisitorNameForm(forms.Form):
    name = forms.CharField(max_length=80, label="Your name", error_messages={"required": "Please give a name."},
                           help_text="So the team knows who answered. Asked once in this browser.")

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise ValidationError("Please give a name.")
        return name


class FeedbackForm(forms.Form):
    ACTIONS = [("favourite", "Favourite"), ("approve", "Approve"), ("changes", "Request changes"),
               ("clear", "Clear my answer")]

    action = forms.ChoiceField(choices=ACTIONS)
    comment = forms.CharField(required=False, max_length=4000, label="What should change?",
                              widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("action") == "changes" and not data.get("comment", "").strip():
            self.add_error("comment", "Say what should change, so the team can act on it.")
        return data


class AddToGalleryForm(forms.Form):
    gallery = forms.ModelChoiceField(queryset=Gallery.objects.none(), empty_label=None)
    # One image of the generation; empty: all of them.
    output = forms.ModelChoiceField(queryset=Output.objects.none(), required=False)

    def __init__(self, *args, user, generation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["gallery"].queryset = Gallery.objects.for_team(user).filter(project=generation.project_id)
        self.fields["output"].queryset = generation.outputs.all()


# Provider accounts, routes and history imports.

# Where each surface lives (PROTOCOL.md §1, §7); the simulator serves each under its own prefix.
REAL_BASE_URLS = {"model_api": "https://platform.higgsfield.ai", "v1": "https://platform.higgsfield.ai",
                  "fnf": "https://fnf.higgsfield.ai", "pixazo": "https://gateway.pixazo.ai"}
SIMULATOR_PREFIXES = {"model_api": "", "v1": "", "fnf": "/fnf", "pixazo": "/pixazo"}
# What each surface's credentials are called, and what the simulator accepts for them.
CREDENTIALS = {
    "model_api": {"key_id": "Key id", "secret": "Key secret",
                  "help": "From the Higgsfield console (API keys); sent as Authorization: Key id:secret."},
    "v1": {"key_id": "API key (hf-api-key)", "secret": "Secret (hf-secret)",
           "help": "The legacy v1 key pair: the same key id and secret as the Model API's, sent as headers."},
    "fnf": {"key_id": None, "secret": "Bearer token",
            "help": "Unofficial: the web app's own API. Higgsfield does not document or support it; it may "
                    "break at any time, and using it may be against the web app's terms. A token lasts about "
                    "60 seconds: sign in to higgsfield.ai, copy a fresh token from the browser's requests "
                    "(Authorization: Bearer …) and paste it here just before using the account.",
            "simulator": "fnf-demo-token"},
    "pixazo": {"key_id": None, "secret": "Subscription key",
               "help": "Your Pixazo API subscription key (Ocp-Apim-Subscription-Key). Pixazo serves Soul and "
                       "DoP only.", "simulator": "pixazo-demo-key"},
}


def default_base_url(surface):
    """The address a new account of `surface` talks to when none is given."""
    from django.conf import settings

    if settings.USE_SIMULATOR:
        return settings.SIMULATOR_URL.rstrip("/") + SIMULATOR_PREFIXES[surface]
    if surface in ("model_api", "v1"):
        return settings.HIGGSFIELD_BASE_URL
    return REAL_BASE_URLS[surface]


class ProviderAccountForm(forms.ModelForm):
    """Add or change a provider account. Credentials are write-only: never sent back to the
    browser; an empty field keeps the stored value. An account kept in step with the environment
    takes its credentials and address from there, so only its limits and switches change here."""

    key_id = forms.CharField(required=False, max_length=300)
    secret = forms.CharField(required=False, max_length=2000, strip=True,
                             widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))

    class Meta:
        model = ProviderAccount
        fields = ["name", "base_url", "concurrency_limit", "is_default", "active"]
        labels = {"base_url": "Base URL", "is_default": "Default account of its surface",
                  "concurrency_limit": "Jobs at once"}
        help_texts = {"concurrency_limit": "No more jobs than this run on the account at the same time; the "
                                           "provider's plan sets the real limit.",
                      "is_default": "Models of this surface run here unless a route names another account.",
                      "active": "Off: no new job runs here; jobs already sent finish."}

    def __init__(self, *args, surface, **kwargs):
        super().__init__(*args, **kwargs)
        self.surface = surface
        words = CREDENTIALS[surface]
        self.fields["base_url"].required = False
        self.fields["base_url"].help_text = f"Empty: {default_base_url(surface)}."
        if words["key_id"]:
            self.fields["key_id"].label = words["key_id"]
            self.fields["key_id"].initial = self.instance.key_id
        else:
            del self.fields["key_id"]
        secret = self.fields["secret"]
        secret.label = words["secret"]
        hint = self.instance.secret_hint if self.instance.pk else ""
        secret.help_text = (f"Stored: {hint}. Leave empty to keep it. " if hint else "") + words["help"]
        if "simulator" in words:
            from django.conf import settings

            if settings.USE_SIMULATOR:
                secret.help_text += f" (The local simulator accepts “{words['simulator']}”.)"
        if self.instance.from_env:  # the environment decides these
            for name in ("name", "base_url", "key_id", "secret"):
                self.fields.pop(name, None)
        self.order_fields(["name", "key_id", "secret", "base_url", "concurrency_limit", "is_default", "active"])

    def clean_base_url(self):
        return (self.cleaned_data.get("base_url") or default_base_url(self.surface)).rstrip("/")

    def clean(self):
        data = super().clean()
        if "secret" in self.fields and not data.get("secret") and not self.instance.key_secret:
            self.add_error("secret", f"Enter the {self.fields['secret'].label.lower()}.")
        if "key_id" in self.fields and not data.get("key_id"):
            self.add_error("key_id", f"Enter the {self.fields['key_id'].label}.")
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        account.surface = self.surface
        if "key_id" in self.fields:
            account.key_id = self.cleaned_data["key_id"]
        if self.cleaned_data.get("secret"):
            account.key_secret = self.cleaned_data["secret"]
        if commit:
            with transaction.atomic():
                if account.is_default:  # one default per surface
                    ProviderAccount.objects.filter(surface=account.surface, is_default=True) \
                        .exclude(pk=account.pk).update(is_default=False)
                account.save()
        return account


def account_label(account):
    """“Studio key · Model API”; just the name where it says the surface already."""
    return account.name if account.name.lower() == account.via.lower() else f"{account.name} · {account.via}"


class AccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return account_label(obj)


class RoutesForm(forms.Form):
    """Which account serves each model: one choice per model among the accounts whose surface
    can run it ("" leaves the choice to routing.fallback)."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            if row["chosen"] is None and all(account == row["fallback"] for account in row["options"]):
                continue  # nothing to choose but what it runs on anyway
            fallback = row["fallback"].name if row["fallback"] is not None else "no account"
            self.fields[self.key(row["model"])] = forms.ChoiceField(
                required=False, label=row["model"].label, initial=row["chosen"].pk if row["chosen"] else "",
                choices=[("", f"Automatic ({fallback})")] + [(str(a.pk), account_label(a)) for a in row["options"]])

    @staticmethod
    def key(model):
        return "route-" + re.sub(r"[^a-z0-9]+", "-", model.id.lower())

    def choices(self):
        """(model, account or None) for each model that has a choice."""
        by_pk = {str(account.pk): account for row in self.rows for account in row["options"]}
        return [(row["model"], by_pk.get(self.cleaned_data[self.key(row["model"])]))
                for row in self.rows if self.key(row["model"]) in self.fields]


class HistoryImportForm(forms.Form):
    account = AccountChoiceField(queryset=ProviderAccount.objects.none(), empty_label=None,
                                 label="Web-app (fnf) account")
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None,
                                     help_text="The imported items go into this project, as yours.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = ProviderAccount.objects.filter(surface=ProviderAccount.Surface.FNF,
                                                                        active=True)
        self.fields["project"].queryset = Project.objects.for_user(user).active()
