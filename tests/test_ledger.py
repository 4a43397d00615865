from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from characters.models import Character
from characters.signals import status_changed as character_status_changed
from generations import pipeline
from generations.models import Generation, ProviderAccount
from generations.pricing import estimate_credits
from higgsweb import ledger
from higgsweb.models import Budget, LedgerEntry
from tests.balances import assert_budgets_match_ledger

PARAMS = {"prompt": "a lighthouse at dusk", "resolution": "1080p", "batch_size": 4}
MODEL = "higgsfield-ai/soul/standard"
COST = estimate_credits(MODEL, PARAMS)


@pytest.fixture
def account(db):
    return ProviderAccount.objects.create(name="test", base_url="http://127.0.0.1:9")


@pytest.fixture
def start(alice, project, account):
    def start(**overrides):
        return pipeline.start(owner=alice, project=project, model_id=MODEL,
                              params={**PARAMS, **overrides}, account=account)
    return start


def walk(generation, *statuses):
    for status in statuses:
        assert generation.advance(status, Generation.Source.POLL)


def kinds(generation):
    return [(e.kind, e.amount) for e in generation.ledger_entries.order_by("id")]


def spent(alice, project):
    return ledger.user_budget(alice).spent, ledger.project_budget(project).spent


def test_submit_holds_the_estimate_against_the_user_and_the_project(start, alice, project):
    generation = start()
    assert kinds(generation) == [("hold", COST)]
    assert spent(alice, project) == (COST, COST)
    assert_budgets_match_ledger()


def test_a_completed_job_is_charged_the_final_figure_once(start, alice, project):
    generation = start()
    walk(generation, "queued", "in_progress", "completed")
    assert ledger.net(generation) == COST
    assert [k for k, _ in kinds(generation)] == ["hold", "confirm"]
    assert spent(alice, project) == (COST, COST)
    assert_budgets_match_ledger()


@pytest.mark.parametrize("outcome", ["failed", "nsfw"])
def test_a_failed_or_blocked_job_is_refunded_exactly_once(start, alice, project, outcome):
    generation = start()
    walk(generation, "queued", outcome)
    assert ledger.refund(generation) is None  # a second refund changes nothing
    assert kinds(generation) == [("hold", COST), ("refund", -COST)]
    assert spent(alice, project) == (0, 0)
    assert_budgets_match_ledger()


def test_a_canceled_job_gives_the_credits_back(start, alice, project):
    generation = start()
    walk(generation, "canceled")
    assert ledger.net(generation) == 0
    assert spent(alice, project) == (0, 0)
    assert_budgets_match_ledger()


@pytest.mark.parametrize(("outcome", "charged"), [("completed", COST), ("failed", Decimal(0))])
def test_an_unknown_job_keeps_its_hold_until_the_provider_answers(start, alice, project, outcome, charged):
    generation = start()
    walk(generation, "submitting", "unknown")
    assert ledger.net(generation) == COST
    walk(generation, "queued", outcome)
    assert ledger.net(generation) == charged
    assert spent(alice, project) == (charged, charged)
    assert_budgets_match_ledger()


def test_the_database_refuses_a_second_confirm_or_refund(start):
    generation = start()
    walk(generation, "queued", "failed")
    hold = generation.ledger_entries.get(kind="hold")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(kind="refund", amount=0, user=hold.user, project=hold.project,
                                   generation=generation)


def test_ledger_entries_cannot_be_edited(start):
    entry = start().ledger_entries.get()
    entry.amount = 0
    with pytest.raises(ValueError):
        entry.save()


def test_over_the_hard_limit_nothing_is_created_or_charged(start, alice, project):
    Budget.objects.create(scope="project", project=project, hard_limit=COST * 2)
    start(), start()
    with pytest.raises(ledger.BudgetExceeded) as exc:
        start()
    assert f"{COST:.3f} credits" in str(exc.value) and f"0.000 of {COST * 2:.3f}" in str(exc.value)
    assert Generation.objects.count() == 2
    assert spent(alice, project) == (COST * 2, COST * 2)
    assert_budgets_match_ledger()


def test_a_refund_makes_room_in_the_budget_again(start, project):
    Budget.objects.create(scope="project", project=project, hard_limit=COST)
    walk(start(), "queued", "failed")
    start()
    assert_budgets_match_ledger()


def test_a_monthly_limit_carries_over_into_the_next_month(alice):
    Budget.objects.create(scope="user", user=alice, month=ledger.month_start().replace(year=2020),
                          hard_limit=50, soft_limit=40)
    budget = ledger.user_budget(alice)
    assert (budget.hard_limit, budget.soft_limit) == (50, 40)


def test_character_training_is_held_confirmed_or_refunded_like_a_generation(alice):
    trained, broken = (Character.objects.create(name=n, owner=alice) for n in ("Mia", "Leo"))
    for character, outcome in ((trained, "completed"), (broken, "failed")):
        character_status_changed.send(sender=Character, character=character, old="draft", new="queued")
        character_status_changed.send(sender=Character, character=character, old="queued", new=outcome)
        character_status_changed.send(sender=Character, character=character, old="queued", new=outcome)
    assert ledger.net(character=trained) == Character.TRAINING_CREDITS
    assert ledger.net(character=broken) == 0
    assert ledger.user_budget(alice).spent == Character.TRAINING_CREDITS
    assert_budgets_match_ledger()
