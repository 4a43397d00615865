from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from generations import pipeline
from generations.models import Generation, ProviderAccount
from higgsweb import ledger
from higgsweb.models import LedgerEntry, ProviderBalance
from tests.balances import assert_budgets_match_ledger


@pytest.fixture
def start(alice, project, db):
    account = ProviderAccount.objects.create(name="test", base_url="http://127.0.0.1:9")

    def start():
        return pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                              params={"prompt": "x", "resolution": "720p"}, account=account)
    return start


def problems():
    return {g.pk: p for g, p in ledger.discrepancies()}


def test_the_report_finds_each_kind_of_disagreement_and_one_click_fixes_it(client, admin_user, start):
    charged_but_failed = start()
    charged_but_failed.advance("queued", "poll")
    # A status written behind the ledger's back (as an old import or a manual fix would).
    Generation.objects.filter(pk=charged_but_failed.pk).update(status="failed")
    refunded_but_completed = start()
    refunded_but_completed.advance("queued", "poll")
    ledger.refund(refunded_but_completed)
    Generation.objects.filter(pk=refunded_but_completed.pk).update(status="completed")
    stale = start()
    stale.advance("queued", "poll")
    LedgerEntry.objects.filter(generation=stale).update(created_at=timezone.now() - timedelta(days=2))
    unknown = start()
    unknown.advance("submitting", "submit")
    unknown.advance("unknown", "submit")
    fine = start()
    fine.advance("queued", "poll")

    found = problems()
    assert found == {charged_but_failed.pk: "Charged but failed",
                     refunded_but_completed.pk: "Refunded but completed",
                     stale.pk: "Hold older than a day",
                     unknown.pk: "Status unknown at the provider"}
    client.force_login(admin_user)
    page = client.get(reverse("audit-reconciliation")).content.decode()
    assert "Charged but failed" in page and "Refunded but completed" in page

    entries_before = LedgerEntry.objects.count()
    for pk in found:
        response = client.post(reverse("audit-resolve", args=[pk]))
        assert response.status_code == 302
    assert problems() == {}
    assert LedgerEntry.objects.count() == entries_before + 4  # new entries, nothing edited
    assert ledger.net(charged_but_failed) == 0
    assert ledger.net(refunded_but_completed) == Decimal("1.500")
    assert ledger.net(stale) == 0
    client.post(reverse("audit-resolve", args=[charged_but_failed.pk]))  # a second click adds nothing
    assert LedgerEntry.objects.count() == entries_before + 4
    assert_budgets_match_ledger()


def test_a_released_stale_hold_is_still_charged_if_the_job_completes_later(start):
    generation = start()
    generation.advance("queued", "poll")
    ledger.resolve(generation, by=None)
    generation.advance("completed", "poll")
    assert ledger.net(generation) == Decimal("1.500")
    assert problems() == {}
    assert_budgets_match_ledger()


def test_the_provider_balance_is_read_by_the_worker_and_shown_from_the_database(client, admin_user, simulator,
                                                                                account):
    simulator.set_balance("test-key", Decimal("812.5"))
    ledger.read_provider_balances()
    assert ProviderBalance.objects.get(account=account).credits == Decimal("812.5")
    client.force_login(admin_user)
    assert "812.500" in client.get(reverse("audit-reconciliation")).content.decode()


def test_a_surface_without_a_balance_says_so(db, settings, monkeypatch):
    from generations import higgsfield
    from generations.models import ProviderAccount

    settings.USE_SIMULATOR = False
    monkeypatch.setattr(higgsfield, "check_key", lambda conn: True)  # no call leaves the machine
    ProviderAccount.objects.create(name="real", surface="model_api", base_url="https://platform.example",
                                   key_id="k", key_secret="s")
    ledger.read_provider_balances()
    reading = ProviderBalance.objects.get()
    assert reading.note == "The model_api surface does not report a balance."
    assert reading.key_valid is True


def test_the_page_title_is_plain_and_the_double_charge_list_is_shown_once(client, admin_user):
    client.force_login(admin_user)
    html = client.get("/audit/reconciliation/").content.decode()
    assert "<title>Reconciliation · higgsweb</title>" in html
    assert html.count('id="stray-requests"') == 1
