"""The health page (admins only) shows what the worker recorded: whether the provider
accepts the key, the balance, the last webhook, whether a worker is alive and how many
tasks wait. /healthz is a bare probe for load balancers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from generations import higgsfield, tasks
from generations.models import WebhookDelivery
from higgsweb import ledger
from higgsweb.models import ProviderBalance, WorkerHeartbeat


def section(response, name):
    html = response.content.decode()
    start = html.index(f'id="health-{name}"')
    return html[start:html.index("</tr>", start)]


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("who", [None, "alice", "carol"])
def test_only_admins_see_that_the_page_exists(client, alice, carol, who):
    if who:
        client.force_login({"alice": alice, "carol": carol}[who])
    assert client.get("/health/").status_code == 404


def test_a_valid_key_and_the_balance_as_the_worker_read_them(admin_client, simulator, account):
    simulator.set_balance("test-key", Decimal("640"))
    ledger.read_provider_balances()
    assert ProviderBalance.objects.get().key_valid is True
    page = admin_client.get("/health/")
    assert "valid" in section(page, "key") and "refused" not in section(page, "key")
    assert "<strong>640.000</strong> credits" in section(page, "balance")


def test_a_refused_key_is_shown_as_refused(admin_client, simulator, account, settings):
    settings.HIGGSFIELD_API_SECRET = "not-the-secret"
    ledger.read_provider_balances()
    reading = ProviderBalance.objects.get()
    assert reading.key_valid is False
    assert "refused" in section(admin_client.get("/health/"), "key")


def test_before_the_first_reading_the_page_says_how_to_get_one(admin_client, account):
    assert "no reading yet" in section(admin_client.get("/health/"), "key")


def test_the_key_check_on_each_surface(simulator):
    fnf = higgsfield.Connection("fnf", simulator.url + "/fnf", "", "fnf-demo-token")
    assert higgsfield.check_key(fnf) is True
    assert higgsfield.check_key(higgsfield.Connection("fnf", simulator.url + "/fnf", "", "expired")) is False
    v1 = higgsfield.Connection("v1", simulator.url, "test-key", "test-secret")
    assert higgsfield.check_key(v1) is True
    assert higgsfield.check_key(higgsfield.Connection("v1", simulator.url, "test-key", "wrong")) is False
    pixazo = higgsfield.Connection("pixazo", simulator.url + "/pixazo", "", "pixazo-demo-key")
    assert higgsfield.check_key(pixazo) is True  # a status nobody has: 404 with an accepted key
    assert higgsfield.check_key(higgsfield.Connection("pixazo", simulator.url + "/pixazo", "", "wrong")) is False


def test_the_last_webhook_seen(admin_client):
    assert "none received yet" in section(admin_client.get("/health/"), "webhook")
    WebhookDelivery.objects.create(webhook_id="msg_1", surface="model_api",
                                   received_at=timezone.now() - timedelta(minutes=3))
    text = section(admin_client.get("/health/"), "webhook")
    assert "3\xa0minutes ago" in text and "model_api" in text


def test_the_worker_is_alive_while_the_sweeper_beats(admin_client, settings):
    assert "no heartbeat" in section(admin_client.get("/health/"), "worker")
    tasks.sweep(seconds=0)
    text = section(admin_client.get("/health/"), "worker")
    assert "alive" in text and "no heartbeat" not in text
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(minutes=5))
    assert "no heartbeat" in section(admin_client.get("/health/"), "worker")


def test_the_queue_length(admin_client, monkeypatch):
    before = get_broker().queue_size()
    monkeypatch.setattr(Conf, "SYNC", False)
    async_task("math.floor", 1.5)
    async_task("math.floor", 2.5)
    assert f"<strong>{before + 2}</strong> tasks waiting" in section(admin_client.get("/health/"), "queue")


def test_healthz_says_ok_and_nothing_more(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")


def test_healthz_answers_503_when_the_database_does_not(client, db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise connection.Database.OperationalError("gone")
    monkeypatch.setattr("higgsweb.health.connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503 and response.content == b"unavailable"
