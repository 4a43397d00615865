"""Characters through the pages a browser uses (Django test client), with the worker
tasks run inline against the simulator."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from characters import tasks
from characters.models import Character
from characters.signals import status_changed
from generations import pipeline
from generations import tasks as generation_tasks
from generations.models import Upload


def photo(name="face.jpg", fmt="JPEG", size=(64, 80), color=(200, 120, 90)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def form_data(**overrides):
    data = {"name": "Mia", "model_version": "v1", "consent_subject": "Mia Jensen", "consent_attested": "on",
            "consent_notes": "Release signed 3 March", "photos": [photo("a.jpg"), photo("b.png", "PNG")]}
    data.update(overrides)
    return data


@pytest.fixture
def fast_training(simulator):
    lib = simulator.library
    lib.not_ready_seconds, lib.queue_seconds, lib.train_seconds, lib.fetch_timeout = 0.5, 0.5, 1, 0.5
    return simulator


@pytest.fixture
def create(client, alice, account, fast_training, django_capture_on_commit_callbacks):
    client.force_login(alice)

    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/characters/new/", form_data(**overrides))
    return post


def finish_training(simulator, character, django_capture_on_commit_callbacks, seconds=10):
    simulator.advance_clock(seconds)
    with django_capture_on_commit_callbacks(execute=True):
        Character.objects.filter(pk=character.pk).update(next_action_at="2000-01-01T00:00:00Z")
        tasks.dispatch_due()
    character.refresh_from_db()


def test_a_character_trains_from_photos_and_its_card_stops_polling_when_ready(
        client, create, fast_training, django_capture_on_commit_callbacks):
    response = create()
    assert response.status_code == 302
    character = Character.objects.get()
    assert character.status == "not_ready" and character.provider_id
    assert character.photos.count() == 2
    card = client.get(f"/characters/{character.pk}/card/", headers={"HX-Request": "true"})
    assert card.status_code == 200 and 'hx-trigger="every 2s"' in card.content.decode()

    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    assert character.status == "completed" and character.thumbnail
    card = client.get(f"/characters/{character.pk}/card/", headers={"HX-Request": "true"})
    assert card.status_code == 286
    assert "hx-trigger" not in card.content.decode()
    assert f"/characters/{character.pk}/thumbnail/" in card.content.decode()
    assert client.get(f"/characters/{character.pk}/thumbnail/")["Content-Type"] == "image/webp"


def test_a_generation_with_the_character_appears_on_its_page_and_in_the_filtered_gallery(
        client, create, alice, project, fast_training, django_capture_on_commit_callbacks):
    create()
    character = Character.objects.get()
    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    assert list(Character.objects.for_model("higgsfield-ai/soul/character")) == [character]
    assert not Character.objects.for_model("higgsfield-ai/soul/v2/standard").exists()
    used = pipeline.start(owner=alice, project=project, model_id=character.model_id, params={
        "prompt": "Mia on a rooftop at dusk", "custom_reference_id": character.provider_id,
        "custom_reference_strength": 0.9})
    pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                   params={"prompt": "an empty street"})
    generation_tasks.submit_generation(used.pk)
    used.refresh_from_db()
    assert used.status == "queued"

    page = client.get(f"/characters/{character.pk}/").content.decode()
    assert "Mia on a rooftop at dusk" in page and "an empty street" not in page
    assert "Release signed 3 March" in page and "Mia Jensen" in page and "alice" in page
    assert "40 credits" in page
    gallery = client.get(f"/?character={character.provider_id}").content.decode()
    assert "Mia on a rooftop at dusk" in gallery and "an empty street" not in gallery


def test_a_failed_training_shows_the_providers_reason(client, create, fast_training,
                                                      django_capture_on_commit_callbacks):
    create(name="simulate-failure Tom")
    character = Character.objects.get()
    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    assert character.status == "failed"
    card = client.get(f"/characters/{character.pk}/card/", headers={"HX-Request": "true"})
    assert card.status_code == 286
    assert "Could not detect a single consistent face" in card.content.decode()


def test_deleting_while_training_is_refused_with_an_explanation(client, create, fast_training,
                                                                django_capture_on_commit_callbacks):
    create()
    character = Character.objects.get()
    response = client.post(f"/characters/{character.pk}/delete/", follow=True)
    assert "is still training" in response.content.decode()
    assert Character.objects.filter(pk=character.pk, delete_requested_at__isnull=True).exists()

    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/characters/{character.pk}/delete/")
    # Gone from every list; the row stays, with nothing of the person, for its training's charge.
    assert not Character.objects.filter(delete_requested_at__isnull=True).exists()
    assert not Character.objects.get().photos.exists()
    assert fast_training.library.references[character.provider_id].deleted


def test_retraining_uses_the_same_photos_and_keeps_earlier_generations(
        client, create, alice, project, fast_training, django_capture_on_commit_callbacks):
    create(name="simulate-failure Mia")
    character = Character.objects.get()
    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    first_id = character.provider_id
    Character.objects.filter(pk=character.pk).update(name="Mia")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/characters/{character.pk}/retrain/", follow=True)
    assert "Retraining" in response.content.decode()
    character.refresh_from_db()
    assert character.status == "not_ready" and character.provider_id != first_id
    assert character.past_provider_ids == [first_id]
    reference = fast_training.library.references[character.provider_id]
    assert [url.rsplit("/", 2)[-2] for url in reference.image_urls] == list(
        character.photos.values_list("token", flat=True))
    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    assert character.status == "completed"


def test_every_training_status_change_is_signalled(create, fast_training, django_capture_on_commit_callbacks):
    seen = []

    def listener(sender, character, old, new, **kwargs):
        seen.append((old, new))
    status_changed.connect(listener)
    try:
        create()
        character = Character.objects.get()
        finish_training(fast_training, character, django_capture_on_commit_callbacks)
    finally:
        status_changed.disconnect(listener)
    assert seen[0] == ("draft", "not_ready") and seen[-1][1] == "completed"


def test_consent_is_required(client, create):
    response = create(consent_attested="")
    assert "only be created with the pictured person" in response.content.decode()
    assert not Character.objects.exists()
    assert 'value="Mia"' in response.content.decode()  # what was typed is kept


@pytest.mark.parametrize("upload, message", [
    (SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg"),
     "x.jpg: This is not a JPEG, PNG or WebP image"),
    (photo("x.gif", "GIF"), "x.gif: This is not a JPEG, PNG or WebP image"),
])
def test_photos_are_checked_by_content(client, create, upload, message):
    response = create(photos=[upload])
    assert message in response.content.decode()
    assert not Character.objects.exists()


def test_photos_are_required(client, create):
    assert "Add at least one photo" in create(photos=[]).content.decode()


def test_photos_are_reencoded_without_metadata(create):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    Image.new("RGB", (40, 40)).save(buffer, "JPEG", exif=exif)
    create(photos=[SimpleUploadedFile("e.jpg", buffer.getvalue())])
    stored = Character.objects.get().photos.get()
    with stored.image.open("rb") as fh:
        assert b"SecretCam" not in fh.read()


def test_the_public_photo_url_works_only_while_training(client, create, fast_training,
                                                        django_capture_on_commit_callbacks):
    create()
    character = Character.objects.get()
    url = f"/characters/p/{character.photos.first().token}/"
    client.logout()
    assert client.get(url).status_code == 200
    assert client.get("/characters/p/guessed-token/").status_code == 404
    finish_training(fast_training, character, django_capture_on_commit_callbacks)
    assert client.get(url).status_code == 404


def test_members_see_only_their_own_characters_and_clients_none(client, create, bob, carol, admin_user):
    create()
    character = Character.objects.get()
    pages = [f"/characters/{character.pk}/", f"/characters/{character.pk}/card/",
             f"/characters/{character.pk}/photos/0/"]
    client.force_login(bob)
    assert str(character.pk) not in client.get("/characters/").content.decode()
    assert all(client.get(page).status_code == 404 for page in pages)
    assert client.post(f"/characters/{character.pk}/delete/").status_code == 404
    client.force_login(carol)
    assert client.get("/characters/").status_code == 404
    assert all(client.get(page).status_code == 404 for page in pages)
    assert "Characters" not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert all(client.get(page).status_code == 200 for page in pages)


def test_the_sweeper_polls_characters_with_backoff(create, fast_training, django_capture_on_commit_callbacks,
                                                   monkeypatch):
    create()
    character = Character.objects.get()
    calls = []
    monkeypatch.setattr(tasks, "enqueue", lambda step, pk: calls.append(step))
    Character.objects.filter(pk=character.pk).update(next_action_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        assert generation_tasks.sweep(seconds=0) == 1
        assert generation_tasks.sweep(seconds=0) == 0  # claimed already: not enqueued twice
    assert calls == ["poll_training"]
    monkeypatch.undo()
    tasks.poll_training(character.pk)
    character.refresh_from_db()
    assert character.poll_interval > 2.0 and character.next_action_at


def test_a_full_account_waits_for_a_training_slot(create, fast_training):
    fast_training.library.not_ready_seconds = 100
    for index in range(4):
        create(name=f"c{index}")
    create(name="fifth")
    fifth = Character.objects.get(name="fifth")
    assert fifth.status == "draft" and "starts when one finishes" in fifth.fail_reason
    assert fifth.next_action_at


def test_a_create_whose_answer_was_lost_is_found_in_the_providers_list_not_sent_again(
        client, alice, account, fast_training, monkeypatch, django_capture_on_commit_callbacks):
    from generations import higgsfield

    real_create = higgsfield.create_reference

    def create_then_lose_the_answer(*args, **kwargs):
        real_create(*args, **kwargs)
        raise higgsfield.NetworkError()

    monkeypatch.setattr(tasks.higgsfield, "create_reference", create_then_lose_the_answer)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/characters/new/", form_data(name="Lost answer"))
    character = Character.objects.get(name="Lost answer")
    assert character.status == "draft" and "Checking with the provider" in character.fail_reason
    monkeypatch.setattr(tasks.higgsfield, "create_reference", real_create)
    tasks.start_training(character.pk)
    character.refresh_from_db()
    assert character.status == "not_ready" and character.provider_id
    assert len(fast_training.library.references) == 1


def test_photos_are_kept_when_consent_is_missing_and_used_once_it_is_given(client, create, alice):
    html = create(consent_attested="").content.decode()
    assert "only be created with the pictured person" in html and not Character.objects.exists()
    kept = list(Upload.objects.filter(owner=alice).order_by("pk"))
    assert len(kept) == 2 and "Kept 2 photos" in html
    assert f'name="photos_keep" value="{kept[0].token} {kept[1].token}"' in html
    assert f"/uploads/{kept[0].pk}/" in html  # shown, to the owner only (the upload-file view checks)
    # Ticking consent is all that is left to do: the photos are not chosen again.
    create(photos=[], photos_keep=f"{kept[0].token} {kept[1].token}")
    character = Character.objects.get()
    assert character.photos.count() == 2
    assert not Upload.objects.exists()  # the kept copies are gone once the character has its own


def test_someone_elses_kept_photos_cannot_be_used(client, create, alice, bob):
    create(consent_attested="")
    tokens = " ".join(Upload.objects.values_list("token", flat=True))
    client.force_login(bob)
    html = client.post("/characters/new/", form_data(photos=[], photos_keep=tokens)).content.decode()
    assert "Add at least one photo" in html and not Character.objects.exists()


def test_train_one_opens_the_form_on_the_models_variant(client, alice):
    client.force_login(alice)
    html = client.get("/characters/?model_version=v2").content.decode()
    assert '<option value="v2" selected>' in html
