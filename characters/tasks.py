"""Worker tasks for characters. Each takes an id and re-reads the database; the row's
`next_action_at` says when the sweeper (generations.tasks.sweep) should act next. Claims,
backoff, the broker and the worker's connection are the job pipeline's (generations.pipeline)."""

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.db.models.deletion import ProtectedError
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
    # From here the provider may have the training: a delete asked for meanwhile looks for it,
    # and one asked for before this line stops the send.
    if not Character.objects.filter(pk=character.pk, delete_requested_at__isnull=True).update(
            submitted_at=timezone.now()):
        return
    try:
        reference = higgsfield.create_reference(conn, character.name, character.model_version, urls)
    except (higgsfield.NetworkError, higgsfield.ServerError) as exc:
        # The provider may have started (and charged) a training: check its list first.
        character.schedule(10, fail_reason=f"{exc.message} Checking with the provider before trying again.")
        return
    except (higgsfield.ConcurrencyLimit, higgsfield.RateLimited) as exc:
        # Four trainings at a time per account: wait for a slot. Nothing was started.
        character.schedule(exc.retry_after or 30, submitted_at=None,
                           fail_reason="The provider trains a few characters at a time per account; this one "
                                       "starts when one finishes.")
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


# What a withdrawn character's card says while the provider still has it.
DELETE_PENDING = "Deletion pending at the provider: {reason}; retried automatically."
FIRST_DELETE_RETRY = 10.0
# A create sent this long ago and not in the provider's list was never started.
SENDING_GRACE = timedelta(minutes=2)


def delete_character(character_id):
    """Carry out a withdrawn consent: delete at the provider, then here (the photos went when
    the delete was asked for). Never dropped: while the provider cannot delete yet (a training
    it is still running, a create still being sent, provider weather) the delete stays pending,
    the card says why, and it is tried again with backoff. A training cannot be canceled, so one
    that was sent is settled as the provider ends it (charged if it trained, refunded if not)
    before it is deleted."""
    character = _load(character_id)
    if character is None or not character.delete_requested_at:
        return
    conn = character.account.connection() if character.account else None
    try:
        waiting = conn is not None and _training_to_settle(character, conn)
        if waiting:
            _delete_pending(character, waiting)
            return
        for provider_id in character.provider_ids:
            try:
                higgsfield.delete_reference(conn, provider_id)
            except higgsfield.NotFound:
                continue
    except higgsfield.TrainingInProgress:
        _delete_pending(character, "training in progress")
        return
    except higgsfield.ProviderError as exc:
        log.warning("delete of %s at the provider failed: %s", character.pk, exc.message)
        _delete_pending(character, exc.message.rstrip("."))
        return
    remove_here(character)


def _training_to_settle(character, conn):
    """Why the provider cannot delete the character yet, or "" when it can: learns of a
    training whose create was being sent, and settles one that ended (the ledger hears)."""
    if character.status == Status.DRAFT and character.submitted_at and not character.provider_id:
        reference = find_sent_reference(character, conn)
        if reference is None:
            sending = timezone.now() - character.submitted_at < SENDING_GRACE
            return "the training is being sent" if sending else ""
        _record_started(character, reference)
        character.refresh_from_db()
    if not (character.is_training and character.provider_id):
        return ""
    reference = higgsfield.get_reference(conn, character.provider_id)
    if reference.status == Status.COMPLETED:  # it trained (and the provider charged it)
        character.advance(Status.COMPLETED, next_action_at=None)
    elif reference.status == Status.FAILED:
        character.advance(Status.FAILED, fail_reason=reference.fail_reason or "The training failed.")
    else:
        return "training in progress"
    return ""


def _delete_pending(character, reason):
    attempts = character.poll_attempts + 1
    character.schedule(pipeline.backoff(FIRST_DELETE_RETRY, attempts - 1), poll_attempts=attempts,
                       fail_reason=DELETE_PENDING.format(reason=reason))


def remove_photos(character):
    """The withdrawn person's photos and thumbnail, removed here at once."""
    for photo in character.photos.all():
        photo.image.delete(save=False)
    character.photos.all().delete()
    if character.thumbnail:
        character.thumbnail.delete(save=False)
        Character.objects.filter(pk=character.pk).update(thumbnail="")


def remove_here(character):
    """The provider no longer has it: remove it here. Its ledger entries are kept, so a
    character that was charged stays as a hidden row with nothing of the person left."""
    remove_photos(character)
    try:
        character.delete()
    except ProtectedError:
        Character.objects.filter(pk=character.pk).update(next_action_at=None, provider_id="", past_provider_ids=[],
                                                        fail_reason="", poll_attempts=0)


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
