import os

from django.core.management.base import BaseCommand

from generations.models import Gallery, Generation
from higgsweb.models import Project, User

DEMO_USERS = [
    ("admin", User.Role.ADMIN),
    ("member", User.Role.MEMBER),
    ("client", User.Role.CLIENT),
]


class Command(BaseCommand):
    help = ("Create the demo users (admin, member, client), a demo project and a gallery shared with the "
            "client if they are missing.")

    def handle(self, *args, **options):
        project, _ = Project.objects.get_or_create(
            name="Demo campaign", defaults={"description": "A project to try things in."})
        for username, role in DEMO_USERS:
            password = os.environ.get("DEMO_PASSWORD", f"{username}-demo-pass")
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, f"{username}@example.com", password, role=role,
                                                is_staff=role == User.Role.ADMIN,
                                                is_superuser=role == User.Role.ADMIN)
                note = ""
            else:
                note = " (existing account; password unchanged)"
            if role == User.Role.CLIENT:
                self.share_demo_gallery(project, user)
            self.stdout.write(f"{role}: {username} / {password}{note}")

    def share_demo_gallery(self, project, client):
        """The client's one shared gallery, with a few finished generations of the project if there are any."""
        gallery, created = Gallery.objects.get_or_create(
            project=project, name="Client picks",
            defaults={"description": "Work the team chose for the client.",
                      "created_by": User.objects.filter(username="member").first()})
        gallery.clients.add(client)
        if created:
            finished = (Generation.objects.filter(project=project, status=Generation.Status.COMPLETED)
                        .order_by("-created_at"))
            for generation in finished[:3]:
                gallery.add(generation)
