import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


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
    def ready(self):
        return self.filter(status=Character.Status.COMPLETED)

    def for_model(self, model_id):
        """Ready characters whose variant the given model accepts."""
        versions = [v for v, m in Character.MODEL_FOR_VERSION.items() if m == model_id]
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
        "v1": "higgsfield-ai/soul/character",
        "v2": "higgsfield-ai/soul/v2/standard",
        "cinema": "higgsfield-ai/soul/cinema",
    }

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

    objects = CharacterQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class CharacterPhoto(models.Model):
    character = models.ForeignKey(Character, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="characters/photos/")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"photo {self.position} of {self.character}"
