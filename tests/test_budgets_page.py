"""Spend in view: admins set budgets on the audit pages (not only in Django admin) and members
see what is left; the spend chart has axes, labels and presets; the provider balance says how
old it is, what the ledger recorded since, and can be read again on demand."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from generations import pipeline
from generations.models import Generation
from higgsweb import audit, ledger
from higgsweb.models import Budget, ProviderBalance

URL = "/audit/budgets/"
SOUL = {"model": "higgsfield-ai/soul/standard", "prompt": "a red kite", "aspect_ratio": "1:1",
        "resolution": "720p", "batch_size": "1"}


def set_limits(client, scope, target, hard="", soft=""):
    prefix = f"{scope}-{target.pk}"
    return client.post(URL, {"prefix": prefix, f"{prefix}-scope": scope, f"{prefix}-target": target.pk,
                             f"{prefix}-hard_limit": hard, f"{prefix}-soft_limit": soft})


@pytest.mark.parametrize("who", [None, "alice", "carol"])
def test_only_admins_see_or_change_budgets(client, alice, carol, who):
    if who:
        client.force_login({"alice": alice, "carol": carol}[who])
    assert client.get(URL).status_code == 404
    assert set_limits(client, "user", alice, hard="999").status_code == 404
    assert not Budget.objects.exists()


def test_an_admin_sets_a_monthly_limit_and_the_member_sees_it_in_the_studio(client, admin_user, alice, project):
    client.force_login(admin_user)
    page = client.get(URL).content.decode()
    assert 'id="budget-user-' in page and "alice" in page and "Spring campaign" in page
    response = set_limits(client, "user", alice, hard="20", soft="15")
    assert response.status_code == 302 and response["Location"].endswith(f"#budget-user-{alice.pk}")
    budget = Budget.objects.get(user=alice)
    assert (budget.month, budget.hard_limit, budget.soft_limit) == (ledger.month_start(), 20, 15)
    client.force_login(alice)
    html = client.get("/studio/cost/", {**SOUL, "project": project.pk}).content.decode()
    assert "<strong>20 credits</strong> left this month" in html


def test_changing_a_limit_keeps_what_was_spent_and_a_new_warning_level_warns_again(client, admin_user, alice,
                                                                                    project):
    generation = pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                                params={"prompt": "x"})
    budget = Budget.objects.get(scope="user", user=alice)
    Budget.objects.filter(pk=budget.pk).update(soft_limit=1, warned_at=timezone.now())
    client.force_login(admin_user)
    set_limits(client, "user", alice, hard="100", soft="50")
    budget.refresh_from_db()
    assert budget.spent == ledger.net(generation) > 0
    assert (budget.hard_limit, budget.soft_limit, budget.warned_at) == (100, 50, None)
    set_limits(client, "user", alice, hard="", soft="")
    budget.refresh_from_db()
    assert budget.hard_limit is None and budget.soft_limit is None


@pytest.mark.parametrize("hard, soft, message", [
    ("10", "20", "The warning has to come at or before the limit."),
    ("-5", "", "greater than or equal to 0"),
    ("lots", "", "Enter a number."),
])
def test_a_bad_limit_is_shown_on_its_row_and_changes_nothing(client, admin_user, alice, project, hard, soft, message):
    client.force_login(admin_user)
    response = set_limits(client, "user", alice, hard=hard, soft=soft)
    assert response.status_code == 400
    html = response.content.decode()
    row = html[html.index(f'id="budget-user-{alice.pk}"'):]
    row, errors = row.split("</tr>")[:2]  # the row with what was typed, then its errors under it
    assert f'value="{hard}"' in row and 'aria-invalid="true"' in row and message in errors
    assert not Budget.objects.filter(hard_limit__isnull=False).exists()


def test_a_project_budget_set_on_the_page_refuses_a_job_that_would_pass_it(client, admin_user, alice, project,
                                                                          monkeypatch):
    monkeypatch.setattr("generations.pipeline.enqueue", lambda step, pk: None)
    client.force_login(admin_user)
    set_limits(client, "project", project, hard="2")
    client.force_login(alice)
    html = client.get("/studio/cost/", {**SOUL, "project": project.pk, "batch_size": "4"}).content.decode()
    assert f"<strong>2 credits</strong> left project “{project}”" in html and "would be refused" in html
    html = client.post("/generations/new/", {**SOUL, "project": project.pk, "batch_size": "4"},
                       headers={"HX-Request": "true"}).content.decode()
    assert "Over budget" in html and 'data-form-error' in html
    assert not Generation.objects.exists()


def test_the_audit_pages_link_to_budgets(client, admin_user):
    client.force_login(admin_user)
    for url in ("/audit/", "/audit/reconciliation/", URL):
        assert 'href="/audit/budgets/"' in client.get(url).content.decode()


def test_a_one_day_chart_is_a_bar_with_axes_and_labels(client, admin_user, alice, project):
    pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                   params={"prompt": "x", "batch_size": 4})  # 6 credits held today
    today = timezone.localdate()
    client.force_login(admin_user)
    html = client.get("/audit/", {"date_from": today.isoformat(), "date_to": today.isoformat()}).content.decode()
    chart = html[html.index('<svg class="chart"'):html.index("</svg>")]
    bars = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="([\d.]+)"', chart)
    assert len(bars) == 1 and float(bars[0][0]) <= audit.MAX_BAR and float(bars[0][1]) > 0
    assert re.search(r'text-anchor="end"[^>]*>10</text>', chart)  # the y axis rounds 6 up to 10
    assert f">{today:%-d %b}</text>" in chart  # the day under its bar
    assert 'class="bar-label"' in chart and ">6</text>" in chart  # its figure on it
    assert "<title" in chart


def test_long_ranges_label_only_some_days_and_presets_keep_the_filters(client, admin_user, alice):
    chart = audit.day_chart([], timezone.localdate() - timedelta(days=89), timezone.localdate())
    assert len(chart["bars"]) == 90 and 8 <= sum(bar["label"] for bar in chart["bars"]) <= 10
    assert not chart["show_values"]
    client.force_login(admin_user)
    html = client.get("/audit/", {"user": alice.pk}).content.decode()
    presets = html[html.index('class="presets"'):html.index("</nav>", html.index('class="presets"'))]
    for label in ("Last 7 days", "Last 30 days", "Last 90 days", "This month"):
        assert label in presets
    assert presets.count(f"user={alice.pk}") == 4
    assert re.search(r'aria-current="true">This month<', presets)


def test_an_old_balance_says_its_age_and_what_the_ledger_recorded_since(client, admin_user, alice, project, account):
    ProviderBalance.objects.create(account=account, credits=Decimal("1000"),
                                   read_at=timezone.now() - timedelta(minutes=13))
    for _ in range(2):
        generation = pipeline.start(owner=alice, project=project, account=account,
                                    model_id="higgsfield-ai/soul/standard", params={"prompt": "x", "batch_size": 4})
        ledger.confirm(generation)
    client.force_login(admin_user)
    for url in ("/health/", "/audit/reconciliation/"):
        html = client.get(url).content.decode()
        balance = html[html.index("data-balance"):]
        balance = balance[:balance.index("</div>")]
        assert "<strong>1,000.000</strong> credits" in balance and "13\xa0minutes ago" in balance
        assert 'class="balance-age stale"' in balance
        assert "recorded 12.000 credits" in balance and "about 988.000</strong> now" in balance


def test_an_admin_reads_the_balance_again_from_the_page(client, admin_user, alice, simulator, account):
    ProviderBalance.objects.create(account=account, credits=Decimal("1000"),
                                   read_at=timezone.now() - timedelta(minutes=13))
    simulator.set_balance("test-key", Decimal("954"))
    client.force_login(alice)
    assert client.post("/audit/balance/refresh/").status_code == 404
    client.force_login(admin_user)
    response = client.post("/audit/balance/refresh/", {"next": "health"})
    assert response["Location"] == "/health/"
    assert ProviderBalance.objects.first().credits == Decimal("954")  # the task ran (inline in tests)
    assert "<strong>954.000</strong> credits" in client.get("/health/").content.decode()
