"""Settings mean what they say: values from the environment are parsed and checked when the
app starts, a bad one stops it with a message naming the variable, and a sqlite:/// URL is
the same SQLite as the default."""

import os
import runpy
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from generations import pipeline
from generations.models import ProviderAccount
from higgsweb import ledger

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "higgsweb" / "settings.py"


def load_settings(monkeypatch, **env):
    """The settings module as a fresh start with these environment variables would build it."""
    for name in ("DATABASE_URL", "HIGGSWEB_ENV", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_a_site_default_monthly_limit_gives_a_first_budget_that_counts(monkeypatch, settings, alice, project):
    loaded = load_settings(monkeypatch, DEFAULT_MONTHLY_CREDITS="1000")
    settings.DEFAULT_MONTHLY_CREDITS = loaded["DEFAULT_MONTHLY_CREDITS"]
    budget = ledger.user_budget(alice)
    assert budget.remaining == Decimal("1000")
    account = ProviderAccount.objects.create(name="offline", base_url="http://127.0.0.1:9")
    pipeline.start(owner=alice, project=project, model_id="higgsfield-ai/soul/standard",
                   params={"prompt": "x", "resolution": "720p"}, account=account)
    budget = ledger.user_budget(alice)
    assert Decimal("0") < budget.spent and budget.remaining == Decimal("1000") - budget.spent


@pytest.mark.parametrize(("name", "value"), [
    ("DEFAULT_MONTHLY_CREDITS", "a thousand"), ("DEFAULT_MONTHLY_CREDITS", "-5"), ("DEFAULT_MONTHLY_CREDITS", "NaN"),
    ("DEFAULT_MONTHLY_CREDITS", "0.0001"), ("Q_WORKERS", "two"), ("Q_WORKERS", "0"), ("Q_TIMEOUT", "1.5"),
    ("Q_RETRY", "-1"), ("CONN_MAX_AGE", "forever"), ("UPLOAD_MAX_BYTES", "10MB"), ("UPLOAD_MAX_PIXELS", "0"),
    ("PIPELINE_CLAIM_SECONDS", "soon"), ("NOTIFY_AWAY_MINUTES", "-1"), ("SIM_PORT", "70000"),
    ("AXES_FAILURE_LIMIT", "0"), ("DEBUG", "maybe"), ("HIGGSWEB_ENV", "prod"),
    ("HIGGSFIELD_UPLOAD_INPUTS", "sometimes"), ("LOG_FORMAT", "xml"),
])
def test_a_bad_value_stops_the_start_naming_the_variable(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=f"{name}='{value}'"):
        load_settings(monkeypatch, **{name: value})


def test_a_task_timeout_that_reaches_the_redelivery_time_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match=r"Q_TIMEOUT \(200\) must be smaller than Q_RETRY \(180\)"):
        load_settings(monkeypatch, Q_TIMEOUT="200")


def test_good_values_are_numbers_and_empty_ones_keep_the_default(monkeypatch):
    loaded = load_settings(monkeypatch, Q_WORKERS="4", Q_TIMEOUT="60", Q_RETRY="90", CONN_MAX_AGE="0",
                           NOTIFY_AWAY_MINUTES="", DEFAULT_MONTHLY_CREDITS="250.5", PIPELINE_CLAIM_SECONDS="")
    assert loaded["Q_CLUSTER"]["workers"] == 4 and loaded["Q_CLUSTER"]["timeout"] == 60
    assert loaded["CONN_MAX_AGE"] == 0 and loaded["NOTIFY_AWAY_MINUTES"] == 5
    assert loaded["DEFAULT_MONTHLY_CREDITS"] == Decimal("250.5")
    assert loaded["PIPELINE_CLAIM_SECONDS"] == 90


def test_the_process_refuses_to_start_with_the_message(tmp_path):
    env = {**os.environ, "DATABASE_URL": "", "SQLITE_PATH": str(tmp_path / "x.sqlite3"), "Q_WORKERS": "many"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "ImproperlyConfigured: The environment variable Q_WORKERS='many' is not valid" in result.stderr


def test_a_sqlite_url_gets_the_same_settings_as_the_default_sqlite(monkeypatch, tmp_path):
    default = load_settings(monkeypatch, SQLITE_PATH=str(tmp_path / "a.sqlite3"))["DATABASES"]["default"]
    by_url = load_settings(monkeypatch, DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}")["DATABASES"]["default"]
    assert by_url["OPTIONS"] == default["OPTIONS"]
    assert by_url["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert by_url["CONN_MAX_AGE"] == default["CONN_MAX_AGE"] and by_url["CONN_HEALTH_CHECKS"]
    assert by_url["TEST"] == default["TEST"]


PRAGMAS = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode"); mode = cursor.fetchone()[0]
    cursor.execute("PRAGMA busy_timeout"); busy = cursor.fetchone()[0]
print(mode, busy, connection.transaction_mode)
"""


@pytest.mark.parametrize("how", ["default", "url"])
def test_a_sqlite_database_opens_in_wal_mode_with_a_busy_timeout(tmp_path, how):
    path = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": "", "SQLITE_PATH": str(path)} if how == "default" else \
        {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-v0", "-c", PRAGMAS], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20000", "IMMEDIATE"]
