import os
import socket
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse
from django.utils import timezone


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        CLIENT = "client", "Client"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # When the person last had the gallery open; job notifications go to those who are away.
    last_seen_gallery_at = models.DateTimeField(null=True, blank=True, editable=False)

    @property
    def is_admin_role(self):
        return self.role == self.Role.ADMIN or self.is_superuser

    @property
    def is_member_role(self):
        """Admins and members can generate; clients only look."""
        return self.role in (self.Role.ADMIN, self.Role.MEMBER) or self.is_superuser

    @property
    def is_client_role(self):
        return self.role == self.Role.CLIENT and not self.is_superuser


class ProjectQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived=False)

    def for_user(self, user):
        """Projects a user may work in: all for team members, none for clients (they see
        galleries shared with them, not projects)."""
        if not user.is_authenticated or not user.is_member_role:
            return self.none()
        return self


class Project(models.Model):
    """Client work: every generation belongs to one project."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("gallery") + f"?by_project={self.pk}"


class Budget(models.Model):
    """Credits a user may spend in a calendar month, or a project in its lifetime.
    `spent` is a cached figure: it always equals the sum of the ledger entries charged
    against this budget (holds, confirms, refunds and adjustments)."""

    class Scope(models.TextChoices):
        USER = "user", "User, per month"
        PROJECT = "project", "Project"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets")
    month = models.DateField(null=True, blank=True, help_text="First day of the month (user budgets only).")
    hard_limit = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True,
                                     help_text="Credits that may not be exceeded. Empty: no limit.")
    soft_limit = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True,
                                     help_text="Credits after which a warning is sent. Empty: no warning.")
    spent = models.DecimalField(max_digits=12, decimal_places=3, default=0, editable=False)
    warned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["scope", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["user", "month"], condition=models.Q(scope="user"),
                                    name="one_budget_per_user_month"),
            models.UniqueConstraint(fields=["project"], condition=models.Q(scope="project"),
                                    name="one_budget_per_project"),
            models.CheckConstraint(
                condition=(models.Q(scope="user", user__isnull=False, month__isnull=False, project__isnull=True)
                           | models.Q(scope="project", project__isnull=False, user__isnull=True)),
                name="budget_scope_matches_owner"),
        ]

    def __str__(self):
        if self.scope == self.Scope.USER:
            return f"{self.user} · {self.month:%B %Y}"
        return f"Project {self.project}"

    @property
    def remaining(self):
        return None if self.hard_limit is None else self.hard_limit - self.spent

    @property
    def past_soft_limit(self):
        return self.soft_limit is not None and self.spent >= self.soft_limit


ONCE_KINDS = ["hold", "confirm", "refund"]


class LedgerEntry(models.Model):
    """One movement of credits. Rows are only ever added: corrections are new entries."""

    class Kind(models.TextChoices):
        HOLD = "hold", "Hold (estimate reserved)"
        CONFIRM = "confirm", "Confirm (final charge)"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment (reconciliation)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=12, decimal_places=3, help_text="Credits; negative gives back.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="ledger_entries")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="ledger_entries")
    model_id = models.CharField(max_length=200, blank=True, db_index=True)
    generation = models.ForeignKey("generations.Generation", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="ledger_entries")
    character = models.ForeignKey("characters.Character", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="ledger_entries")
    user_budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    project_budget = models.ForeignKey(Budget, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"
        # At most one hold, one confirm and one refund per generation or training.
        constraints = [
            models.UniqueConstraint(fields=["generation", "kind"], condition=models.Q(kind__in=ONCE_KINDS),
                                    name="one_hold_confirm_refund_per_generation"),
            models.UniqueConstraint(fields=["character", "kind"], condition=models.Q(kind__in=ONCE_KINDS),
                                    name="one_hold_confirm_refund_per_character"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} cr"

    def save(self, *args, **kwargs):
        if self.pk and not kwargs.get("force_insert"):
            raise ValueError("Ledger entries are never changed; add a new entry instead.")
        super().save(*args, **kwargs)


class Notification(models.Model):
    class Kind(models.TextChoices):
        BUDGET = "budget", "Budget warning"
        JOB = "job", "Job finished"
        SHARED = "shared", "Gallery shared"
        FEEDBACK = "feedback", "Client feedback"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.message


class ProviderBalance(models.Model):
    """The last balance a provider surface reported, read by a worker task, never by a view."""

    account = models.ForeignKey("generations.ProviderAccount", on_delete=models.CASCADE, related_name="balances")
    credits = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    # Whether the provider accepted the account's credentials at that reading (None: no way to ask).
    key_valid = models.BooleanField(null=True)
    note = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-read_at"]

    def __str__(self):
        return f"{self.account}: {self.credits if self.credits is not None else self.note}"


class WorkerHeartbeat(models.Model):
    """Written by the sweeper every few seconds (in the main process of each worker cluster,
    or by the scheduled one-pass sweep), so a page can tell whether any worker is alive
    whatever the broker.

    A worker started by `manage.py worker` also names itself to the steps its cluster runs
    (`identity`), which write that name on the leases they take (`holds_steps`): once such a
    worker misses beats for STALE_SECONDS, another worker's sweeper frees its leases and sends
    its steps again (generations.tasks.sweep), instead of waiting for the leases and the
    broker's claims to run out."""

    worker = models.CharField(max_length=200, unique=True)  # host:pid
    seen_at = models.DateTimeField(default=timezone.now)
    holds_steps = models.BooleanField(default=False)

    ALIVE_SECONDS = 150  # beats come every 10 s, or every minute from a cluster run without the worker command
    BEAT_SECONDS = 3  # how often a worker command's sweeper beats
    STALE_SECONDS = 15  # a worker command silent this long is taken for dead
    IDENTITY_VARIABLE = "HIGGSWEB_WORKER_ID"  # set by the worker command, inherited by its cluster's processes

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self):
        return self.worker

    @classmethod
    def identity(cls):
        """The name of the worker this process runs steps for; "" outside a worker command."""
        return os.environ.get(cls.IDENTITY_VARIABLE, "")

    @classmethod
    def name_this_worker(cls):
        """Called by the worker command before its cluster starts: its processes inherit the name."""
        os.environ[cls.IDENTITY_VARIABLE] = f"{socket.gethostname()}:{os.getpid()}"
        return os.environ[cls.IDENTITY_VARIABLE]

    @classmethod
    def beat(cls):
        holder = cls.identity()
        worker = holder or f"{socket.gethostname()}:{os.getpid()}"
        cls.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now(), "holds_steps": bool(holder)})
        # Old processes' rows would otherwise pile up across restarts.
        cls.objects.filter(seen_at__lt=timezone.now() - timedelta(days=1)).delete()

    @classmethod
    def stale(cls, now=None):
        """Step-holding workers that stopped beating."""
        cutoff = (now or timezone.now()) - timedelta(seconds=cls.STALE_SECONDS)
        return cls.objects.filter(holds_steps=True, seen_at__lt=cutoff)

    @classmethod
    def take_dead(cls, now=None):
        """The names of step-holding workers that stopped beating, each handed to one caller
        only: its row is deleted here, so call it inside the transaction that recovers its work."""
        dead = []
        for worker in cls.stale(now).values_list("worker", flat=True):
            if cls.stale(now).filter(worker=worker).delete()[0]:
                dead.append(worker)
        return dead

    @classmethod
    def latest(cls):
        return cls.objects.first()

    @property
    def is_alive(self):
        return (timezone.now() - self.seen_at).total_seconds() < self.ALIVE_SECONDS
