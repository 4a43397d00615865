"""What a job costs, in credits (1 credit = $0.0625).

The list price comes from the one price table (generations/prices.py, which the simulator
charges by too). Where the account's surface offers `/estimate`, the worker asks it
(`refresh_estimate`, and `refresh_estimates` on a schedule) and keeps the answers
(ProviderEstimate); a quote then says whether its figure is the list price or the provider's
estimate, and how old that is. Views never call the provider: a quote with no fresh estimate
queues one for the next look.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from generations.prices import credits_to_usd, is_list_price, list_price, rule_for, table  # noqa: F401

DEFAULT_CREDITS = Decimal("2")
ESTIMATE_MAX_AGE = timedelta(hours=24)  # an estimate older than this is not shown any more
REFRESH_AFTER = timedelta(hours=1)  # the scheduled refresh asks again after this
# Stand-ins for what an /estimate body must carry but the price does not depend on.
STAND_IN_INPUT = "/static/img/estimate-input.png"  # under PUBLIC_BASE_URL
STAND_IN_CHARACTER = "00000000-0000-0000-0000-000000000000"

log = logging.getLogger("generations.pricing")


# --- quotes: the list price, or the provider's own estimate ------------------------------

@dataclass(frozen=True)
class Quote:
    credits: Decimal
    source: str  # "list" | "provider"
    fetched_at: datetime | None = None
    list_price: bool = True  # False: no published price, the table holds a placeholder

    @property
    def usd(self):
        return credits_to_usd(self.credits)

    def times(self, cells):
        return Quote(self.credits * cells, self.source, self.fetched_at, self.list_price)


def params_key(model_id, body):
    return hashlib.sha256(json.dumps([model_id, body], sort_keys=True, default=str).encode()).hexdigest()


def estimate_body(model, params):
    """The body `/estimate` is asked about: the job's own settings with the model's defaults,
    and a stand-in for each input file or character it lacks (the price depends on neither)."""
    from django.conf import settings

    stand_in = settings.PUBLIC_BASE_URL + STAND_IN_INPUT
    body = {}
    for param in model.params:
        value = params.get(param.name, param.default)
        if param.is_upload:
            if not param.required and param.name not in model.example_inputs:
                continue
            item = {"type": param.wrap, param.wrap: stand_in} if param.wrap else stand_in
            value = [item] * max(1, param.min_items or 1) if param.type == "uploads" or param.list else item
        elif param.picker == "character":
            if not param.required:
                continue
            value = value or STAND_IN_CHARACTER
        elif param.type in ("motions", "json") or value in (None, ""):
            continue
        body[param.name] = _typed(param, value)
    return body


def _typed(param, value):
    try:
        if param.type == "integer":
            return int(value)
        if param.type == "number":
            return float(value)
        if param.type == "boolean" and isinstance(value, str):
            return value.lower() in ("1", "true", "on", "yes")
    except (TypeError, ValueError):
        return value
    return value


def _estimating_account(account=None):
    """The account whose /estimate prices the studio's jobs, or None where its surface has none."""
    from generations import higgsfield
    from generations.models import ProviderAccount

    if account is None:  # read only: a page asking for a price must not create the account
        accounts = ProviderAccount.objects.filter(active=True, surface=ProviderAccount.Surface.MODEL_API)
        account = accounts.filter(is_default=True).first() or accounts.filter(from_env=True).first()
    if account is None or not higgsfield.supports_estimate(account.connection()):
        return None
    return account


def quote(model, params, *, account=None, refresh=True, now=None):
    """The figure to show for this job: the provider's estimate when a fresh one is kept,
    otherwise the list price (and, with `refresh`, a worker task is queued to ask)."""
    from django.utils import timezone

    from generations.models import ProviderEstimate

    params = model.with_defaults(params or {})
    listed = Quote(list_price(model.id, params, model.output), "list",
                   list_price=is_list_price(model.id, model.output))
    account = _estimating_account(account)
    if account is None:
        return listed
    body = estimate_body(model, params)
    key = params_key(model.id, body)
    now = now or timezone.now()
    kept = ProviderEstimate.objects.filter(account=account, params_key=key,
                                           fetched_at__gte=now - ESTIMATE_MAX_AGE).first()
    if kept is not None:
        return Quote(kept.credits, "provider", kept.fetched_at)
    if refresh:
        _queue_refresh(account, model.id, body, key)
    return listed


def _queue_refresh(account, model_id, body, key):
    from django.core.cache import cache as shared_cache
    from django_q.tasks import async_task

    if shared_cache.add(f"estimate-queued:{account.pk}:{key}", 1, 60):  # once a minute per body
        async_task("generations.pricing.refresh_estimate", account.pk, model_id, body,
                   task_name=f"estimate:{model_id}")


def estimate_credits(model_id, params):
    """Credits to reserve for a job (budgets, the ledger's hold): the list price."""
    from generations import catalogue

    model = catalogue.get(model_id)
    if model is None:
        return DEFAULT_CREDITS
    return model.estimate(params or {})


# --- worker tasks --------------------------------------------------------------------------

def refresh_estimate(account_id, model_id, body):
    """Ask the account's /estimate for one body and keep the answer."""
    from django.utils import timezone

    from generations import higgsfield
    from generations.models import ProviderAccount, ProviderEstimate

    account = ProviderAccount.objects.filter(pk=account_id, active=True).first()
    if account is None:
        return None
    try:
        answer = higgsfield.estimate(account.connection(), model_id, body)
    except higgsfield.ProviderError as exc:
        log.info("no estimate for %s: %s", model_id, exc.message)
        return None
    ProviderEstimate.objects.update_or_create(
        account=account, params_key=params_key(model_id, body),
        defaults={"model_id": model_id, "credits": answer.credits, "usd": answer.usd, "fetched_at": timezone.now()})
    return answer.credits


def refresh_estimates():
    """Scheduled: refresh the default settings of every model the account's surface can
    estimate, unless asked recently. Returns how many were asked."""
    from django.utils import timezone

    from generations import catalogue
    from generations.models import ProviderEstimate

    account = _estimating_account()
    if account is None:
        return 0
    asked = 0
    recent = timezone.now() - REFRESH_AFTER
    for model in catalogue.all_models():
        if model.surface != account.surface:
            continue
        body = estimate_body(model, model.with_defaults(model.example))
        if ProviderEstimate.objects.filter(account=account, params_key=params_key(model.id, body),
                                           fetched_at__gte=recent).exists():
            continue
        refresh_estimate(account.pk, model.id, body)
        asked += 1
    return asked
