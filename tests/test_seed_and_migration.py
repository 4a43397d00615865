"""The demo data shares one gallery with the demo client, and the migration from project-wide
client access keeps exactly what existing clients could see."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from generations.models import Gallery, Generation
from higgsweb.models import Project, User


def test_seed_demo_shares_a_gallery_with_the_demo_client_and_is_repeatable(db, finished):
    call_command("seed_demo", stdout=io.StringIO())
    project = Project.objects.get(name="Demo campaign")
    member = User.objects.get(username="member")
    finished(member, project, "a demo lighthouse")
    Gallery.objects.all().delete()
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    gallery = Gallery.objects.get()
    assert list(gallery.clients.values_list("username", flat=True)) == ["client"]
    assert gallery.items.get().generation.prompt == "a demo lighthouse"
    assert Generation.objects.for_user(User.objects.get(username="client")).count() == 1


@pytest.mark.django_db(transaction=True)
def test_project_clients_become_a_shared_gallery_of_the_projects_finished_work():
    executor = MigrationExecutor(connection)
    old = [("generations", "0005_uploads_provider_copy"), ("higgsweb", "0002_budgets_ledger_notifications")]
    executor.migrate(old)
    apps = executor.loader.project_state(old).apps
    OldUser, OldProject = apps.get_model("higgsweb", "User"), apps.get_model("higgsweb", "Project")
    OldGeneration = apps.get_model("generations", "Generation")
    owner = OldUser.objects.create(username="m", role="member")
    client = OldUser.objects.create(username="c", role="client")
    shared, private = OldProject.objects.create(name="Shared"), OldProject.objects.create(name="Private")
    shared.clients.add(client)
    for project, status in ((shared, "completed"), (shared, "failed"), (private, "completed")):
        OldGeneration.objects.create(owner=owner, project=project, model_id="m", status=status)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    gallery = Gallery.objects.get()
    assert (gallery.project.name, gallery.name) == ("Shared", "Shared work")
    assert list(gallery.clients.values_list("username", flat=True)) == ["c"]
    assert list(gallery.items.values_list("generation__status", flat=True)) == ["completed"]
    assert Generation.objects.for_user(User.objects.get(username="c")).count() == 1
