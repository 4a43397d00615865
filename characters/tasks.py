"""Worker tasks for characters. Each takes an id and re-reads the database; the row's
`next_action_at` says when the sweeper (generations.tasks.sweep) should act next. Claims,
backoff, the broker and the worker's connection are the job pipeline's (generations.pipeline)."""

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from characters import catalogues
from characters.models import Character
from generations import archive, higgsfield, pipeline
from generations.models import ProviderAccount

log = logging.getLogger("characters.tasks")
Status = Character.Status
MAX_POLL_FAILURES = 5
# A training's checks spread out more slowly than a job's: it ends once, after minutes.
TRAINING_POLL_GROWTH = 1.5
DEADLINE = timedelta(hours=3)


def enqueue(step, character_id):
    pipeline.send(f"characters.tasks.{step}", character_id, f"{step}:{character_id}")


def _load(character_id):
    pipeline.fresh_connection()
    return Character.objects.select_related("account").filter(pk=character_id).first()


def start_training(character_id):
    """Send the photos' public URLs to the provider and record the new reference id."""
    character = _load(character_id)
    if character is None or character.status != Status.DRAFT or character.delete_requested_at:
        return
    if character.account is None:
        character.account = ProviderAccount.objects.default()
        if character.account is None:  # characters train on the Model API, and an admin switched it off
            character.schedule(60, fail_reason="No active Model API account to train on: an admin can switch one "
                                               "on under Providers.")
            return
        Character.objects.filter(pk=character.pk).update(account=character.account)
    conn = character.account.connection()
    if character.submitted_at:
        # An earlier create's answer was lost. The provider cannot recognise a repeat, so look
        # for the training in its list before sending anything again.
        try:
            reference = find_sent_reference(character, conn)
        except higgsfield.ProviderError as exc:
            character.schedule(30, fail_reason=f"Checking whether the training started: {exc.message}")
            return
        if reference is not None:
            _record_started(character, reference)
            return
    urls = [photo.public_url for photo in character.photos.all()]
    try:
        reference = higgsfield.create_reference(conn, character.name, character.model_version, urls)
    except (higgsfield.NetworkError, higgsfield.ServerError) as exc:
        # The provider may have started (and charged) a training: check its list first.
        Character.objects.filter(pk=character.pk).update(submitted_at=timezone.now())
        character.schedule(10, fail_reason=f"{exc.message} Checking with the provider before trying again.")
        return
    except (higgsfield.ConcurrencyLimit, higgsfield.RateLimited) as exc:
        # Four trainings at a time per account: wait for a slot.
        character.schedule(exc.retry_after or 30, fail_reason="The provider trains a few characters at a time "
                           "per account; this one starts when one finishes.")
        return
    except higgsfield.ProviderError as exc:
        # Not repeated automatically: the provider may have started (and charged) a training.
        character.advance(Status.FAILED, fail_reason=exc.message)
        return
    _record_started(character, reference)


def _record_started(character, reference):
    status = reference.status if reference.status in Character.RANK else Status.NOT_READY
    character.advance(status if status != Status.DRAFT else Status.NOT_READY, provider_id=reference.id,
                      fail_reason="", submitted_at=timezone.now(), poll_interval=pipeline.FIRST_POLL,
                      next_action_at=timezone.now() + timedelta(seconds=pipeline.FIRST_POLL))


def find_sent_reference(character, conn, max_pages=5):
    """A reference in the provider's list with this character's name that no character here
    owns yet: the training an earlier, unanswered create started."""
    owned = set(Character.objects.exclude(provider_id="").values_list("provider_id", flat=True))
    for page_number in range(1, max_pages + 1):
        page = higgsfield.list_references(conn, page=page_number, page_size=50)
        for reference in page.items:
            if reference.name == character.name and reference.id not in owned:
                return reference
        if page_number >= (page.total_pages or 1):
            return None
    return None


def poll_training(character_id):
    character = _load(character_id)
    if character is None or not character.provider_id or character.is_finished:
        return
    try:
        reference = higgsfield.get_reference(character.account.connection(), character.provider_id)
    except higgsfield.ProviderError as exc:
        attempts = character.poll_attempts + 1
        if attempts >= MAX_POLL_FAILURES and not exc.retry_safe:
            character.advance(Status.FAILED, fail_reason=f"Could not check the training: {exc.message}")
            return
        character.schedule(pipeline.backoff(pipeline.FIRST_CHECK_RETRY, attempts), poll_attempts=attempts)
        return
    if reference.status == Status.FAILED:
        character.advance(Status.FAILED, fail_reason=reference.fail_reason or "The provider could not train "
                          "this character. Try other photos: one person, face clearly visible.")
        return
    if reference.status == Status.COMPLETED:
        save_thumbnail(character, reference.thumbnail_url)
        character.advance(Status.COMPLETED, next_action_at=None)
        return
    if reference.status in Character.RANK:
        character.advance(reference.status)
    if character.submitted_at and timezone.now() - character.submitted_at > DEADLINE:
        character.advance(Status.FAILED, fail_reason="The provider did not finish training in time.")
        return
    interval = character.poll_interval
    character.schedule(interval, poll_interval=pipeline.backoff(interval, 1, factor=TRAINING_POLL_GROWTH),
                       poll_attempts=0)


def save_thumbnail(character, url):
    """Keep a local copy of the provider's thumbnail; fall back to the first photo."""
    data = None
    if url:
        try:  # the same guarded download and content check as generation outputs
            data, _ = archive.fetch(url, max_bytes=5 * 1024 * 1024)
            image, _, _ = archive.inspect_image(data)
        except higgsfield.ProviderError as exc:
            log.warning("thumbnail of %s not fetched: %s", character.pk, exc.message)
            data = None
    if data is None:
        first = character.photos.first()
        if first is None:
            return
        with first.image.open("rb") as fh:
            image, _, _ = archive.inspect_image(fh.read())
    data = archive.thumbnail_bytes(image)
    character.thumbnail.save(f"{character.pk}.webp", ContentFile(data), save=False)
    Character.objects.filter(pk=character.pk).update(thumbnail=character.thumbnail.name)


def delete_character(character_id):
    """Delete at the provider, then here. A training that is still running is left alone."""
    character = _load(character_id)
    if character is None or not character.delete_requested_at:
        return
    for provider_id in character.provider_ids:
        try:
            higgsfield.delete_reference(character.account.connection(), provider_id)
        except higgsfield.NotFound:
            continue
        except higgsfield.TrainingInProgress as exc:
            Character.objects.filter(pk=character.pk).update(delete_requested_at=None, fail_reason=exc.message)
            return
        except higgsfield.ProviderError as exc:
            log.warning("delete of %s at the provider failed: %s", character.pk, exc.message)
            character.schedule(60)
            return
    for photo in character.photos.all():
        photo.image.delete(save=False)
    if character.thumbnail:
        character.thumbnail.delete(save=False)
    character.delete()


def step_for(character):
    if character.delete_requested_at:
        return "delete_character"
    if character.status == Status.DRAFT:
        return "start_training"
    if character.is_training:
        return "poll_training"
    return None


def kick(character, now=None):
    """Claim the character's next step (as a job's, pipeline.claim), then enqueue it once committed."""
    now = now or timezone.now()
    step = step_for(character)
    if step is None:
        Character.objects.filter(pk=character.pk).update(next_action_at=None)
        return False
    claimed = pipeline.claim(character, now)
    if claimed:
        transaction.on_commit(lambda: enqueue(step, character.pk))
    return claimed


def recover_after(worker, now=None):
    """A worker stopped beating: the checks and deletes it may have taken from the broker come
    due now (see generations.pipeline.recover_after). A training not yet sent waits for its
    claim to run out: sending it twice at once could start (and charge) two trainings."""
    now = now or timezone.now()
    return (Character.objects.filter(next_action_at__gt=now)
            .filter(Q(status__in=Character.TRAINING) | Q(delete_requested_at__isnull=False))
            .update(next_action_at=now))


def dispatch_due(now=None, limit=20):
    """Enqueue the next step of every character whose next action is overdue."""
    now = now or timezone.now()
    candidates = (Character.objects.filter(next_action_at__lte=now).exclude(status=Status.FAILED,
                                                                              delete_requested_at__isnull=True)
                  .order_by("next_action_at")[:limit])
    return sum(kick(character, now) for character in candidates)


def sync_catalogues():
    """Scheduled daily: refresh styles and motions from the provider."""
    pipeline.fresh_connection()
    return catalogues.sync_all()
