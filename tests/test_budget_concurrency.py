"""1,000 attempts from several processes, each with its own connection, against a real
database, to spend from a budget that fits 100: exactly 100 get through."""

import multiprocessing
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from generations.pricing import estimate_credits
from tests import spend_worker

PROCESSES, ATTEMPTS, FITS = 4, 1000, 100
COST = estimate_credits(spend_worker.MODEL, spend_worker.PARAMS)
ROOT = Path(__file__).resolve().parent.parent


def race(db_env, seeded=None):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(PROCESSES) as pool:
        users, project_id, account_id = seeded or pool.apply(spend_worker.seed, (db_env, COST * FITS))
        jobs = [pool.apply_async(spend_worker.attempt, (db_env, users[n % len(users)], project_id, account_id,
                                                        ATTEMPTS // PROCESSES)) for n in range(PROCESSES)]
        through = sum(job.get(timeout=120) for job in jobs)
        result = pool.apply(spend_worker.totals, (db_env, project_id))
    assert through == FITS
    assert result["generations"] == result["holds"] == FITS
    assert Decimal(result["project_spent"]) == COST * FITS
    for pk, spent in result["budgets"].items():
        assert Decimal(spent) == Decimal(result["sums"][pk])


@pytest.mark.slow
@pytest.mark.skipif(not settings.IS_SQLITE, reason="the SQLite variant runs when the suite runs on SQLite")
def test_parallel_submits_never_overspend_a_budget_on_sqlite(tmp_path):
    path = tmp_path / "race.sqlite3"
    env = {"DJANGO_SETTINGS_MODULE": "higgsweb.settings", "DATABASE_URL": "", "SQLITE_PATH": str(path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True,
                   env={**os.environ, **env})
    race(env)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(settings.IS_SQLITE, reason="needs DATABASE_URL pointing at PostgreSQL")
def test_parallel_submits_never_overspend_a_budget_on_postgresql():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    race({"DJANGO_SETTINGS_MODULE": "higgsweb.settings", "DATABASE_URL": url})
