"""Login throttling: five wrong passwords for one username from one address lock that pair
out for 15 minutes with a clear page; the lock lifts by itself when the time has passed."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

LOGIN = "/login/"


@pytest.fixture(autouse=True)
def throttling_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def attempt(client, password, username="alice"):
    return client.post(LOGIN, {"username": username, "password": password})


def from_address(ip):
    return Client(REMOTE_ADDR=ip)


def test_four_failures_still_allow_the_right_password(alice):
    client = from_address("10.0.0.1")
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
    response = attempt(client, "pw-alice-123")
    assert response.status_code == 302 and response.url == "/"


def test_the_fifth_failure_locks_the_user_out_with_a_clear_page(alice):
    client = from_address("10.0.0.1")
    for _ in range(4):
        attempt(client, "wrong")
    response = attempt(client, "wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert "After 5 wrong passwords for <strong>alice</strong>" in page
    assert "Try again in 15 min 00 s" in page
    # Locked: even the right password is refused, and no session is created.
    response = attempt(client, "pw-alice-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_user_and_address(alice, bob):
    locked = from_address("10.0.0.1")
    for _ in range(5):
        attempt(locked, "wrong")
    assert attempt(locked, "pw-alice-123").status_code == 429
    # The same user from another address, and another user from the same address, still log in.
    assert attempt(from_address("10.0.0.2"), "pw-alice-123").status_code == 302
    assert attempt(locked, "pw-bob-123", username="bob").status_code == 302


def test_the_lock_lifts_by_itself_after_fifteen_minutes(alice):
    client = from_address("10.0.0.1")
    for _ in range(5):
        attempt(client, "wrong")
    assert attempt(client, "pw-alice-123").status_code == 429

    # 14 minutes later: still locked.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=14))
    assert attempt(client, "pw-alice-123").status_code == 429

    # Move the clock past the cool-off: the attempts expire and the right password works again.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))
    response = attempt(client, "pw-alice-123")
    assert response.status_code == 302 and response.url == "/"
    assert not AccessAttempt.objects.exists()  # success resets the count


def test_a_success_resets_the_count(alice):
    client = from_address("10.0.0.1")
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, "pw-alice-123").status_code == 302
    client.post("/logout/")
    for _ in range(4):
        assert attempt(client, "wrong").status_code == 200
