"""Audit pages for admins: spend by user, project, model and day; drill-down to each
generation; CSV of the same filtered ledger; reconciliation. Everyone else gets 404."""

import csv
import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from generations.models import Generation, StrayRequest
from higgsweb import ledger
from higgsweb.access import found
from higgsweb.models import Budget, LedgerEntry, Project, ProviderBalance, User

Kind = LedgerEntry.Kind
CHART_W, CHART_H, MAX_CHART_DAYS = 720, 220, 120


def _require_admin(request):
    if not (request.user.is_authenticated and request.user.is_admin_role):
        raise Http404


class AuditFilter(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.ModelChoiceField(User.objects.order_by("username"), required=False, empty_label="Everyone")
    project = forms.ModelChoiceField(Project.objects.all(), required=False, empty_label="All projects")
    model_id = forms.ChoiceField(required=False, label="Model")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        models = LedgerEntry.objects.order_by("model_id").values_list("model_id", flat=True).distinct()
        self.fields["model_id"].choices = [("", "All models")] + [(m, m) for m in models if m]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        data["date_from"] = data.get("date_from") or data["date_to"].replace(day=1)
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


def _filtered(request):
    """The filter form and the ledger entries it selects (the page and the CSV share this)."""
    form = AuditFilter(request.GET or None)
    if request.GET and not form.is_valid():
        return form, LedgerEntry.objects.none(), {}
    if not request.GET:
        form = AuditFilter({})
        form.is_valid()
    data = form.cleaned_data
    entries = LedgerEntry.objects.filter(created_at__date__gte=data["date_from"], created_at__date__lte=data["date_to"])
    if data.get("user"):
        entries = entries.filter(user=data["user"])
    if data.get("project"):
        entries = entries.filter(project=data["project"])
    if data.get("model_id"):
        entries = entries.filter(model_id=data["model_id"])
    return form, entries, data


def _totals(entries):
    return entries.aggregate(
        net=Sum("amount", default=Decimal(0)),
        held=Sum("amount", filter=Q(kind=Kind.HOLD), default=Decimal(0)),
        refunded=Sum("amount", filter=Q(kind=Kind.REFUND), default=Decimal(0)),
        entries=Count("id"),
    )


CHART_LEFT, CHART_BOTTOM, CHART_TOP, MAX_BAR = 56, 30, 18, 56


def nice_ceiling(value):
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value`: round numbers for the axis."""
    value = max(Decimal(value), Decimal("0.001"))
    power = Decimal(10) ** (len(str(int(value))) - 1) if value >= 1 else Decimal("0.001")
    while True:
        for step in (1, 2, Decimal("2.5"), 5, 10):
            if step * power >= value:
                return step * power
        power *= 10


def day_chart(by_day, date_from, date_to):
    """A server-rendered SVG bar chart of credits per day: a y axis with round ticks, a date
    under every few bars, bars no wider than MAX_BAR (so one day is a bar, not a slab), and
    the figure on each bar while there are few."""
    totals = {row["day"]: row["total"] for row in by_day}
    start = max(date_from, date_to - timedelta(days=MAX_CHART_DAYS - 1))
    days = [start + timedelta(days=n) for n in range((date_to - start).days + 1)]
    top = nice_ceiling(max([t for t in totals.values() if t > 0], default=Decimal(1)))
    plot_w, plot_h = CHART_W - CHART_LEFT - 8, CHART_H - CHART_BOTTOM - CHART_TOP
    band = plot_w / len(days)
    width = min(max(band * 0.7, 1), MAX_BAR)
    every = -(-len(days) // 10)  # at most about ten dates under the axis
    bars = []
    for i, day in enumerate(days):
        total = totals.get(day, Decimal(0))
        height = round(float(max(total, 0) / top) * plot_h, 1)
        x = CHART_LEFT + i * band + (band - width) / 2
        bars.append({"day": day, "total": total, "x": round(x, 1), "width": round(width, 1),
                     "y": round(CHART_TOP + plot_h - height, 1), "height": height, "middle": round(x + width / 2, 1),
                     "label": i % every == 0})
    ticks = [{"value": top * n / 4, "y": round(CHART_TOP + plot_h - plot_h * n / 4, 1)} for n in range(5)]
    return {"bars": bars, "width": CHART_W, "height": CHART_H, "top": top, "ticks": ticks,
            "left": CHART_LEFT, "right": CHART_W - 8, "base": CHART_TOP + plot_h, "label_y": CHART_TOP + plot_h + 18,
            "show_values": len(days) <= 14, "days": len(days)}


def presets(request, today=None):
    """Links for the usual ranges, keeping the other filters; the current one is marked."""
    today = today or timezone.localdate()
    ranges = [("Last 7 days", today - timedelta(days=6)), ("Last 30 days", today - timedelta(days=29)),
              ("Last 90 days", today - timedelta(days=89)), ("This month", today.replace(day=1))]
    query = request.GET.copy()
    links = []
    for label, start in ranges:
        query["date_from"], query["date_to"] = start.isoformat(), today.isoformat()
        current = (request.GET.get("date_from", today.replace(day=1).isoformat()) == start.isoformat()
                   and request.GET.get("date_to", today.isoformat()) == today.isoformat())
        links.append({"label": label, "query": query.urlencode(), "current": current})
    return links


@require_GET
def audit(request):
    _require_admin(request)
    form, entries, data = _filtered(request)
    by_day = list(entries.annotate(day=TruncDate("created_at")).values("day").annotate(total=Sum("amount"))
                  .order_by("day"))
    per_generation = (entries.filter(generation__isnull=False).values("generation").annotate(
        charged=Sum("amount"), estimate=Sum("amount", filter=Q(kind=Kind.HOLD))).order_by())
    figures = {row["generation"]: row for row in per_generation}
    generations = Generation.objects.filter(pk__in=list(figures)[:500]).select_related("owner", "project")
    rows = [{**figures[g.pk], "generation": g} for g in generations]
    ctx = {
        "form": form,
        "totals": _totals(entries),
        "by_user": entries.values("user__username").annotate(total=Sum("amount")).order_by("-total"),
        "by_project": entries.values("project__name").annotate(total=Sum("amount")).order_by("-total"),
        "by_model": entries.values("model_id").annotate(total=Sum("amount")).order_by("-total"),
        "by_day": by_day,
        "chart": day_chart(by_day, data["date_from"], data["date_to"]) if data else None,
        "rows": rows,
        "query": request.GET.urlencode(),
        "range": data,
        "presets": presets(request),
    }
    return render(request, "audit/index.html", ctx)


@require_GET
def audit_csv(request):
    _require_admin(request)
    form, entries, data = _filtered(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="ledger.csv"'
    writer = csv.writer(response)
    writer.writerow(["created_at", "kind", "credits", "user", "project", "model", "generation", "request_id",
                     "character", "note"])
    rows = entries.select_related("user", "project", "generation").order_by("created_at", "id")
    for entry in rows:
        writer.writerow([entry.created_at.isoformat(), entry.kind, f"{entry.amount:.3f}", entry.user.username,
                         entry.project.name if entry.project else "", entry.model_id, entry.generation_id or "",
                         entry.generation.request_id if entry.generation else "", entry.character_id or "",
                         entry.note])
    writer.writerow(["total", "", f"{_totals(entries)['net']:.3f}", "", "", "", "", "", "", ""])
    return response


def _get_generation_for_admin(request, pk):
    _require_admin(request)
    return get_object_or_404(Generation.objects.select_related("owner", "project", "account"), pk=pk)


@found(_get_generation_for_admin)
@require_GET
def audit_generation(request, generation):
    entries = generation.ledger_entries.select_related("created_by").order_by("created_at", "id")
    hold = entries.filter(kind=Kind.HOLD).first()
    ctx = {"generation": generation, "entries": entries, "estimate": hold.amount if hold else None,
           "charged": ledger.net(generation), "events": generation.events.all()}
    return render(request, "audit/generation.html", ctx)


@require_GET
def reconciliation(request):
    _require_admin(request)
    balances = {}
    for reading in ProviderBalance.objects.select_related("account"):
        balances.setdefault(reading.account_id, reading)
    month_total = LedgerEntry.objects.filter(created_at__date__gte=ledger.month_start()).aggregate(
        total=Sum("amount", default=Decimal(0)))["total"]
    ctx = {"problems": ledger.discrepancies(), "balances": [ledger.BalanceNow(r) for r in balances.values()],
           "month_total": month_total,
           "strays": StrayRequest.objects.filter(confirmed=True).select_related("generation__owner",
                                                                                "generation__account")}
    return render(request, "audit/reconciliation.html", ctx)


@found(_get_generation_for_admin)
@require_POST
def reconciliation_resolve(request, generation):
    ledger.resolve(generation, by=request.user)
    messages.success(request, f"Ledger entries added for {generation.pk}.")
    return redirect("audit-reconciliation")


# --- Budgets ----------------------------------------------------------------------------

class BudgetForm(forms.Form):
    """One budget's limits, as an admin types them on the budgets page."""

    scope = forms.ChoiceField(choices=Budget.Scope.choices, widget=forms.HiddenInput)
    target = forms.IntegerField(widget=forms.HiddenInput)
    hard_limit = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=3, label="Limit",
                                    help_text="Credits that may not be passed. Empty: no limit.")
    soft_limit = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=3, label="Warn at",
                                    help_text="Credits after which the owner and admins are warned. Empty: no warning.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # the row's cells hold the inputs; its last cell the <form>
            field.widget.attrs["form"] = self.form_id

    @property
    def form_id(self):
        return f"budget-form-{self.prefix}"

    def clean(self):
        data = super().clean()
        hard, soft = data.get("hard_limit"), data.get("soft_limit")
        if hard is not None and soft is not None and soft > hard:
            self.add_error("soft_limit", "The warning has to come at or before the limit.")
        return data

    def budget(self):
        """This month's budget of the user, or the project's; None for an unknown target."""
        data = self.cleaned_data
        if data["scope"] == Budget.Scope.USER:
            user = User.objects.filter(pk=data["target"], is_active=True).first()
            return user and ledger.user_budget(user)
        project = Project.objects.filter(pk=data["target"]).first()
        return project and ledger.project_budget(project)

    def save(self, budget):
        """Change only the limits (never `spent`, which holds and refunds move at the same time);
        a new warning threshold may warn again."""
        data = self.cleaned_data
        changes = {"hard_limit": data["hard_limit"], "soft_limit": data["soft_limit"]}
        if data["soft_limit"] != budget.soft_limit:
            changes["warned_at"] = None
        Budget.objects.filter(pk=budget.pk).update(**changes)


def _budget_rows(bound=None):
    """Every active person (this month) and project, with their budget and a form to change it;
    `bound` is the form that was just posted (shown with its errors and what was typed)."""
    month = ledger.month_start()
    users = User.objects.filter(is_active=True).exclude(role=User.Role.CLIENT).order_by("username")
    budgets = {(b.scope, b.user_id or b.project_id): b for b in Budget.objects.filter(
        Q(scope=Budget.Scope.USER, month=month) | Q(scope=Budget.Scope.PROJECT))}
    latest = {}
    for b in Budget.objects.filter(scope=Budget.Scope.USER, month__lt=month).order_by("month"):
        latest[b.user_id] = b  # the newest earlier month wins: its limits carry forward
    rows = {"user": [], "project": []}
    for scope, owners in (("user", users), ("project", Project.objects.order_by("name"))):
        for owner in owners:
            budget = budgets.get((scope, owner.pk)) or (latest.get(owner.pk) if scope == "user" else None)
            spent = budget.spent if budget and (scope == "project" or budget.month == month) else Decimal(0)
            initial = {"scope": scope, "target": owner.pk, "hard_limit": budget and budget.hard_limit,
                       "soft_limit": budget and budget.soft_limit}
            if scope == "user" and budget is None:
                initial["hard_limit"] = getattr(settings, "DEFAULT_MONTHLY_CREDITS", None)
            is_bound = bound is not None and bound["scope"].value() == scope and \
                str(bound["target"].value()) == str(owner.pk)
            form = bound if is_bound else BudgetForm(initial=initial, prefix=f"{scope}-{owner.pk}")
            rows[scope].append({"owner": owner, "spent": spent, "form": form,
                                "left": None if initial["hard_limit"] is None else
                                max(Decimal(str(initial["hard_limit"])) - spent, Decimal(0)),
                                "anchor": f"budget-{scope}-{owner.pk}"})
    return rows


def budgets(request):
    """Monthly limits per person and limits per project, set and changed here."""
    _require_admin(request)
    if request.method == "POST":
        prefix = request.POST.get("prefix", "")
        form = BudgetForm(request.POST, prefix=prefix if re.fullmatch(r"(user|project)-\d+", prefix) else None)
        budget = form.budget() if form.is_valid() else None
        if form.is_valid() and budget is None:
            form.add_error(None, "That person or project no longer exists.")
        elif budget is not None:
            form.save(budget)
            limit = form.cleaned_data["hard_limit"]
            messages.success(request, f"{_owner_name(budget)}: " + (
                f"limit {limit:,.3f} credits" if limit is not None else "no limit") + ".")
            return redirect(reverse("audit-budgets") + f"#budget-{form.cleaned_data['scope']}-"
                            f"{form.cleaned_data['target']}")
        return render(request, "audit/budgets.html", {"rows": _budget_rows(form), "month": ledger.month_start()},
                      status=400)
    return render(request, "audit/budgets.html", {"rows": _budget_rows(), "month": ledger.month_start()})


def _owner_name(budget):
    if budget.scope == Budget.Scope.USER:
        return f"{budget.user.get_username()} in {budget.month:%B %Y}"
    return f"Project “{budget.project}”"


# --- Provider balance ------------------------------------------------------------------

@require_POST
def balance_refresh(request):
    """Ask the worker to read the provider balances now (a page never calls the provider)."""
    _require_admin(request)
    async_task("higgsweb.ledger.read_provider_balances", task_name="read-provider-balances")
    messages.success(request, "Reading the balance now; it shows here in a few seconds.")
    return redirect("health" if request.POST.get("next") == "health" else "audit-reconciliation")
