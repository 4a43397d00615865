"""Provider accounts and model routes, for admins (everyone else gets 404): the accounts with
their surface, address, limits and health; forms to add and change them, with write-only
credentials; a check of the credentials, run by the worker; and which account serves each model."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from generations import pipeline, routing
from generations.forms import CREDENTIALS, ProviderAccountForm, RoutesForm
from generations.models import ProviderAccount
from higgsweb.access import found

Surface = ProviderAccount.Surface


def _require_admin(request):
    if not (request.user.is_authenticated and request.user.is_admin_role):
        raise Http404


def _get_account_for_admin(request, pk):
    _require_admin(request)
    return get_object_or_404(ProviderAccount, pk=pk)


def _check_soon(account):
    """Ask the worker to check the account's credentials once the change is saved."""
    transaction.on_commit(lambda: pipeline.send("generations.tasks.check_account", account.pk,
                                                f"check-account:{account.pk}"))


@require_http_methods(["GET"])
def account_list(request):
    _require_admin(request)
    accounts = ProviderAccount.objects.all()
    ctx = {"accounts": accounts, "surfaces": [(surface, CREDENTIALS[surface]) for surface in Surface],
           "unofficial": Surface.FNF}
    return render(request, "providers/accounts.html", ctx)


@require_http_methods(["GET", "POST"])
def account_create(request):
    _require_admin(request)
    surface = request.GET.get("surface") or request.POST.get("surface")
    if surface not in Surface.values:
        return redirect("provider-accounts")
    form = ProviderAccountForm(request.POST or None, surface=surface)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            account = form.save()
            _check_soon(account)
        messages.success(request, f"Added {account.name}; its credentials are being checked.")
        return redirect("provider-accounts")
    ctx = {"form": form, "surface": surface, "surface_label": Surface(surface).label, "account": None,
           "via": ProviderAccount.VIA[surface]}
    return render(request, "providers/account_form.html", ctx)


@found(_get_account_for_admin)
@require_http_methods(["GET", "POST"])
def account_edit(request, account):
    form = ProviderAccountForm(request.POST or None, instance=account, surface=account.surface)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            account = form.save()
            _check_soon(account)
        messages.success(request, f"Saved {account.name}; its credentials are being checked.")
        return redirect("provider-accounts")
    ctx = {"form": form, "surface": account.surface, "surface_label": account.get_surface_display(),
           "account": account}
    return render(request, "providers/account_form.html", ctx)


@found(_get_account_for_admin)
@require_POST
def account_check(request, account):
    _check_soon(account)
    messages.info(request, f"Checking {account.name}'s credentials; reload in a moment for the answer.")
    return redirect("provider-accounts")


@require_http_methods(["GET", "POST"])
def routes(request):
    _require_admin(request)
    form = RoutesForm(request.POST or None, rows=routing.table())
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for model, account in form.choices():
                routing.set_route(model.id, account)
        messages.success(request, "Saved which account serves each model.")
        return redirect("provider-routes")
    rows = [{**row, "field": form[form.key(row["model"])] if form.key(row["model"]) in form.fields else None}
            for row in form.rows]
    ctx = {"form": form, "choices": [row for row in rows if row["field"]],
           "fixed": [row for row in rows if not row["field"]]}
    return render(request, "providers/routes.html", ctx)
