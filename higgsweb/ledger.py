"""The credit ledger: holds at submit, a confirm or a refund when the job ends, and
adjustments from reconciliation. Entries are only ever added.

Every entry moves the cached `spent` of the budgets it names by its amount, in the same
transaction, so a budget's `spent` always equals the sum of its entries. A hold is the
only movement that can be refused: it is a guarded
`UPDATE budget SET spent = spent + cost WHERE spent + cost <= hard_limit`, which PostgreSQL
re-checks after waiting for the row lock and SQLite runs inside an IMMEDIATE
(serialised) transaction, so parallel submits can never overspend.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Min, Q, Sum
from django.dispatch import receiver
from django.utils import timezone

from characters import signals as character_signals
from characters.models import Character
from generations import higgsfield
from generations import signals as generation_signals
from generations.models import Generation, ProviderAccount
from generations.pricing import estimate_credits
from higgsweb import notify
from higgsweb.models import Budget, LedgerEntry, ProviderBalance

log = logging.getLogger("higgsweb.ledger")
Kind = LedgerEntry.Kind
Status = Generation.Status
STALE_HOLD = timedelta(days=1)
# Amounts have three decimals; SQLite does decimal arithmetic in floating point, so the
# guard allows for rounding far below the smallest amount.
_EPSILON = Decimal("0.0005")


class BudgetExceeded(Exception):
    """A hold would pass a hard limit. Carries the numbers for the person submitting."""

    def __init__(self, budget, cost):
        self.budget, self.cost = budget, cost
        self.remaining = max(budget.remaining, Decimal(0))
        super().__init__(
            f"Over budget: this job needs {cost:.3f} credits, but {_budget_name(budget)} has "
            f"{self.remaining:.3f} of {budget.hard_limit:.3f} credits left "
            f"({budget.spent:.3f} spent or held). Nothing was submitted or charged.")


def _budget_name(budget):
    if budget.scope == Budget.Scope.USER:
        return f"your monthly budget for {budget.month:%B %Y}"
    return f"the budget of project “{budget.project}”"


def month_start(when=None):
    return timezone.localdate(when).replace(day=1)


def user_budget(user, when=None):
    """This month's budget for `user`, created on first use with the limits of their
    previous month (or the site default), so a limit set once carries forward."""
    month = month_start(when)
    budget = Budget.objects.filter(scope=Budget.Scope.USER, user=user, month=month).first()
    if budget:
        return budget
    previous = Budget.objects.filter(scope=Budget.Scope.USER, user=user, month__lt=month).order_by("-month").first()
    default = getattr(settings, "DEFAULT_MONTHLY_CREDITS", None)
    limits = ({"hard_limit": previous.hard_limit, "soft_limit": previous.soft_limit} if previous
              else {"hard_limit": default, "soft_limit": None})
    budget, _ = Budget.objects.get_or_create(scope=Budget.Scope.USER, user=user, month=month, defaults=limits)
    return budget


class Allowance:
    """What a budget still allows, for showing beside the cost (no limit: `left` is None)."""

    def __init__(self, name, limit, spent):
        self.name, self.spent = name, spent
        self.limit = None if limit is None else Decimal(str(limit))
        self.left = None if self.limit is None else max(self.limit - spent, Decimal(0))

    def refuses(self, cost):
        return self.left is not None and cost > self.left


def allowances(user, project=None, when=None):
    """The user's allowance this month and the project's, read without creating a budget
    (the cost line asks on every keystroke): a month without its budget row yet has the
    limit `user_budget` would give it and nothing spent."""
    month = month_start(when)
    latest = (Budget.objects.filter(scope=Budget.Scope.USER, user=user, month__lte=month)
              .order_by("-month").only("month", "hard_limit", "spent").first())
    if latest is not None and latest.month == month:
        mine = Allowance("this month", latest.hard_limit, latest.spent)
    else:
        limit = latest.hard_limit if latest else getattr(settings, "DEFAULT_MONTHLY_CREDITS", None)
        mine = Allowance("this month", limit, Decimal(0))
    found = [mine]
    if project is not None:
        budget = Budget.objects.filter(scope=Budget.Scope.PROJECT, project=project).only("hard_limit", "spent").first()
        if budget is not None and budget.hard_limit is not None:
            found.append(Allowance(f"project “{project}”", budget.hard_limit, budget.spent))
    return found


def project_budget(project):
    if project is None:
        return None
    budget, _ = Budget.objects.get_or_create(scope=Budget.Scope.PROJECT, project=project)
    return budget


def _write(kind, amount, *, guarded=False, budgets=(), savepoint=True, **fields):
    """Add one entry and move its budgets by `amount`, all or nothing. With savepoint=False
    inside a caller's transaction, a failure fails that whole transaction."""
    amount = Decimal(amount).quantize(Decimal("0.001"))
    with transaction.atomic(savepoint=savepoint):
        for budget in budgets:
            if budget is None or amount == 0:
                continue
            rows = Budget.objects.filter(pk=budget.pk)
            if guarded and amount > 0:
                rows = rows.filter(Q(hard_limit__isnull=True) | Q(spent__lte=F("hard_limit") - amount + _EPSILON))
            if not rows.update(spent=F("spent") + amount):
                budget.refresh_from_db()
                raise BudgetExceeded(budget, amount)
        user_b, project_b = (list(budgets) + [None, None])[:2]
        entry = LedgerEntry.objects.create(kind=kind, amount=amount, user_budget=user_b, project_budget=project_b,
                                           **fields)
        if amount > 0:
            for budget in budgets:
                if budget is not None:
                    _warn_if_past_soft_limit(budget)
    return entry


def _warn_if_past_soft_limit(budget):
    # One warning per budget: the guarded update lets exactly one transaction claim it.
    claimed = Budget.objects.filter(pk=budget.pk, warned_at__isnull=True, soft_limit__isnull=False,
                                    spent__gte=F("soft_limit")).update(warned_at=timezone.now())
    if claimed:
        budget.refresh_from_db()
        notify.budget_warning(budget)


def _subject_fields(generation=None, character=None):
    # Ids, not objects: the owner and project need not be loaded to write an entry.
    if generation is not None:
        return {"generation": generation, "user_id": generation.owner_id, "project_id": generation.project_id,
                "model_id": generation.model_id}
    return {"character": character, "user_id": character.owner_id, "project": None,
            "model_id": f"soul-id-training/{character.model_version}"}


def _entries(generation=None, character=None):
    if generation is not None:
        return LedgerEntry.objects.filter(generation=generation)
    return LedgerEntry.objects.filter(character=character)


def net(generation=None, character=None):
    return _entries(generation, character).aggregate(total=Sum("amount"))["total"] or Decimal(0)


def hold(generation, estimate=None):
    """Reserve the estimate for a new generation against its owner's monthly budget and its
    project's budget. Call inside the transaction that creates it; raises BudgetExceeded."""
    if estimate is None:
        estimate = estimate_credits(generation.model_id, generation.params)
    budgets = (user_budget(generation.owner), project_budget(generation.project))
    return _write(Kind.HOLD, estimate, guarded=True, budgets=budgets, note="estimate reserved at submit",
                  **_subject_fields(generation=generation))


def hold_training(character, estimate=Character.TRAINING_CREDITS, guarded=True):
    """Reserve the cost of training a character (Soul ID) against its owner's budget."""
    return _write(Kind.HOLD, estimate, guarded=guarded, budgets=(user_budget(character.owner), None),
                  note="training estimate reserved", **_subject_fields(character=character))


def _settle(kind, *, generation=None, character=None, final=None, note="", created_by=None):
    """Write the one confirm (net becomes `final`, by default the hold) or the one refund
    (net becomes 0); None when there is no hold or it was already written. The job's few
    entries are read in one query. It is called from the status change that ends the job,
    which only one transaction can make (Generation.advance is a compare-and-set; a
    character's takes a row lock), so no savepoint is spent on a race: were a second one
    ever written, the database's unique constraint fails that whole transaction instead."""
    rows = list(_entries(generation, character).values_list("kind", "amount", "user_budget", "project_budget"))
    first_hold = next((row for row in rows if row[0] == Kind.HOLD), None)
    if first_hold is None or any(row[0] == kind for row in rows):
        return None
    _, held, user_budget_id, project_budget_id = first_hold
    target = Decimal(0) if kind == Kind.REFUND else (final if final is not None else held)
    # Only the budgets' ids are needed to move them (see _write).
    budgets = [Budget(pk=pk) if pk else None for pk in (user_budget_id, project_budget_id)]
    return _write(kind, target - sum(row[1] for row in rows), budgets=budgets, savepoint=False, note=note,
                  created_by=created_by, **_subject_fields(generation, character))


def confirm(generation=None, character=None, final=None, **kwargs):
    return _settle(Kind.CONFIRM, generation=generation, character=character, final=final,
                   note=kwargs.pop("note", "final charge"), **kwargs)


def refund(generation=None, character=None, **kwargs):
    return _settle(Kind.REFUND, generation=generation, character=character,
                   note=kwargs.pop("note", "refunded by the provider"), **kwargs)


def adjust(generation, target, *, note, created_by=None):
    """Bring a generation's net charge to `target` with an adjustment entry."""
    first_hold = generation.ledger_entries.filter(kind=Kind.HOLD).first()
    budgets = ((first_hold.user_budget, first_hold.project_budget) if first_hold
               else (user_budget(generation.owner, generation.created_at), project_budget(generation.project)))
    amount = target - net(generation)
    if amount == 0:
        return None
    return _write(Kind.ADJUSTMENT, amount, budgets=budgets, note=note, created_by=created_by,
                  **_subject_fields(generation=generation))


# --- Reconciliation -----------------------------------------------------------------

REFUNDED = (Status.FAILED, Status.NSFW, Status.CANCELED)


def discrepancies(now=None):
    """Generations whose ledger disagrees with their status, as (generation, problem) pairs."""
    now = now or timezone.now()
    rows = Generation.objects.select_related("owner", "project").annotate(
        net=Sum("ledger_entries__amount"),
        holds=Count("ledger_entries", filter=Q(ledger_entries__kind=Kind.HOLD)),
        confirms=Count("ledger_entries", filter=Q(ledger_entries__kind=Kind.CONFIRM)),
        refunds=Count("ledger_entries", filter=Q(ledger_entries__kind=Kind.REFUND)),
        held_at=Min("ledger_entries__created_at", filter=Q(ledger_entries__kind=Kind.HOLD)),
    ).filter(
        Q(status__in=REFUNDED) & ~Q(net=0)
        | Q(status=Status.COMPLETED, confirms=0)
        | Q(status=Status.UNKNOWN, refunds=0, holds__gt=0)
        | ~Q(status__in=Generation.FINAL) & Q(refunds=0, confirms=0, held_at__lt=now - STALE_HOLD)
    ).exclude(imported=True, holds=0).order_by("created_at")  # imported: paid for where it was made
    return [(g, problem(g, now)) for g in rows]


def problem(generation, now=None):
    """What is wrong with an annotated generation, in words, or '' when nothing is."""
    now = now or timezone.now()
    if generation.status in REFUNDED and (generation.net or 0) != 0:
        return "Charged but failed"
    if generation.status == Status.COMPLETED and not generation.confirms:
        return "Refunded but completed" if generation.refunds else "Completed but never confirmed"
    if generation.status == Status.UNKNOWN and generation.holds and not generation.refunds:
        return "Status unknown at the provider"
    if generation.held_at and generation.held_at < now - STALE_HOLD and not (generation.refunds or generation.confirms):
        return "Hold older than a day"
    return ""


def resolve(generation, by):
    """Bring the ledger in line with the generation's status, with new entries only:
    completed → the final charge; anything else → nothing charged (the hold released)."""
    with transaction.atomic():
        generation = Generation.objects.select_for_update().get(pk=generation.pk)
        note = f"reconciliation by {by}"
        if generation.status == Status.COMPLETED:
            if confirm(generation, note=note, created_by=by) is None:
                estimate = estimate_credits(generation.model_id, generation.params)
                first_hold = generation.ledger_entries.filter(kind=Kind.HOLD).first()
                adjust(generation, first_hold.amount if first_hold else estimate, note=note, created_by=by)
        elif refund(generation, note=note, created_by=by) is None:
            adjust(generation, Decimal(0), note=note, created_by=by)


# --- Provider balance ---------------------------------------------------------------

def read_provider_balances():
    """Ask each active account's surface for its balance and keep the reading. Runs in the
    worker or a management command, never in a view."""
    return [read_provider_balance(account) for account in ProviderAccount.objects.filter(active=True)]


def read_provider_balance(account):
    """One account's reading: its balance where the surface reports one, and whether the
    provider accepts its credentials (a check that passes clears the account's last error)."""
    # The simulator's Model API and v1 share its own balance; its fnf and Pixazo report theirs as those do.
    on_simulator = settings.USE_SIMULATOR and account.base_url.rstrip("/") == settings.SIMULATOR_URL.rstrip("/")
    conn = account.connection()
    try:
        credits = higgsfield.balance(conn, simulator=on_simulator)
        reading = ProviderBalance(account=account, credits=credits)
    except NotImplementedError as exc:
        reading = ProviderBalance(account=account, note=str(exc))
    except higgsfield.ProviderError as exc:
        reading = ProviderBalance(account=account, note=str(exc)[:300])
    # The key check is its own call: most surfaces report no balance but do refuse a bad key.
    try:
        reading.key_valid = higgsfield.check_key(conn)
    except higgsfield.ProviderError as exc:
        reading.note = (reading.note or f"Key check: {exc}")[:300]
    reading.save()
    if reading.key_valid and account.last_error:
        account.clear_error()
    return reading


class BalanceNow:
    """A provider balance reading, with how old it is and what the ledger has recorded on its
    account since: the balance moves with every job, but is read only now and then."""

    STALE = timedelta(minutes=10)

    def __init__(self, reading, now=None):
        self.reading, self.account = reading, reading.account
        self.age = (now or timezone.now()) - reading.read_at
        self.stale = self.age > self.STALE
        self.since = None
        if reading.credits is not None:
            on_account = Q(generation__account=reading.account_id) | Q(character__account=reading.account_id)
            self.since = LedgerEntry.objects.filter(on_account, created_at__gt=reading.read_at).aggregate(
                total=Sum("amount", default=Decimal(0)))["total"]

    @property
    def estimate(self):
        return None if self.since is None else self.reading.credits - self.since


# --- Status changes -------------------------------------------------------------------

@receiver(generation_signals.status_changed, dispatch_uid="ledger-generation-status")
def settle_generation(sender, generation, old, new, **kwargs):
    if new == Status.COMPLETED:
        confirm(generation)
    elif new in REFUNDED:
        refund(generation)


@receiver(character_signals.status_changed, dispatch_uid="ledger-character-status")
def settle_training(sender, character, old, new, **kwargs):
    if new in (Character.Status.QUEUED, Character.Status.IN_PROGRESS) \
            and not _entries(character=character).filter(kind=Kind.HOLD).exists():
        # The provider already accepted the training: record it even past the limit.
        hold_training(character, guarded=False)
    elif new == Character.Status.COMPLETED:
        if not _entries(character=character).filter(kind=Kind.HOLD).exists():
            hold_training(character, guarded=False)  # it trained between two checks (or while being withdrawn)
        confirm(character=character)
    elif new == Character.Status.FAILED:
        refund(character=character)
