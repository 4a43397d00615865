from django.contrib.auth.models import AbstractUser
from django.db import models
from django.urls import reverse


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        CLIENT = "client", "Client"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

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
        """Projects a user may see: all for team members, shared ones for clients."""
        if not user.is_authenticated:
            return self.none()
        if user.is_member_role:
            return self
        return self.filter(clients=user)


class Project(models.Model):
    """Client work: every generation belongs to one project."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    clients = models.ManyToManyField(
        "higgsweb.User", blank=True, related_name="shared_projects",
        limit_choices_to={"role": "client"},
        help_text="Client accounts that may view this project's gallery.",
    )
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("project-gallery", args=[self.pk])
