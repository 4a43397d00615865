"""Audit pages for admins: spend by user, project, model and day; drill-down to each
generation; CSV of the same filtered ledger; reconciliation. Everyone else gets 404."""

import csv
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from generations.models import Generation
from higgsweb import ledger
from higgsweb.access import found
from higgsweb.models import LedgerEntry, Project, ProviderBalance, User

Kind = LedgerEntry.Kind
CHART_W, CHART_H, MAX_CHART_DAYS = 720, 160, 120


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


def day_chart(by_day, date_from, date_to):
    """Bars for a server-rendered SVG: one per day of the range, scaled to the busiest day."""
    totals = {row["day"]: row["total"] for row in by_day}
    start = max(date_from, date_to - timedelta(days=MAX_CHART_DAYS - 1))
    days = [start + timedelta(days=n) for n in range((date_to - start).days + 1)]
    peak = max([t for t in totals.values() if t > 0], default=Decimal(1))
    step = CHART_W / len(days)
    bars = []
    for i, day in enumerate(days):
        total = totals.get(day, Decimal(0))
        height = round(float(max(total, 0) / peak) * (CHART_H - 20), 1)
        bars.append({"day": day, "total": total, "x": round(i * step, 1), "width": round(max(step - 2, 1), 1),
                     "y": round(CHART_H - height, 1), "height": height})
    return {"bars": bars, "width": CHART_W, "height": CHART_H, "peak": peak}


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
    ctx = {"problems": ledger.discrepancies(), "balances": balances.values(), "month_total": month_total}
    return render(request, "audit/reconciliation.html", ctx)


@found(_get_generation_for_admin)
@require_POST
def reconciliation_resolve(request, generation):
    ledger.resolve(generation, by=request.user)
    messages.success(request, f"Ledger entries added for {generation.pk}.")
    return redirect("audit-reconciliation")
