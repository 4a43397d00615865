from functools import partial

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction

from characters import photos
from characters.models import Character
from generations.models import Upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """1–100 photos, each checked by content and re-encoded (see characters.photos)."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def clean(self, data, initial=None):
        uploads = data if isinstance(data, (list, tuple)) else [data] if data else []
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


KEPT_PREFIX = "character-photo:"


def _reopen(upload):
    with upload.file.open("rb") as handle:
        return ContentFile(handle.read(), name=upload.original_name.removeprefix(KEPT_PREFIX))


class CharacterForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    model_version = forms.ChoiceField(choices=Character.Version.choices, initial=Character.Version.V1,
                                      label="Model version",
                                      help_text="Soul (v1) works with Soul Character and Soul Standard, Soul 2 with "
                                                "Soul 2 standard, Soul Cinema with Soul Cinema.")
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
    photos_keep = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        if args and args[0] is not None:
            args = (args[0].copy(), *args[1:])
        super().__init__(*args, **kwargs)
        self.user, self.kept = user, []
        if not self.is_bound:
            self.initial.setdefault("model_version", Character.Version.V1)

    def clean(self):
        """Photos that passed their checks are kept (privately, as the owner's uploads) when
        another field fails, so the form comes back with them and they are not chosen again."""
        data = super().clean()
        chosen = data.get("photos") or []
        if not chosen and "photos" not in self._errors:
            self.kept = self._kept_uploads()
            chosen = data["photos"] = [photos.clean_photo(_reopen(upload)) for upload in self.kept]
            if not chosen:
                self.add_error("photos", "Add at least one photo of the person.")
        if chosen and self._errors and not self.kept:
            self.kept = [self._keep(photo, number) for number, photo in enumerate(chosen, 1)]
        if self.kept:
            self.data["photos_keep"] = " ".join(upload.token for upload in self.kept)
        return data

    def _kept_uploads(self):
        tokens = (self.data.get("photos_keep") or "").split()[:photos.MAX_PHOTOS]
        if not tokens:
            return []
        return list(Upload.objects.filter(owner=self.user, token__in=tokens, original_name__startswith=KEPT_PREFIX)
                    .order_by("pk"))

    def _keep(self, photo, number):
        upload = Upload(owner=self.user, kind=Upload.Kind.IMAGE, content_type=photo.content_type,
                        size=len(photo.data), width=photo.width, height=photo.height,
                        original_name=f"{KEPT_PREFIX}{number}.{photo.extension}")
        upload.file.save(f"photo.{photo.extension}", ContentFile(photo.data), save=False)
        upload.save()
        return upload

    def discard_kept(self):
        """Once the character has its own copies, the kept uploads go (rows and files)."""
        for upload in self.kept:
            transaction.on_commit(partial(upload.file.storage.delete, upload.file.name))
        Upload.objects.filter(pk__in=[upload.pk for upload in self.kept]).delete()
