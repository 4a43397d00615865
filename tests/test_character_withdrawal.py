"""A character's delete (consent withdrawn) is never dropped: when it lands while the training
is being sent, the photos go at once, the list says what is pending, and the delete is tried
again with backoff until the provider has deleted it; the ledger ends settled."""

from datetime import timedelta

import pytest
from django.utils import timezone

from characters import tasks
from characters.models import Character
from generations import higgsfield
from higgsweb import ledger
from tests.test_characters import create, fast_training, form_data, photo  # noqa: F401


def due_now(character):
    Character.objects.filter(pk=character.pk).update(next_action_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_delete_that_lands_while_the_training_is_sent_is_carried_out_once_the_provider_allows(
        client, alice, create, fast_training, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    real_create = higgsfield.create_reference

    def create_while_the_delete_lands(conn, name, version, urls):
        reference = real_create(conn, name, version, urls)
        # The person withdraws consent while the worker is sending the training.
        character = Character.objects.get()
        assert client.post(f"/characters/{character.pk}/delete/").status_code == 302
        return reference

    monkeypatch.setattr(higgsfield, "create_reference", create_while_the_delete_lands)
    create()
    monkeypatch.setattr(higgsfield, "create_reference", real_create)
    character = Character.objects.get()
    reference = fast_training.library.references[character.provider_id]
    # The provider has the training, and refuses to delete it while it trains …
    with pytest.raises(higgsfield.TrainingInProgress):
        higgsfield.delete_reference(character.account.connection(), character.provider_id)
    # … so the delete is kept, not dropped: pending, explained, photos already gone.
    assert character.delete_requested_at is not None and character.is_training
    assert not character.photos.exists()
    pending = "Deletion pending at the provider: training in progress; retried automatically."
    assert character.fail_reason == pending
    page = client.get("/characters/").content.decode()
    assert pending in page and f"/characters/{character.pk}/" not in page
    first_wait = character.next_action_at - timezone.now()

    due_now(character)  # tried again: still training, and the next try waits longer
    with django_capture_on_commit_callbacks(execute=True):
        tasks.dispatch_due()
    character.refresh_from_db()
    assert character.delete_requested_at is not None and not reference.deleted
    assert character.next_action_at - timezone.now() > first_wait

    fast_training.advance_clock(10)  # the training ends at the provider
    due_now(character)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.dispatch_due()
    assert reference.deleted
    assert not Character.objects.for_user(alice).exists()
    assert not Character.objects.deletion_pending(alice).exists()
    assert "Deletion pending" not in client.get("/characters/").content.decode()
    # It could not be canceled, so it trained and the provider charged it: charged once, nothing
    # left held; the row stays (hidden, nothing of the person left) for the ledger.
    kept = Character.objects.get(pk=character.pk)
    assert not kept.photos.exists() and not kept.provider_ids and not kept.thumbnail
    assert sorted(kept.ledger_entries.values_list("kind", flat=True)) == ["confirm", "hold"]
    assert ledger.net(character=kept) == Character.TRAINING_CREDITS
