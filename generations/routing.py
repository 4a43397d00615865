"""Which provider account runs each model.

A model runs on the account an admin chose for it on the routes page (a ModelRoute), as long as
that account is active and its surface can run the model. Otherwise on the default account of
the model's own surface (the catalogue's `surface`: the Model API, or v1 for the v1 paths),
which is kept in step with the environment; and if an admin switched that off, on any active
account whose surface can run it, the admin's defaults first. A model no active account can run
is not offered in the studio and refused by the API."""

from functools import cache

from django.db.models import Q

from generations import catalogue, higgsfield
from generations.models import ModelRoute, ProviderAccount
from higgsweb import compiled

Surface = ProviderAccount.Surface


def can_run(account, model):
    """Whether an account's surface runs a catalogue model (translating the request if need be)."""
    return model is not None and higgsfield.runs(account.surface, model.id)


def eligible(model, accounts):
    """The accounts among `accounts` that can run `model`."""
    return [account for account in accounts if can_run(account, model)]


def account_for(model_id):
    """The account a new job of `model_id` runs on, or None when no active account can run it.
    May create the environment's account of the model's surface (ProviderAccountQuerySet.default)."""
    model = catalogue.get(model_id)
    if model is None:  # a model since taken out of the catalogue (a retry of an old job)
        return ProviderAccount.objects.default()
    route = ModelRoute.objects.select_related("account").filter(model_id=model_id).first()
    if route is not None and route.account.active and can_run(route.account, model):
        return route.account
    account = fallback(model, available_accounts())
    if account is not None and _is_environment(account):  # made, or kept in step, on first use
        account = ProviderAccount.objects.default(account.surface)
    return account


def fallback(model, accounts):
    """Where a model runs when no route names an account: the default account of its own
    surface (an admin's default, else the environment's), else the first of `accounts` that can
    run it, the admins' defaults first."""
    own = [account for account in accounts if account.surface == model.surface]
    choice = next((a for a in own if a.is_default), None) or next((a for a in own if _is_environment(a)), None)
    if choice is not None and can_run(choice, model):
        return choice
    others = sorted(eligible(model, accounts), key=lambda account: (not account.is_default, account.name))
    return others[0] if others else None


def _is_environment(account):
    return account.from_env and account.name == ProviderAccount.ENV_NAMES.get(account.surface)


def available_accounts():
    """Active accounts, plus a stand-in for each environment account not made yet (the first job
    of its surface makes it): what the studio may offer models on, read without writing."""
    accounts = list(ProviderAccount.objects.filter(active=True))
    made = set(ProviderAccount.objects.filter(name__in=ProviderAccount.ENV_NAMES.values())
               .values_list("name", flat=True))
    for surface, name in ProviderAccount.ENV_NAMES.items():
        if name not in made:
            accounts.append(ProviderAccount(name=name, surface=surface, from_env=True))
    return accounts


def runnable_ids(accounts=None):
    """Ids of the catalogue models some active account can run."""
    if accounts is None:
        return _runnable_on(_available_surfaces())
    return _runnable_on(frozenset(account.surface for account in accounts))


def _available_surfaces():
    """The surfaces of available_accounts(), in one query (every studio page asks)."""
    accounts = compiled.rows("available-surfaces", lambda: ProviderAccount.objects.filter(
        Q(active=True) | Q(name__in=ProviderAccount.ENV_NAMES.values())).values_list("name", "surface", "active"))
    made = {name for name, _, _ in accounts}
    return frozenset([*(surface for _, surface, active in accounts if active),
                      *(surface for surface, name in ProviderAccount.ENV_NAMES.items() if name not in made)])


@cache
def _runnable_on(surfaces):
    return frozenset(model.id for model in catalogue.all_models()
                     if any(higgsfield.runs(surface, model.id) for surface in surfaces))


def grouped_choices():
    """The studio's model picker: the catalogue's groups, only models some account can run."""
    runnable = runnable_ids()
    return [(label, [(model_id, name) for model_id, name in models if model_id in runnable])
            for label, models in catalogue.grouped_choices()]


def problems(model, params):
    """Why a job of `model` with `params` cannot start as it is, by field; empty when it can.
    No account at all is a non-field problem; otherwise the serving surface's own refusals."""
    account = account_for(model.id)
    if account is None:
        return {"__all__": [f"No provider account can run {model.label} now. An admin can add one, or "
                            "route this model, on the Provider accounts page."]}
    return higgsfield.check(account.surface, model.id, params)


def table():
    """The routes page: for each catalogue model, the accounts that can run it, the one chosen
    for it (or None) and the one its jobs run on without a choice."""
    accounts = available_accounts()
    chosen = {route.model_id: route.account_id for route in ModelRoute.objects.all()}
    rows = []
    for model in catalogue.all_models():
        options = [account for account in eligible(model, accounts) if account.pk is not None]
        route = next((account for account in options if account.pk == chosen.get(model.id)), None)
        rows.append({"model": model, "options": options, "chosen": route, "fallback": fallback(model, accounts)})
    return rows


def set_route(model_id, account):
    """Route a model to an account, or back to the default with None."""
    if account is None:
        ModelRoute.objects.filter(model_id=model_id).delete()
    else:
        ModelRoute.objects.update_or_create(model_id=model_id, defaults={"account": account})
