import hashlib
import secrets
import uuid
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from generations import higgsfield, webhooks
from generations.signals import feedback_given, status_changed
from higgsweb.models import LedgerEntry


class ProviderAccountQuerySet(models.QuerySet):
    def default(self, surface=None):
        """The account new generations of a surface (the Model API unless named) run on. With no
        admin-made default, one is kept in step with the environment (the simulator when no key
        is configured): the Model API and the legacy v1 API share the key pair and the host. An
        admin may switch that one off (a team with only a Pixazo key); it stays off."""
        surface = surface or ProviderAccount.Surface.MODEL_API
        account = self.filter(is_default=True, active=True, surface=surface).first()
        if account or surface not in ProviderAccount.ENV_NAMES:
            return account
        account, created = self.get_or_create(
            name=ProviderAccount.ENV_NAMES[surface], defaults={
                "surface": surface, "base_url": settings.HIGGSFIELD_BASE_URL, "from_env": True, "active": True},
        )
        if not created and (account.base_url, account.surface, account.from_env) != (
                settings.HIGGSFIELD_BASE_URL, surface, True):
            account.base_url, account.surface, account.from_env = settings.HIGGSFIELD_BASE_URL, surface, True
            account.save(update_fields=["base_url", "surface", "from_env"])
        return account if account.active else None


class ProviderAccount(models.Model):
    """A set of provider credentials. `from_env` accounts read their secret from settings."""

    class Surface(models.TextChoices):
        MODEL_API = "model_api", "Model API (Authorization: Key)"
        V1 = "v1", "Legacy v1 job sets (hf-api-key / hf-secret)"
        FNF = "fnf", "Web app fnf API (unofficial, Bearer token)"
        PIXAZO = "pixazo", "Pixazo gateway"

    # The accounts kept in step with the environment, by surface (see ProviderAccountQuerySet.default).
    ENV_NAMES = {Surface.MODEL_API: "environment", Surface.V1: "environment (v1)"}
    # How a card says where a job ran ("via Pixazo").
    VIA = {Surface.MODEL_API: "Model API", Surface.V1: "v1 API", Surface.FNF: "web app (fnf)",
           Surface.PIXAZO: "Pixazo"}

    name = models.CharField(max_length=80, unique=True)
    surface = models.CharField(max_length=12, choices=Surface.choices, default=Surface.MODEL_API)
    base_url = models.URLField(max_length=300)
    key_id = models.CharField(max_length=300, blank=True)
    key_secret = models.CharField(max_length=2000, blank=True)
    from_env = models.BooleanField(default=False, help_text="Use the credentials from the environment.")
    concurrency_limit = models.PositiveSmallIntegerField(default=4)
    is_default = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    # The last time the provider refused these credentials while working a job or an import (the
    # checks themselves are ProviderBalance readings); cleared by the next check that passes.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    objects = ProviderAccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_surface_display()})"

    @property
    def via(self):
        return self.VIA.get(self.surface, self.surface)

    @property
    def secret_hint(self):
        """The stored secret as the pages show it: its last four characters, or nothing."""
        secret = settings.HIGGSFIELD_API_SECRET if self.from_env else self.key_secret
        return f"…{secret[-4:]}" if len(secret or "") > 8 else ("set" if secret else "")

    def record_error(self, error):
        """The provider refused this account's credentials while working a job or an import."""
        now = timezone.now()
        ProviderAccount.objects.filter(pk=self.pk).update(last_error=error[:2000], last_error_at=now)
        self.last_error, self.last_error_at = error[:2000], now

    def clear_error(self):
        ProviderAccount.objects.filter(pk=self.pk).update(last_error="", last_error_at=None)
        self.last_error, self.last_error_at = "", None

    @property
    def last_reading(self):
        """The newest balance and credentials reading (higgsweb.ledger.read_provider_balance)."""
        return self.balances.first()

    def in_flight(self):
        """Jobs the provider counts against this account's concurrency limit."""
        return self.generations.filter(status__in=Generation.IN_FLIGHT).count()

    def connection(self):
        key_id, key_secret = self.key_id, self.key_secret
        if self.from_env:
            key_id, key_secret = settings.HIGGSFIELD_API_KEY, settings.HIGGSFIELD_API_SECRET
        return higgsfield.Connection(self.surface, self.base_url.rstrip("/"), key_id, key_secret)


class ModelRoute(models.Model):
    """Which account serves a model, where an admin chose one (generations/routing.py decides
    for every other model)."""

    model_id = models.CharField(max_length=200, unique=True)
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="routes")

    def __str__(self):
        return f"{self.model_id} → {self.account.name}"


class GenerationQuerySet(models.QuerySet):
    def live(self):
        """Not deleted. A deleted generation keeps its row for the ledger and the audit; no list,
        page, file, share link or API call shows it."""
        return self.filter(deleted_at__isnull=True)

    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        if user.is_admin_role:
            return self.live()
        if user.is_member_role:  # their own work, and what the team curated into galleries they can open
            return self.live().filter(models.Q(owner=user) | models.Q(pk__in=self._curated_for(user)))
        # Clients: finished items of the galleries shared with them, nothing else.
        shared = GalleryItem.objects.filter(gallery__clients=user)
        return self.live().filter(status=Generation.Status.COMPLETED, pk__in=shared.values("generation_id"))

    @staticmethod
    def _curated_for(user):
        return GalleryItem.objects.filter(gallery__in=Gallery.objects.for_user(user)).values("generation_id")

    def newest_for_user(self, user, stop):
        """The first `stop` rows of for_user(user), newest first (slice the result up to `stop`).
        A member's rows are their own or the team's curated work; as one OR, the database gathers
        both sides whole and sorts the member's entire history before it can take a page. Each
        side is read newest first through its own index and cut at `stop` instead, so only those
        few rows are sorted, however long the history."""
        if not user.is_authenticated or user.is_admin_role or not user.is_member_role:
            return self.for_user(user).order_by("-created_at")

        def newest(qs):
            return qs.order_by("-created_at").values("pk")[:stop]

        own, curated = self.live().filter(owner=user), self.live().filter(pk__in=self._curated_for(user))
        return self.filter(models.Q(pk__in=newest(own)) | models.Q(pk__in=newest(curated))).order_by("-created_at")

    def pending(self):
        return self.exclude(status__in=Generation.FINAL)

    def outputs_for(self, user):
        """For a client, each generation's outputs cut down to the images shared with them (the
        team sees every output, read when asked for)."""
        if user.is_authenticated and user.is_member_role:
            return self
        return self.prefetch_related(models.Prefetch("outputs", Output.objects.for_user(user)))

    def matching(self, q="", model="", status="", project=None, character="", hidden=False):
        """The gallery's filters: words in the prompt, model, status, project, character; hidden
        generations only when asked for."""
        qs = self if hidden else self.filter(hidden_at__isnull=True)
        if q:
            qs = qs.filter(params__prompt__icontains=q)
        if model:
            qs = qs.filter(model_id=model)
        if status:
            qs = qs.filter(status=status)
        if project:
            qs = qs.filter(project=project)
        if character:  # a character's provider id: generations that used it
            qs = qs.filter(params__custom_reference_id=character)
        return qs

    def with_credits(self):
        """Annotate each with its net ledger amount (held, charged, or 0 once refunded).
        Correlated subqueries rather than a join: the database works them out only for the
        rows a page shows, and a count of the queryset leaves them out."""
        entries = LedgerEntry.objects.filter(generation=models.OuterRef("pk")).order_by().values("generation")
        return self.annotate(
            net_credits=models.Subquery(entries.annotate(total=models.Sum("amount")).values("total")),
            refunds=models.Exists(entries.filter(kind=LedgerEntry.Kind.REFUND)),
        )

    def for_card_keys(self):
        """Annotate each with `placements`: its gallery items (id, gallery id and name of each) as
        one string, part of what its card in a list is kept by (cards.card_key); read with the
        rows, not in a query of its own."""
        text = models.CharField()
        item = Concat(Cast("pk", text), models.Value(":"), Cast("gallery_id", text), models.Value(":"),
                      "gallery__name", output_field=text)
        # In item order where the database takes an order in an aggregate (SQLite before 3.44
        # does not; it reads them through the generation's index there, in the same order).
        ordered = {"order_by": "pk"} if connection.features.supports_aggregate_order_by_clause else {}
        items = (GalleryItem.objects.filter(generation=models.OuterRef("pk")).order_by().values("generation")
                 .annotate(all=models.StringAgg(item, delimiter=models.Value("|"), **ordered)).values("all"))
        return self.annotate(placements=models.Subquery(items, output_field=text))

    def waiting(self, account):
        """The account's jobs waiting for a slot, in no particular order."""
        return self.filter(account=account, status=Generation.Status.DRAFT, quarantined_at__isnull=True)

    def line(self, account):
        """The account's waiting jobs in the order they get a free slot: fair across
        users (each user's n-th waiting job counts their jobs already running), then by age."""
        waiting = list(self.waiting(account).order_by("created_at").values_list("pk", "owner_id"))
        if not waiting:
            return []
        running = Counter(self.filter(account=account, status__in=Generation.IN_FLIGHT)
                          .values_list("owner_id", flat=True))
        seen = Counter()
        keyed = []
        for age, (pk, owner) in enumerate(waiting):
            keyed.append((running[owner] + seen[owner], age, pk))
            seen[owner] += 1
        return [pk for *_, pk in sorted(keyed)]


class Generation(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Waiting"
        SUBMITTING = "submitting", "Submitting"
        UNKNOWN = "unknown", "Checking with provider"
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        NSFW = "nsfw", "Blocked by moderation"
        CANCELED = "canceled", "Canceled"

    class Source(models.TextChoices):
        SUBMIT = "submit"
        WEBHOOK = "webhook"
        POLL = "poll"
        USER = "user"
        SYSTEM = "system"

    FINAL = (Status.COMPLETED, Status.FAILED, Status.NSFW, Status.CANCELED)
    IN_FLIGHT = (Status.SUBMITTING, Status.UNKNOWN, Status.QUEUED, Status.IN_PROGRESS)
    # A status only moves forward; the few allowed sideways/back steps are listed.
    RANK = {Status.DRAFT: 0, Status.SUBMITTING: 1, Status.UNKNOWN: 1, Status.QUEUED: 2, Status.IN_PROGRESS: 3,
            Status.COMPLETED: 4, Status.FAILED: 4, Status.NSFW: 4, Status.CANCELED: 4}
    SIDEWAYS = {(Status.SUBMITTING, Status.UNKNOWN), (Status.UNKNOWN, Status.SUBMITTING),
                (Status.SUBMITTING, Status.DRAFT), (Status.UNKNOWN, Status.DRAFT), (Status.DRAFT, Status.CANCELED)}
    # What a running card shows from its own row (card_version is made of these).
    CARD_VERSION_FIELDS = ("status", "archived", "error", "notice", "cancel_requested_at", "expires_at",
                           "quarantined_at", "field_errors", "hidden_at")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="generations")
    project = models.ForeignKey("higgsweb.Project", on_delete=models.PROTECT, related_name="generations")
    account = models.ForeignKey(ProviderAccount, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="generations")
    model_id = models.CharField(max_length=200)
    params = models.JSONField(default=dict)
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Pipeline bookkeeping: the database says what must happen next and when.
    next_action_at = models.DateTimeField(null=True, blank=True, db_index=True)
    poll_interval = models.FloatField(default=2.0)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    poll_attempts = models.PositiveSmallIntegerField(default=0)
    archive_attempts = models.PositiveSmallIntegerField(default=0)
    archived = models.BooleanField(default=False)
    # The worker step holding this job, and which worker runs it (its heartbeat's name): a step
    # killed mid-way lets its lease lapse, or frees it as soon as its worker stops beating.
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=200, blank=True, default="")
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    notice = models.TextField(blank=True, help_text="A note for the owner, e.g. why a cancel was refused.")
    retry_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries")
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_reason = models.TextField(blank=True)
    # The provider's 422 per field, so the member can reopen the form with them on their fields.
    field_errors = models.JSONField(default=dict, blank=True)
    # Cells of one seed sweep / style grid share this id.
    sweep = models.UUIDField(null=True, blank=True, db_index=True)
    # Put out of sight by its owner; the gallery's "show hidden" brings it back.
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Deleted: its files are gone from storage, the row stays for the ledger (see GenerationQuerySet.live).
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Brought in from the web app's history (generations/history.py): made and paid for there.
    imported = models.BooleanField(default=False)

    objects = GenerationQuerySet.as_manager()
    # What a sweep cell's card says instead of the prompt: the seed or style that differs
    # (set by generations.sweeps.caption for the cards being drawn).
    sweep_caption = ""

    class Meta:
        ordering = ["-created_at"]
        # The gallery: one member's work, newest first.
        indexes = [models.Index(fields=["owner", "-created_at"], name="generation_owner_newest")]

    def __str__(self):
        return f"{self.model_id} · {self.prompt[:40]}"

    def get_absolute_url(self):
        return reverse("generation-detail", args=[self.pk])

    @property
    def prompt(self):
        return str(self.params.get("prompt", ""))

    @property
    def seed(self):
        return self.params.get("seed")

    @property
    def shown_outputs(self):
        """Outputs exist only once a job completed, so a running card need not ask for them."""
        return self.outputs.all() if self.status == self.Status.COMPLETED else []

    @property
    def image_outputs(self):
        return [output for output in self.shown_outputs if output.kind == Output.Kind.IMAGE and output.is_archived]

    @property
    def saved_outputs(self):
        return [output for output in self.shown_outputs if output.is_archived]

    @property
    def is_saving(self):
        """Completed at the provider, its result not yet copied here."""
        return self.status == self.Status.COMPLETED and not self.archived and not self.quarantined_at

    @property
    def status_label(self):
        """What the card's badge says: not "Completed" before the result can be seen."""
        return "Saving…" if self.is_saving else self.get_status_display()

    @property
    def is_compact(self):
        """Failed, blocked and canceled jobs have nothing to look at: their cards stay small."""
        return self.status in (self.Status.FAILED, self.Status.NSFW, self.Status.CANCELED)

    @property
    def delete_refusal(self):
        """Why this generation cannot be deleted now ("" when it can). A job waiting for a slot is
        canceled first; one the provider or the worker is still busy with is refused, so nothing
        writes files or charges for it after it is gone."""
        if self.status == self.Status.DRAFT or self.is_settled:
            return ""
        if self.is_saving:
            return "Its result is still being saved; delete it in a moment."
        return "It is still running: cancel it or wait until it finishes, then delete it."

    # Settings shown elsewhere on their own, or not at all (input files: their URLs are capabilities).
    SETTINGS_SHOWN_APART = ("prompt", "seed", "style_id", "custom_reference_id")

    @property
    def shown_settings(self):
        """The job's other settings as (name, value), for people who may read its settings."""
        shown = []
        for name, value in self.params.items():
            if name in self.SETTINGS_SHOWN_APART or isinstance(value, dict | list) or value in (None, ""):
                continue
            if isinstance(value, str) and value.startswith(("http://", "https://")):
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            shown.append((name.replace("_", " "), value))
        return shown

    @property
    def galleries_in(self):
        """[(gallery, first item, how many of its images)] for each gallery holding this job's
        images, from the prefetched gallery items."""
        found = {}
        for item in self.gallery_items.all():
            entry = found.setdefault(item.gallery_id, [item.gallery, item, 0])
            entry[2] += 1
        return [tuple(entry) for entry in found.values()]

    @property
    def card_refresh(self):
        """How often the card polls: every 2 s while it waits for a slot here, every 0.5 s once it
        went to the provider (its result can come any moment, and should show within a second of
        its webhook; most providers send no webhook when a job starts, so "queued" may last until
        it is done), and every 0.2 s while a finished result is being saved here."""
        if self.status == self.Status.COMPLETED:
            return "200ms"
        return "2s" if self.status == self.Status.DRAFT else "500ms"

    @property
    def card_version(self):
        """A digest of what a running card shows from this row. The card sends it back when it
        polls; while it matches, nothing on the card changed and the poll is answered without
        rendering. None for a job waiting in line: its place moves as other jobs run."""
        if self.status == self.Status.DRAFT:
            return None
        shown = tuple(getattr(self, name) for name in self.CARD_VERSION_FIELDS)
        return hashlib.sha256(repr(shown).encode()).hexdigest()[:16]

    @property
    def is_finished(self):
        return self.status in self.FINAL

    @property
    def credits(self):
        """Credits this job holds or was charged; 0 after a refund."""
        if hasattr(self, "net_credits"):
            return self.net_credits or 0
        return self.ledger_entries.aggregate(total=models.Sum("amount"))["total"] or 0

    @property
    def was_refunded(self):
        if hasattr(self, "refunds"):
            return bool(self.refunds)
        return self.ledger_entries.filter(kind=LedgerEntry.Kind.REFUND).exists()

    @property
    def is_settled(self):
        """Nothing more will change on the card: final, and archived if it completed."""
        if not self.is_finished:
            return False
        return self.status != self.Status.COMPLETED or self.archived or bool(self.quarantined_at)

    @property
    def is_cancellable(self):
        return self.status in (self.Status.DRAFT, self.Status.QUEUED) and not self.cancel_requested_at

    @property
    def is_retryable(self):
        return self.status in (self.Status.FAILED, self.Status.NSFW, self.Status.CANCELED)

    @property
    def is_running_card(self):
        """At the provider (or being sent): its card shows nothing but what its version covers."""
        return not self.is_finished and self.status != self.Status.DRAFT and self.card_version is not None

    @property
    def place_in_line(self):
        """1-based position among the account's waiting jobs, or None if not waiting."""
        if self.status != self.Status.DRAFT or self.account_id is None:
            return None
        line = Generation.objects.line(self.account_id)
        if self.pk not in line:
            return None
        place = line.index(self.pk) + 1
        # Within the free slots it is simply about to be sent, not waiting in line.
        return place if place > self.account.concurrency_limit - self.account.in_flight() else None

    @property
    def at_risk(self):
        """Completed, not yet copied off the provider, and the provider's copy will expire."""
        return self.status == self.Status.COMPLETED and not self.archived and self.expires_at is not None

    def acquire_lease(self, seconds, holder=""):
        """Claim this job for one worker step run by `holder` (a worker's heartbeat name, or ""
        outside a worker). False if another step holds it."""
        now = timezone.now()
        taken = Generation.objects.filter(pk=self.pk).filter(
            models.Q(lease_until__isnull=True) | models.Q(lease_until__lt=now)
        ).update(lease_until=now + timedelta(seconds=seconds), lease_holder=holder)
        return bool(taken)

    def release_lease(self):
        Generation.objects.filter(pk=self.pk).update(lease_until=None, lease_holder="")

    @property
    def elapsed(self):
        end = self.finished_at or timezone.now()
        return end - self.created_at

    @property
    def webhook_url(self):
        """Where the provider should report this job; it depends on the account's surface
        (fnf has no webhooks, so the worker polls). Whether it is sent at all is
        generations.webhook_mode's decision."""
        surface = self.account.surface if self.account_id else ProviderAccount.Surface.MODEL_API
        if surface == ProviderAccount.Surface.V1:
            return settings.PUBLIC_BASE_URL + reverse("webhook-v1", args=[self.pk])
        if surface == ProviderAccount.Surface.PIXAZO:
            token = webhooks.generation_token("pixazo", self.pk)
            return settings.PUBLIC_BASE_URL + reverse("webhook-pixazo", args=[self.pk, token])
        if surface == ProviderAccount.Surface.FNF:
            return ""
        # The job's id rides along, so a second provider request for one job (a resend whose
        # Idempotency-Key was ignored) is recognised when its webhook arrives.
        return f"{settings.PUBLIC_BASE_URL}{reverse('webhook-higgsfield')}?g={self.pk}"

    @property
    def webhook_secret(self):
        """The secret a v1 provider echoes in X-Webhook-Secret-Key (derived, never stored)."""
        return webhooks.generation_token("v1", self.pk)

    def can_move_to(self, new):
        old = self.status
        if old == new or old in self.FINAL:
            return False
        return (old, new) in self.SIDEWAYS or self.RANK[new] > self.RANK[old]

    def advance(self, new, source, *, detail="", **changes):
        """Move to `new` if the state machine allows it, recording the transition. Returns True
        when it moved; a late or duplicate report returns False.

        The move is one compare-and-set UPDATE on the status this instance holds, so a caller
        that has just read the row needs no second read under a lock; only when the row moved
        on meanwhile (or this instance says it cannot move) is it read again under a row lock
        and the rule applied to what is really there. This instance is updated in place."""
        with transaction.atomic(savepoint=False):
            old, moved = self.status, False
            if self.can_move_to(new):
                fields = self._transition(new, changes)
                moved = Generation.objects.filter(pk=self.pk, status=old, started_at=self.started_at).update(**fields)
            if not moved:
                current = Generation.objects.select_for_update().get(pk=self.pk)
                if not current.can_move_to(new):
                    self.refresh_from_db()
                    return False
                old = current.status
                self.started_at = current.started_at
                fields = self._transition(new, changes)
                Generation.objects.filter(pk=self.pk).update(**fields)
            for name, value in fields.items():
                setattr(self, name, value)
            StatusEvent.objects.create(generation=self, from_status=old, to_status=new,
                                       source=source, detail=detail[:2000])
            status_changed.send(sender=Generation, generation=self, old=old, new=new, source=source)
        return True

    def _transition(self, new, changes):
        """The fields a move to `new` writes, given this instance's start time."""
        now = timezone.now()
        fields = {"status": new, **changes}
        if new == self.Status.IN_PROGRESS and not self.started_at:
            fields["started_at"] = now
        if new in self.FINAL:
            fields["finished_at"] = now
            if new != self.Status.COMPLETED:
                fields["next_action_at"] = None
        return fields

    def schedule(self, seconds, **changes):
        """Set when the sweeper should next act on this generation."""
        changes["next_action_at"] = timezone.now() + timedelta(seconds=seconds)
        Generation.objects.filter(pk=self.pk).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)


class StatusEvent(models.Model):
    """Every status change, with its time and what reported it."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12)
    to_status = models.CharField(max_length=12)
    source = models.CharField(max_length=10, choices=Generation.Source.choices)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.from_status} → {self.to_status} ({self.source})"


def output_path(instance, filename):
    return f"outputs/{instance.generation_id}/{uuid.uuid4().hex}{filename[filename.rfind('.'):]}"


class OutputQuerySet(models.QuerySet):
    def in_items(self, items):
        """Outputs these gallery items show: each item's own, or all of a whole-generation item's."""
        return self.filter(models.Q(pk__in=items.filter(output__isnull=False).values("output_id"))
                           | models.Q(generation__in=items.filter(output__isnull=True).values("generation_id")))

    def for_user(self, user):
        """The team: every output of the generations they see. A client: only the images put in
        galleries shared with them, not the rest of their batch."""
        visible = Generation.objects.for_user(user)
        if not user.is_authenticated or user.is_member_role:
            return self.filter(generation__in=visible)
        return self.in_items(GalleryItem.objects.filter(gallery__clients=user, generation__in=visible))


class Output(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image"
        VIDEO = "video"
        AUDIO = "audio"

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="outputs")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    provider_url = models.URLField(max_length=2000)
    preview_url = models.URLField(max_length=2000, blank=True)
    file = models.FileField(upload_to=output_path, blank=True)
    thumbnail = models.FileField(upload_to=output_path, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    objects = OutputQuerySet.as_manager()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["generation", "position"], name="unique_output_position")]

    def __str__(self):
        return f"{self.kind} {self.position} of {self.generation_id}"

    def get_absolute_url(self):
        return reverse("output-file", args=[self.pk])

    @property
    def is_archived(self):
        return bool(self.archived_at and self.file)


class WebhookDelivery(models.Model):
    """Each accepted webhook, recorded before it is acted on; `webhook_id` dedupes redeliveries."""

    webhook_id = models.CharField(max_length=200, unique=True)
    surface = models.CharField(max_length=12, default=ProviderAccount.Surface.MODEL_API)
    request_id = models.CharField(max_length=200, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    # False for an unsigned Model API delivery: a hint that only makes the worker poll.
    signed = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return self.webhook_id


def upload_path(instance, filename):
    return f"uploads/{instance.owner_id}/{uuid.uuid4().hex}{filename[filename.rfind('.'):]}"


class UploadQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self if user.is_admin_role else self.filter(owner=user)


def new_token():
    return secrets.token_urlsafe(32)


class Upload(models.Model):
    """An input file a member gave (checked and re-encoded), kept privately and handed to
    the provider through an unguessable public URL."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        AUDIO = "audio"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    file = models.FileField(upload_to=upload_path)
    token = models.CharField(max_length=64, unique=True, default=new_token)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Where the provider's own upload flow put a copy (when it cannot reach PUBLIC_BASE_URL).
    provider_url = models.URLField(max_length=2000, blank=True)
    provider_account = models.ForeignKey("generations.ProviderAccount", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    # The copy's id there, where the surface refers to inputs by id (the web app's media).
    provider_media_id = models.CharField(max_length=200, blank=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name or self.token[:8]

    def get_absolute_url(self):
        return reverse("upload-file", args=[self.pk])

    @property
    def public_url(self):
        return settings.PUBLIC_BASE_URL + reverse("upload-public", args=[self.token])


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def issue(self, user, name="script"):
        """Create a token; returns (token, raw). Only the hash is stored, so the raw
        value is shown once."""
        raw = "hw_" + secrets.token_urlsafe(32)
        return self.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10]), raw

    def user_for(self, raw):
        token = self.select_related("user").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
        if token is None or not token.user.is_active:
            return None
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user


class ApiToken(models.Model):
    """A personal access token for the JSON API."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, default="script")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """A request that may arrive twice: the JSON API's Idempotency-Key header, or the studio
    form's one-time token. The first request with a key records what it asked for (a
    fingerprint of its body) and the generation it started, in the same transaction; a repeat
    gets that answer instead of a second job (generations/idempotency.py)."""

    class Kind(models.TextChoices):
        API = "api", "Idempotency-Key header"
        FORM = "form", "Studio form token"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    generation = models.ForeignKey(Generation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "key"], name="one_use_per_idempotency_key")]

    def __str__(self):
        return f"{self.kind} {self.key}"


# Galleries: what the team curates for clients, how it is shared, and what clients answer.


class GalleryQuerySet(models.QuerySet):
    def for_user(self, user):
        """Galleries a user may open: the team's for projects they can use, shared ones for clients."""
        if not user.is_authenticated:
            return self.none()
        if user.is_admin_role:
            return self
        if user.is_member_role:
            from higgsweb.models import Project

            return self.filter(project__in=Project.objects.for_user(user))
        return self.filter(clients=user)

    def for_team(self, user):
        """Galleries a user may change (curate, share, read feedback): never a client's."""
        if not user.is_authenticated or not user.is_member_role:
            return self.none()
        return self.for_user(user)


class Gallery(models.Model):
    """A named selection of a project's finished generations, shown to clients in a chosen order."""

    project = models.ForeignKey("higgsweb.Project", on_delete=models.CASCADE, related_name="galleries")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    clients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_galleries", limit_choices_to={"role": "client"},
        help_text="Client accounts that see this gallery (and nothing else) when they log in.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = GalleryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "galleries"
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_gallery_name_per_project")]

    def __str__(self):
        return f"{self.name} ({self.project})"

    def get_absolute_url(self):
        return reverse("gallery-detail", args=[self.pk])

    def visible_items(self):
        """Items a client or link visitor sees: finished work, in the team's order."""
        return (self.items.filter(generation__status=Generation.Status.COMPLETED, generation__deleted_at__isnull=True)
                .select_related("generation", "output").prefetch_related("generation__outputs"))

    def add(self, generation, by=None, output=None):
        """Put one image (`output`) of a finished generation of this gallery's project at the end,
        or each of its images when no output is named; an image already here stays where it is.
        Returns (item, created) for the named image, or the generation's first."""
        if generation.project_id != self.project_id:
            raise ValueError("Only work from the gallery's own project can go in it.")
        if generation.status != Generation.Status.COMPLETED or generation.deleted_at:
            raise ValueError("Only finished work can go in a gallery.")
        if output is not None and output.generation_id != generation.pk:
            raise ValueError("That image is not part of this generation.")
        outputs = [output] if output is not None else list(generation.outputs.all()) or [None]
        with transaction.atomic():
            Gallery.objects.select_for_update().filter(pk=self.pk).first()  # one position at a time
            last = self.items.aggregate(last=models.Max("position"))["last"]
            position = 0 if last is None else last + 1
            added = []
            for each in outputs:
                item, created = GalleryItem.objects.get_or_create(
                    gallery=self, generation=generation, output=each, defaults={"position": position, "added_by": by})
                position += created
                added.append((item, created))
            return added[0]

    def move(self, item, to):
        """Put `item` at 0-based position `to` (clamped) and number the rest 0..n-1 around it."""
        self.renumber(item, to)

    def renumber(self, item=None, to=0):
        with transaction.atomic():
            Gallery.objects.select_for_update().filter(pk=self.pk).first()
            order = [pk for pk in self.items.order_by("position", "id").values_list("pk", flat=True)
                     if item is None or pk != item.pk]
            if item is not None:
                order.insert(max(0, min(to, len(order))), item.pk)
            for position, pk in enumerate(order):
                GalleryItem.objects.filter(pk=pk).exclude(position=position).update(position=position)


class GalleryItem(models.Model):
    """One image (or video, or sound) of a generation, in a gallery. Clients answer per item, so
    they can approve image 3 of a batch of 4. An item without an output stands for the whole
    generation: only a generation that has no outputs at all is added that way."""

    TITLE_FROM_PROMPT = 70  # characters of the prompt an untitled item is called by

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="items")
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="gallery_items")
    output = models.ForeignKey(Output, null=True, blank=True, on_delete=models.CASCADE, related_name="gallery_items")
    title = models.CharField(max_length=200, blank=True,
                             help_text="What clients, share links and the ZIP call this item.")
    position = models.PositiveIntegerField(default=0)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gallery", "output"], name="one_item_per_output"),
            models.UniqueConstraint(fields=["gallery", "generation"], condition=models.Q(output__isnull=True),
                                    name="one_whole_item_per_generation"),
        ]

    def __str__(self):
        return f"#{self.position + 1} of {self.gallery}"

    @property
    def files(self):
        """The saved files this item shows: its one output, or all of a whole generation's."""
        outputs = [self.output] if self.output_id else self.generation.outputs.all()
        return [output for output in outputs if output.is_archived]

    def label(self, with_prompt):
        """What the item is called: its title, else the start of its prompt where the viewer may
        read prompts, else the gallery's name and the item's place in it."""
        if self.title:
            return self.title
        if with_prompt and self.generation.prompt.strip():
            return Truncator(" ".join(self.generation.prompt.split())).chars(self.TITLE_FROM_PROMPT)
        return f"{self.gallery.name} {self.position + 1}"

    @property
    def team_label(self):
        return self.label(with_prompt=True)

    @property
    def public_label(self):
        """What a client who may not read prompts sees."""
        return self.label(with_prompt=False)


def link_expiry():
    return timezone.now() + timedelta(days=ShareLink.DEFAULT_DAYS)


def new_link_token():
    return secrets.token_urlsafe(24)


class ShareLinkQuerySet(models.QuerySet):
    def by_token(self, raw):
        """The link whose token is `raw`, compared in constant time; None if there is none."""
        if not isinstance(raw, str) or len(raw) < ShareLink.PREFIX:
            return None
        for link in self.select_related("gallery", "gallery__project").filter(prefix=raw[:ShareLink.PREFIX]):
            if secrets.compare_digest(link.token.encode(), raw.encode()):
                return link
        return None


class ShareLink(models.Model):
    """An unguessable URL that shows one gallery without an account, until it expires or is revoked."""

    class State(models.TextChoices):
        LIVE = "live", "Live"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    DEFAULT_DAYS = 30
    PREFIX = 8
    # Wrong passwords: this many from one address, or in all, within the window lock the form.
    MAX_TRIES_PER_ADDRESS, MAX_TRIES_PER_LINK, TRIES_WINDOW = 5, 50, timedelta(minutes=15)

    gallery = models.ForeignKey(Gallery, on_delete=models.CASCADE, related_name="links")
    label = models.CharField(max_length=120, blank=True, help_text="Who the link is for, e.g. “Acme marketing”.")
    token = models.CharField(max_length=64, unique=True, default=new_link_token, editable=False)
    prefix = models.CharField(max_length=PREFIX, db_index=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, default=link_expiry,
                                      help_text="Empty: the link never expires.")
    password = models.CharField(max_length=128, blank=True, help_text="A hash; empty when there is no password.")
    allow_downloads = models.BooleanField(default=True)
    show_settings = models.BooleanField(default=False, help_text="Show prompts and settings (and put them in the ZIP).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.label or f"Link {self.prefix}…"

    def save(self, *args, **kwargs):
        self.prefix = self.token[:self.PREFIX]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("share", args=[self.token])

    @property
    def public_url(self):
        return settings.PUBLIC_BASE_URL + self.get_absolute_url()

    @property
    def state(self):
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires_at and self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.LIVE

    @property
    def is_live(self):
        return self.state == self.State.LIVE

    @property
    def has_password(self):
        return bool(self.password)

    def set_password(self, raw):
        from django.contrib.auth.hashers import make_password

        self.password = make_password(raw) if raw else ""

    def check_password(self, raw):
        from django.contrib.auth.hashers import check_password

        return bool(self.password) and check_password(raw, self.password)

    def unlock_key(self):
        """What the session remembers after a right password; it changes with the password."""
        from django.utils.crypto import salted_hmac

        return salted_hmac("share-link-unlock", f"{self.pk}:{self.password}", algorithm="sha256").hexdigest()[:32]

    def too_many_tries(self, address):
        since = timezone.now() - self.TRIES_WINDOW
        wrong = self.visits.filter(event=LinkVisit.Event.WRONG_PASSWORD, at__gte=since)
        return (wrong.filter(address=address).count() >= self.MAX_TRIES_PER_ADDRESS
                or wrong.count() >= self.MAX_TRIES_PER_LINK)

    def record(self, event, request, detail=""):
        return LinkVisit.objects.create(
            link=self, event=event, address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", "")[:300], detail=detail[:300])


class LinkVisit(models.Model):
    """One thing a visitor did through a share link, for the team's visit log."""

    class Event(models.TextChoices):
        VIEW = "view", "Opened the gallery"
        UNLOCK = "unlock", "Entered the password"
        WRONG_PASSWORD = "wrong_password", "Wrong password"
        LOCKED = "locked", "Too many wrong passwords"
        REFUSED = "refused", "Opened an expired or revoked link"
        DOWNLOAD = "download", "Downloaded a file"
        ZIP = "zip", "Downloaded the ZIP"
        FEEDBACK = "feedback", "Gave feedback"

    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="visits")
    event = models.CharField(max_length=16, choices=Event.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_event_display()} · {self.at:%Y-%m-%d %H:%M}"


class FeedbackQuerySet(models.QuerySet):
    def for_team(self, user):
        return self.filter(item__gallery__in=Gallery.objects.for_team(user))

    def give(self, item, action, *, author_key, name, comment="", user=None, link=None):
        """Record one answer: toggle the favourite, approve, request changes (with a comment)
        or clear the verdict. The gallery's creator is told about verdicts."""
        with transaction.atomic():
            feedback, _ = self.select_for_update().get_or_create(
                item=item, author_key=author_key, defaults={"name": name, "user": user, "link": link})
            if action == "favourite":
                feedback.favourite = not feedback.favourite
            elif action == "clear":
                feedback.verdict, feedback.comment = Feedback.Verdict.NONE, ""
            else:
                feedback.verdict = Feedback.Verdict.APPROVED if action == "approve" else Feedback.Verdict.CHANGES
                feedback.comment = comment.strip()
            feedback.name, feedback.updated_at = name, timezone.now()
            feedback.link = link or feedback.link
            feedback.save()
        if action in ("approve", "changes"):
            feedback_given.send(sender=Feedback, feedback=feedback)
        return feedback


class Feedback(models.Model):
    """One person's answer on one gallery item: a favourite, and approved or changes requested.
    A client account answers as itself; a link visitor by the name they gave (kept in their session)."""

    class Verdict(models.TextChoices):
        NONE = "", "No verdict"
        APPROVED = "approved", "Approved"
        CHANGES = "changes", "Changes requested"

    item = models.ForeignKey(GalleryItem, on_delete=models.CASCADE, related_name="feedback")
    # "user:<id>" for a client account, "visitor:<random>" for a link visitor's session.
    author_key = models.CharField(max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="feedback")
    link = models.ForeignKey(ShareLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback")
    name = models.CharField(max_length=80)
    favourite = models.BooleanField(default=False)
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True, default="")
    comment = models.TextField(blank=True, max_length=4000)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [models.UniqueConstraint(fields=["item", "author_key"], name="one_feedback_per_person_item")]

    def __str__(self):
        return f"{self.name}: {self.get_verdict_display()}"


class ProviderEstimate(models.Model):
    """An account's own `/estimate` answer for one job body (generations/pricing.py), kept so
    the studio can show it without calling the provider from a page."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="estimates")
    model_id = models.CharField(max_length=200)
    params_key = models.CharField(max_length=64, help_text="sha256 of the model id and the canonical body")
    credits = models.DecimalField(max_digits=12, decimal_places=3)
    usd = models.DecimalField(max_digits=12, decimal_places=3)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "params_key"], name="unique_estimate_per_body")]

    def __str__(self):
        return f"{self.model_id}: {self.credits} credits"


class HistoryImportQuerySet(models.QuerySet):
    def for_user(self, user):
        """Imports a person may follow: their own; an admin's, everyone's; never a client's."""
        if not user.is_authenticated or not user.is_member_role:
            return self.none()
        return self if user.is_admin_role else self.filter(owner=user)

    def running(self, now=None):
        """Imports under way: waiting or importing, and heard from lately (one whose worker died
        or whose task was lost does not block the next)."""
        since = (now or timezone.now()) - HistoryImport.STALE
        return self.filter(status__in=(HistoryImport.Status.QUEUED, HistoryImport.Status.RUNNING),
                           updated_at__gte=since)


class HistoryImport(models.Model):
    """One pass over an fnf account's web-app history, bringing past generations into the gallery
    as finished items of `owner` in `project` (generations/history.py)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for the worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"

    # An import not heard from this long is taken for dead (see HistoryImportQuerySet.running).
    STALE = timedelta(minutes=10)

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="imports")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="history_imports")
    project = models.ForeignKey("higgsweb.Project", on_delete=models.CASCADE, related_name="history_imports")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    pages = models.PositiveIntegerField(default=0)
    seen = models.PositiveIntegerField(default=0, help_text="Job sets read from the history.")
    added = models.PositiveIntegerField(default=0, help_text="New items in the gallery.")
    known = models.PositiveIntegerField(default=0, help_text="Already here (imported before, or made here).")
    skipped = models.PositiveIntegerField(default=0, help_text="Unfinished or failed there: nothing to bring.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = HistoryImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import from {self.account.name} ({self.get_status_display()})"

    @property
    def is_running(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING) and not self.is_stale

    @property
    def is_stale(self):
        """Waiting or importing, but not heard from for STALE: its worker died or its task was lost."""
        return self.status in (self.Status.QUEUED, self.Status.RUNNING) and \
            self.updated_at < timezone.now() - self.STALE


class StrayRequest(models.Model):
    """A provider request that names a job (through the job's own webhook URL) but is not the
    request the job recorded: the service started a second job for one submit (it ignored the
    Idempotency-Key), or ran one that was recorded here as never started. Either may have been
    charged; the reconciliation page lists them for an admin. Unsigned reports are listed once
    the provider confirms the request exists (`confirmed`)."""

    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="stray_requests")
    surface = models.CharField(max_length=12)
    request_id = models.CharField(max_length=200)
    status = models.CharField(max_length=20, blank=True)
    confirmed = models.BooleanField(default=False)
    payload = models.JSONField(default=dict)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["generation", "request_id"], name="one_stray_per_request")]
        ordering = ["-seen_at"]

    def __str__(self):
        return f"{self.request_id} for {self.generation_id}"
