"""Hiding and deleting generations.

Hiding only takes a generation out of its owner's gallery list ("show hidden" brings it back);
nothing else changes. Deleting removes its files from storage (originals and thumbnails) and
takes it out of every gallery, with the client feedback given on it; the row stays, marked
deleted, so the ledger and the audit keep every credit it held, was charged or refunded.
No list, page, file URL, share link or API call shows a deleted generation again
(`GenerationQuerySet.live`).

A job waiting for a free slot is canceled first (nothing was sent, nothing is charged). A job
the provider or the worker is still busy with is refused: its result would otherwise arrive,
be charged and be saved after it was deleted."""

from django.db import transaction
from django.utils import timezone

from generations import pipeline
from generations.models import Gallery, GalleryItem, Generation


def may_hide(user, generation):
    return user.is_member_role and generation.owner_id == user.pk


def may_delete(user, generation):
    return user.is_member_role and (generation.owner_id == user.pk or user.is_admin_role)


def hide(generation, user, hidden=True):
    """Hide (or show again) the user's own generation. Returns True if it was theirs to hide."""
    if not may_hide(user, generation):
        return False
    generation.hidden_at = timezone.now() if hidden else None
    Generation.objects.filter(pk=generation.pk).update(hidden_at=generation.hidden_at)
    return True


def delete(generation, user):
    """Delete a generation for good. Returns "" when it is gone, otherwise why it was not."""
    if not may_delete(user, generation):
        return "Only the person who made it, or an admin, can delete it."
    if generation.status == Generation.Status.DRAFT:
        pipeline.request_cancel(generation)  # before it was sent: canceled here, the hold refunded
        generation.refresh_from_db()
    refusal = generation.delete_refusal
    if refusal:
        return refusal
    with transaction.atomic():
        gone = Generation.objects.filter(pk=generation.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now(), next_action_at=None)
        if not gone:
            return ""  # deleted meanwhile, by another tab or a teammate
        items = GalleryItem.objects.filter(generation=generation)
        galleries = list(Gallery.objects.filter(pk__in=items.values("gallery_id")))
        items.delete()
        for gallery in galleries:
            gallery.renumber()
    for output in generation.outputs.all():
        output.file.delete(save=False)
        output.thumbnail.delete(save=False)
        output.save(update_fields=["file", "thumbnail"])
    return ""
