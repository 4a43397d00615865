"""A gallery item used to stand for a whole generation: a batch of 4 was one item, shown to
clients as four pictures under one approve button. Items are now one image each.

Every existing item becomes one item per saved image of its generation, in the same place
(the batch's images one after the other, in their order), and each new item carries a copy of
the feedback given on the batch. That is what a client who approved "the batch" meant: every
picture they were shown was approved (or favourited, or had changes asked for), and every
picture they saw is still there. Pointing the item at image 1 instead would silently take
three pictures away from the client and make the approval look as if it were about one.

A generation with no saved image keeps a whole-generation item (output empty) as before. The
reverse step folds a generation's items in a gallery back into its first one."""

from django.db import migrations

FEEDBACK_FIELDS = ("author_key", "user_id", "link_id", "name", "favourite", "verdict", "comment", "updated_at")


def images_of(Output, generation_id):
    outputs = list(Output.objects.filter(generation_id=generation_id).order_by("position"))
    saved = [output for output in outputs if output.archived_at and output.file]
    return saved or outputs


def forwards(apps, schema_editor):
    Gallery = apps.get_model("generations", "Gallery")
    GalleryItem = apps.get_model("generations", "GalleryItem")
    Output = apps.get_model("generations", "Output")
    Feedback = apps.get_model("generations", "Feedback")
    for gallery in Gallery.objects.all():
        position = 0
        for item in list(GalleryItem.objects.filter(gallery=gallery).order_by("position", "id")):
            outputs = images_of(Output, item.generation_id) if item.output_id is None else [item.output]
            first, *others = outputs or [None]
            item.output, item.position = first, position
            item.save(update_fields=["output", "position"])
            position += 1
            answers = list(Feedback.objects.filter(item=item))
            for output in others:
                copy = GalleryItem.objects.create(gallery=gallery, generation_id=item.generation_id, output=output,
                                                  title=item.title, position=position, added_by_id=item.added_by_id,
                                                  added_at=item.added_at)
                position += 1
                Feedback.objects.bulk_create([
                    Feedback(item=copy, **{name: getattr(answer, name) for name in FEEDBACK_FIELDS})
                    for answer in answers])


def backwards(apps, schema_editor):
    Gallery = apps.get_model("generations", "Gallery")
    GalleryItem = apps.get_model("generations", "GalleryItem")
    for gallery in Gallery.objects.all():
        kept = {}
        for item in list(GalleryItem.objects.filter(gallery=gallery).order_by("position", "id")):
            if item.generation_id in kept:
                item.delete()  # with its copies of the feedback
            else:
                kept[item.generation_id] = item
        for position, item in enumerate(kept.values()):
            item.output, item.position = None, position
            item.save(update_fields=["output", "position"])


class Migration(migrations.Migration):

    dependencies = [("generations", "0011_per_image_gallery_items_hide_and_delete")]

    operations = [migrations.RunPython(forwards, backwards)]
