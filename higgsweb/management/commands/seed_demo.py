import os

from django.core.management.base import BaseCommand

from higgsweb.models import Project, User

DEMO_USERS = [
    ("admin", User.Role.ADMIN),
    ("member", User.Role.MEMBER),
    ("client", User.Role.CLIENT),
]


class Command(BaseCommand):
    help = "Create the demo users (admin, member, client) and a demo project if they are missing."

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
                project.clients.add(user)
            self.stdout.write(f"{role}: {username} / {password}{note}")
