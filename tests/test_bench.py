"""`make bench` at toy sizes, so the harness cannot rot: every figure reaches RESULTS.md."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_writes_every_figure(tmp_path):
    out = tmp_path / "RESULTS.md"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--sizes", "20,40", "--webhooks", "20", "--jobs", "5",
         "--browser-jobs", "0", "--requests", "5", "--tabs", "2", "--feed-seconds", "1", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text()
    for figure in ("card fragment", "list fragment", "'nothing changed' card poll", "gallery page",
                   "verified webhooks per second", "webhook p99", "provider API calls per completed job",
                   "5 jobs through the worker", "peak memory, web",
                   "server CPU per idle open gallery", "'nothing new' feed poll", "peak memory, worker", "## Machine"):
        assert figure in text, figure
    assert "| 40 | unchanged | 204 | 3 |" in text  # the nothing-changed poll, in three queries
    assert "20/20" in text  # every webhook verified and answered
    assert "5 archived" in text  # every job through the worker


@pytest.mark.slow
def test_only_runs_the_parts_asked_for_and_says_which_were_left_out(tmp_path):
    out = tmp_path / "RESULTS.md"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--only", "drain,memory", "--jobs", "3", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text()
    assert "Parts not run (`--only`): gallery, livefeed, webhooks, browser, recovery." in text
    assert "3 jobs through the worker" in text and "peak memory, worker" in text
    assert "card fragment" not in text and "verified webhooks per second" not in text


def test_only_refuses_a_part_it_does_not_know():
    result = subprocess.run([sys.executable, "-m", "bench.run", "--only", "drain,gallerie"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown part(s) gallerie" in result.stderr
