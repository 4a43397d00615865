import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from generations import pipeline
from generations.models import ProviderAccount
from higgsweb import ledger
from higgsweb.models import LedgerEntry, Project


@pytest.fixture
def spending(alice, bob, project, db):
    account = ProviderAccount.objects.create(name="test", base_url="http://127.0.0.1:9")
    other = Project.objects.create(name="Autumn launch")
    jobs = [
        (alice, project, "higgsfield-ai/soul/standard", {"resolution": "1080p", "batch_size": 4}, "completed"),
        (alice, other, "higgsfield-ai/soul/standard", {"resolution": "720p"}, "failed"),
        (bob, project, "veo3.1/fast", {"prompt": "waves"}, "completed"),
        (bob, other, "veo3.1/fast", {"prompt": "rain"}, "queued"),
    ]
    made = []
    for owner, proj, model_id, params, status in jobs:
        generation = pipeline.start(owner=owner, project=proj, model_id=model_id,
                                    params={"prompt": "x", **params}, account=account)
        generation.advance("queued", "poll", request_id=f"req-{len(made)}")
        if status != "queued":
            generation.advance(status, "poll")
        made.append(generation)
    return made


def audit_urls(generation):
    return [reverse("audit"), reverse("audit-csv"), reverse("audit-generation", args=[generation.pk]),
            reverse("audit-reconciliation")]


def test_members_and_clients_get_404_on_every_audit_url(client, alice, carol, spending):
    generation = spending[0]
    for person in (alice, carol):
        client.force_login(person)
        for url in audit_urls(generation):
            assert client.get(url).status_code == 404, url
        assert client.post(reverse("audit-resolve", args=[generation.pk])).status_code == 404
    client.logout()
    assert client.get(reverse("audit")).status_code == 404


def test_admin_sees_spend_by_user_project_model_and_day_with_a_chart(client, admin_user, spending):
    client.force_login(admin_user)
    page = client.get(reverse("audit")).content.decode()
    net = sum(ledger.net(g) for g in spending)
    assert f'<strong id="total-net">{net:,.3f}</strong>' in page
    for text in ("alice", "bob", "Autumn launch", "veo3.1/fast", "<svg", "req-2"):
        assert text in page


def test_the_csv_totals_equal_the_page_totals_for_the_same_filters(client, admin_user, alice, spending):
    client.force_login(admin_user)
    for query in ({}, {"user": alice.pk}, {"model_id": "veo3.1/fast"}, {"project": spending[1].project_id}):
        page = client.get(reverse("audit"), query).content.decode()
        page_total = Decimal(re.search(r'id="total-net">([^<]+)<', page).group(1).replace(",", ""))
        rows = list(csv.DictReader(io.StringIO(client.get(reverse("audit-csv"), query).content.decode())))
        entries = [r for r in rows if r["created_at"] != "total"]
        assert sum(Decimal(r["credits"]) for r in entries) == page_total
        assert Decimal(rows[-1]["credits"]) == page_total


def test_a_date_range_outside_the_spend_shows_nothing(client, admin_user, spending):
    client.force_login(admin_user)
    page = client.get(reverse("audit"), {"date_from": "2020-01-01", "date_to": "2020-01-31"}).content.decode()
    assert '<strong id="total-net">0.000</strong>' in page


def test_drill_down_shows_request_id_estimate_and_charge(client, admin_user, spending):
    client.force_login(admin_user)
    failed = spending[1]
    page = client.get(reverse("audit-generation", args=[failed.pk])).content.decode()
    assert "req-1" in page and 'id="estimate">1.500<' in page and 'id="charged">0.000<' in page


def test_ledger_entries_are_read_only_in_the_django_admin(client, db, spending):
    from higgsweb.models import User

    root = User.objects.create_superuser("root", password="pw-root-123")
    client.force_login(root)
    entry = LedgerEntry.objects.first()
    assert client.get(reverse("admin:higgsweb_ledgerentry_changelist")).status_code == 200
    assert client.get(reverse("admin:higgsweb_ledgerentry_add")).status_code == 403
    assert client.post(reverse("admin:higgsweb_ledgerentry_delete", args=[entry.pk]), {"post": "yes"}).status_code \
        == 403
    for name in ("budget", "notification", "providerbalance"):
        assert client.get(reverse(f"admin:higgsweb_{name}_changelist")).status_code == 200
