"""`make soak` in small: 10 jobs through the simulator's chaos switches with forged webhooks
beside them and one SIGKILL of the worker; every invariant the soak prints must hold (it exits
non-zero otherwise). Runs on the suite's database server (SQLite, or DATABASE_URL's with a
`_bench` database of its own) and broker."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_ten_jobs_through_chaos_and_a_kill_all_end_final_once_with_a_balanced_ledger():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-m", "bench.soak", "--jobs", "10", "--kills", "1", "--forgeries", "8",
                           "--phase", "3", "--recovery-limit", "90", "--timeout", "240"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=420)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, "\n".join(lines[-10:]) + done.stderr[-2000:]
    assert lines[-1] == "PASS"
    assert sum(line.startswith("ok ") for line in lines) == 6
