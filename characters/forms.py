from django import forms
from django.core.exceptions import ValidationError

from characters import photos
from characters.models import Character


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """1–100 photos, each checked by content and re-encoded (see characters.photos)."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, (list, tuple)) else [data] if data else []
        if not uploads:
            raise ValidationError("Add at least one photo of the person.")
        if len(uploads) > photos.MAX_PHOTOS:
            raise ValidationError(f"At most {photos.MAX_PHOTOS} photos; you chose {len(uploads)}.")
        cleaned, problems = [], []
        for upload in uploads:
            try:
                cleaned.append(photos.clean_photo(upload))
            except ValidationError as exc:
                problems.extend(exc.messages)
        if problems:
            raise ValidationError(problems)
        return cleaned


class CharacterForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    model_version = forms.ChoiceField(choices=Character.Version.choices, initial=Character.Version.V1,
                                      label="Model version",
                                      help_text="Soul (v1) works with Soul Character, Soul 2 with Soul 2 standard, "
                                                "Soul Cinema with Soul Cinema.")
    photos = PhotosField(help_text="1 to 100 clear photos of one person: JPEG, PNG or WebP, each up to 10 MB "
                                   "and 40 megapixels. Varied angles and light train best.")
    consent_subject = forms.CharField(max_length=200, strip=True, label="Person pictured",
                                      help_text="Their name, as on the release or agreement.")
    consent_attested = forms.BooleanField(
        label="The person pictured has agreed that their likeness is trained and used for this work.",
        error_messages={"required": "A character can only be created with the pictured person's consent."})
    consent_notes = forms.CharField(required=False, max_length=2000, label="Consent notes (optional)",
                                    widget=forms.Textarea(attrs={"rows": 2, "placeholder":
                                                                 "e.g. model release signed 3 March, campaign only"}))
