from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from generations import pipeline
from generations.models import Generation, ProviderAccount
from higgsweb.models import Budget, Notification, User


@pytest.fixture
def start(alice, project, db):
    account = ProviderAccount.objects.create(name="test", base_url="http://127.0.0.1:9")

    def start(**params):
        return pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                              params={"prompt": "a red kite", "resolution": "720p", **params},
                              account=account)
    return start


def finish(generation, status="completed"):
    generation.advance("queued", "poll")
    generation.advance(status, "poll")


def test_passing_the_soft_threshold_warns_the_user_once_in_the_app_and_by_email(settings, client, alice, start,
                                                                               django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = True
    alice.email = "alice@example.com"
    alice.save()
    from higgsweb.ledger import user_budget

    Budget.objects.filter(pk=user_budget(alice).pk).update(soft_limit=3, hard_limit=10)
    with django_capture_on_commit_callbacks(execute=True):
        start()
        assert not alice.notifications.exists()
        start(), start()
    warning = alice.notifications.get(kind="budget")
    assert "past its warning threshold of 3.000" in warning.message and "hard limit 10.000" in warning.message
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    client.force_login(alice)
    page = client.get(reverse("gallery")).content.decode()
    assert 'aria-label="1 unread"' in page
    client.post(reverse("notifications-read"))
    assert "unread" not in client.get(reverse("notifications")).content.decode().split("<main")[1]


def test_a_project_budget_warning_goes_to_admins(admin_user, project, start):
    Budget.objects.create(scope="project", project=project, soft_limit=1)
    start()
    assert admin_user.notifications.get(kind="budget").message.startswith("Project Spring campaign")


def test_a_job_finishing_while_its_owner_is_away_is_notified(alice, start):
    finish(start())
    assert "is ready" in alice.notifications.get(kind="job").message


def test_no_job_notification_while_the_owner_watches_the_gallery(client, alice, start):
    client.force_login(alice)
    client.get(reverse("gallery"))
    alice.refresh_from_db()
    assert alice.last_seen_gallery_at is not None
    finish(start(), "failed")
    assert not alice.notifications.filter(kind="job").exists()
    User.objects.filter(pk=alice.pk).update(last_seen_gallery_at=timezone.now() - timedelta(hours=1))
    finish(start(), "failed")
    assert "failed" in alice.notifications.get(kind="job").message


def test_no_email_is_sent_when_no_mail_host_is_configured(settings, alice, start, django_capture_on_commit_callbacks):
    settings.NOTIFY_BY_EMAIL = False
    alice.email = "alice@example.com"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        finish(start())
    assert Notification.objects.count() == 1 and mail.outbox == []


def test_an_over_budget_submit_shows_the_numbers_keeps_the_input_and_creates_nothing(client, alice, project,
                                                                                    monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    ProviderAccount.objects.create(name="test", base_url="http://127.0.0.1:9", is_default=True)
    Budget.objects.create(scope="project", project=project, hard_limit=2)
    client.force_login(alice)
    response = client.post(reverse("generation-create"), {
        "project": project.pk, "prompt": "a quiet harbour", "aspect_ratio": "16:9", "resolution": "1080p",
        "batch_size": "1", "random_seed": "on"}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "Over budget: this job needs 3.000 credits" in page and "2.000 of 2.000 credits left" in page
    assert "a quiet harbour" in page
    assert Generation.objects.count() == 0
    assert Budget.objects.get(project=project).spent == 0


def test_polling_the_gallery_records_the_visit_at_most_every_30_seconds(client, alice, project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from generations.models import Generation

    running = Generation.objects.create(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                        params={"prompt": "an owl"}, status="queued")
    client.force_login(alice)
    writes = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("generation-card", args=[running.pk])).status_code == 200
        writes.append(sum(1 for q in captured if q["sql"].startswith("UPDATE")))
    assert writes == [1, 0, 0]
    alice.refresh_from_db()
    assert alice.last_seen_gallery_at is not None
