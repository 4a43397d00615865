import secrets
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from characters.signals import status_changed
from generations.models import Generation


class Style(models.Model):
    """A Soul style preset, synced from the provider's v1 or v2 style list."""

    class Version(models.TextChoices):
        V1 = "v1", "Soul (v1 list)"
        V2 = "v2", "Soul 2 (v2 list)"

    provider_id = models.CharField(max_length=64)
    version = models.CharField(max_length=2, choices=Version.choices, default=Version.V1)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    preview_url = models.URLField(max_length=1000, blank=True)
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["provider_id", "version"], name="unique_style_per_list")]

    def __str__(self):
        return self.name


class Motion(models.Model):
    """A DoP motion preset, synced from `/v1/motions`."""

    provider_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    preview_url = models.URLField(max_length=1000, blank=True)
    start_end_frame = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class CharacterQuerySet(models.QuerySet):
    def for_user(self, user):
        """Members see their own characters, admins all, clients none."""
        if not user.is_authenticated or not (user.is_admin_role or user.is_member_role):
            return self.none()
        visible = self.filter(delete_requested_at__isnull=True)
        return visible if user.is_admin_role else visible.filter(owner=user)

    def deletion_pending(self, user):
        """The user's withdrawn characters the provider has not deleted yet (each says why)."""
        return self.filter(owner=user, delete_requested_at__isnull=False, next_action_at__isnull=False)

    def ready(self):
        return self.filter(status=Character.Status.COMPLETED)

    def for_model(self, model_id):
        """Ready characters whose variant the given model accepts."""
        versions = [v for v, models in Character.MODELS_FOR_VERSION.items() if model_id in models]
        return self.ready().filter(model_version__in=versions)


class Character(models.Model):
    """A Soul ID: a person's likeness trained from photos, reused in generations."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting to upload"
        NOT_READY = "not_ready", "Not ready"
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "Training"
        COMPLETED = "completed", "Ready"
        FAILED = "failed", "Failed"

    class Version(models.TextChoices):
        V1 = "v1", "Soul (v1)"
        V2 = "v2", "Soul 2"
        CINEMA = "cinema", "Soul Cinema"

    # Which model takes a character of each variant (others silently ignore it).
    MODEL_FOR_VERSION = {
        Version.V1: "higgsfield-ai/soul/character",
        Version.V2: "higgsfield-ai/soul/v2/standard",
        Version.CINEMA: "higgsfield-ai/soul/cinema",
    }

    # Every model that takes a character of each variant: the first is the one named above; Soul
    # Standard and the v1 Soul endpoint are the v1 family, whose custom_reference_id is a v1 Soul ID.
    MODELS_FOR_VERSION = {
        "v1": ("higgsfield-ai/soul/character", "higgsfield-ai/soul/standard", "v1/text2image/soul"),
        "v2": ("higgsfield-ai/soul/v2/standard",),
        "cinema": ("higgsfield-ai/soul/cinema",),
    }

    TRAINING = (Status.NOT_READY, Status.QUEUED, Status.IN_PROGRESS)
    FINAL = (Status.COMPLETED, Status.FAILED)
    RANK = {Status.DRAFT: 0, Status.NOT_READY: 1, Status.QUEUED: 2, Status.IN_PROGRESS: 3, Status.COMPLETED: 4,
            Status.FAILED: 4}
    TRAINING_CREDITS = Decimal("40")  # list price of one training (PROTOCOL.md §3.4); the ledger holds it

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=6, choices=Version.choices, default=Version.V1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="characters")
    account = models.ForeignKey("generations.ProviderAccount", null=True, blank=True, on_delete=models.PROTECT)
    provider_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    fail_reason = models.TextField(blank=True)
    thumbnail = models.FileField(upload_to="characters/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    next_action_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Consent: a real person's likeness is used only with their agreement, on record.
    consent_attested = models.BooleanField(default=False)
    consent_notes = models.TextField(blank=True)
    consent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_subject = models.CharField("person pictured", max_length=200, blank=True)
    # Worker bookkeeping: polling backoff, and ids of earlier trainings (a retrain gets a new one).
    poll_interval = models.FloatField(default=2.0)
    poll_attempts = models.PositiveSmallIntegerField(default=0)
    past_provider_ids = models.JSONField(default=list, blank=True)
    delete_requested_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CharacterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("character-detail", args=[self.pk])

    @property
    def is_training(self):
        return self.status in self.TRAINING

    @property
    def is_finished(self):
        return self.status in self.FINAL

    @property
    def is_ready(self):
        return self.status == self.Status.COMPLETED

    @property
    def can_delete(self):
        return not self.is_training

    @property
    def can_retrain(self):
        return self.is_finished

    @property
    def model_id(self):
        return self.MODEL_FOR_VERSION[self.model_version]

    @property
    def provider_ids(self):
        return [pid for pid in [self.provider_id, *self.past_provider_ids] if pid]

    def generations(self):
        """Generations that used this character, under any of its trainings."""
        return Generation.objects.filter(params__custom_reference_id__in=self.provider_ids or ["-"])

    def advance(self, new, **changes):
        """Move to `new` if it is a step forward, under a row lock; tell listeners (the
        ledger charges training). Returns True when the status moved."""
        with transaction.atomic():
            current = Character.objects.select_for_update().get(pk=self.pk)
            old = current.status
            if old == new or old in self.FINAL or self.RANK[new] <= self.RANK[old]:
                if changes:
                    Character.objects.filter(pk=self.pk).update(**changes)
                self.refresh_from_db()
                return False
            fields = {"status": new, **changes}
            if new in self.FINAL:
                fields.update(finished_at=timezone.now())
                if new == self.Status.FAILED:
                    fields["next_action_at"] = None
            for name, value in fields.items():
                setattr(current, name, value)
            current.save(update_fields=[*fields, "updated_at"])
            status_changed.send(sender=Character, character=current, old=old, new=new)
        self.refresh_from_db()
        return True

    def restart(self):
        """Retrain from the same photos: back to draft with a fresh provider id to come."""
        with transaction.atomic():
            current = Character.objects.select_for_update().get(pk=self.pk)
            if not current.is_finished:
                return False
            old = current.status
            current.past_provider_ids = [*current.past_provider_ids, current.provider_id] if current.provider_id \
                else current.past_provider_ids
            current.status, current.provider_id, current.fail_reason = self.Status.DRAFT, "", ""
            current.poll_interval, current.poll_attempts = 2.0, 0
            current.submitted_at = current.finished_at = None
            current.next_action_at = timezone.now()
            current.save()
            status_changed.send(sender=Character, character=current, old=old, new=current.status)
        self.refresh_from_db()
        return True

    def schedule(self, seconds, **changes):
        """Set when the sweeper should next act on this character."""
        changes["next_action_at"] = timezone.now() + timedelta(seconds=seconds)
        Character.objects.filter(pk=self.pk).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)


def photo_token():
    return secrets.token_urlsafe(32)


class CharacterPhoto(models.Model):
    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="characters/photos/")
    position = models.PositiveSmallIntegerField(default=0)
    # The provider fetches each photo from a public, unguessable URL while it trains.
    token = models.CharField(max_length=64, unique=True, default=photo_token, editable=False)
    content_type = models.CharField(max_length=40, default="image/jpeg")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"photo {self.position} of {self.character}"

    @property
    def public_url(self):
        return settings.PUBLIC_BASE_URL + reverse("character-photo-public", args=[self.token])
