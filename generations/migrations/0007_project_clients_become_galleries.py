"""Clients used to see every finished generation of the projects they belonged to. Keep
exactly that for them: each such project gets a "Shared work" gallery holding its finished
generations, shared with the same client accounts. Project.clients is dropped afterwards."""

from django.db import migrations


def forwards(apps, schema_editor):
    Project = apps.get_model("higgsweb", "Project")
    Gallery = apps.get_model("generations", "Gallery")
    GalleryItem = apps.get_model("generations", "GalleryItem")
    Generation = apps.get_model("generations", "Generation")
    for project in Project.objects.all():
        clients = list(project.clients.all())
        if not clients:
            continue
        gallery, _ = Gallery.objects.get_or_create(
            project=project, name="Shared work",
            defaults={"description": "Everything that was shared with the project's clients before galleries."})
        gallery.clients.add(*clients)
        finished = Generation.objects.filter(project=project, status="completed").order_by("created_at")
        for position, generation in enumerate(finished):
            GalleryItem.objects.get_or_create(gallery=gallery, generation=generation,
                                              defaults={"position": position})


def backwards(apps, schema_editor):
    Gallery = apps.get_model("generations", "Gallery")
    for gallery in Gallery.objects.prefetch_related("clients"):
        gallery.project.clients.add(*gallery.clients.all())


class Migration(migrations.Migration):

    dependencies = [
        ("generations", "0006_galleries_share_links_feedback"),
        ("higgsweb", "0002_budgets_ledger_notifications"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
