"""A real django-q2 cluster, killed with SIGKILL in the middle of a submit or a download,
then started again: the job still finishes, once, with its outputs saved once, and soon —
within RECOVERY_BOUND seconds of the new worker starting, with the production timeouts (a task
timeout of 120 s and claims of 180 s): the dead worker's lease and claim are freed once its
heartbeat goes stale, not when they run out.

The cluster runs as a separate process group on its own database (a SQLite file, or a
fresh PostgreSQL database when the suite runs on PostgreSQL) and its own queue name."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from higgsweb.simulator.app import Config, Simulator
from higgsweb.simulator.server import SimulatorServer
from tests.conftest import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parent.parent
# Generous: the heartbeat goes stale 15 s after the kill, and the next sweep takes over.
RECOVERY_BOUND = 60
# The defaults a deployment runs with; the crash tests run under them (the world's own short
# ones, which other tests rely on, would let a lease or claim run out within the bound anyway).
PRODUCTION_TIMEOUTS = {"Q_TIMEOUT": "120", "Q_RETRY": "180", "PIPELINE_CLAIM_SECONDS": "180"}
pytestmark = pytest.mark.slow

CREATE = """
from generations import pipeline
from higgsweb.models import Project, User
user = User.objects.create_user("kim", password="pw-kim-1234", role="member")
project = Project.objects.create(name="Crash test")
g = pipeline.start(owner=user, project=project, model_id="higgsfield-ai/soul/standard",
    params={"prompt": "a lantern", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": 4, "seed": 9})
print(g.pk)
"""


class Database:
    """The cluster's own database, readable from the test without Django."""

    def __init__(self, tmp_path):
        url = os.environ.get("DATABASE_URL", "")
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.name = "hw_crash_" + uuid.uuid4().hex[:8]
            self.admin_url = url
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {self.name}")
            self.url = url.rsplit("/", 1)[0] + "/" + self.name
            self.env = {"DATABASE_URL": self.url}
        else:
            self.path = tmp_path / "crash.sqlite3"
            self.env = {"DATABASE_URL": "", "SQLITE_PATH": str(self.path)}

    def one(self, sql, *args):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return conn.execute(sql.replace("?", "%s"), args).fetchone()
        with sqlite3.connect(self.path, timeout=20) as conn:
            return conn.execute(sql, args).fetchone()

    def drop(self):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@pytest.fixture
def world(tmp_path):
    sim = Simulator(Config(keys={"sim-key": "sim-secret"}, webhook_secrets=[WEBHOOK_SECRET],
                           queue_seconds=0.2, run_seconds=0.3, webhook_attempts=1,
                           allow_loopback_webhooks=True))
    server = SimulatorServer(sim).start()
    db = Database(tmp_path)
    env = {**os.environ, **db.env, "MEDIA_ROOT": str(tmp_path / "media"), "HIGGSFIELD_API_KEY": "",
           "SIMULATOR_URL": server.url, "HIGGSFIELD_BASE_URL": server.url, "HIGGSFIELD_ALLOW_LOCAL_MEDIA": "true",
           "HIGGSFIELD_WEBHOOK_SECRET": WEBHOOK_SECRET, "PUBLIC_BASE_URL": "http://127.0.0.1:9",
           "Q_NAME": "crash-" + uuid.uuid4().hex[:8], "Q_WORKERS": "2", "Q_TIMEOUT": "8", "Q_RETRY": "12",
           "PIPELINE_CLAIM_SECONDS": "3", "DJANGO_SETTINGS_MODULE": "higgsweb.settings"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT, timeout=120)
    out = subprocess.run([*manage, "shell", "-v0", "-c", CREATE], env=env, check=True, cwd=ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    world = {"sim": sim, "db": db, "env": env, "manage": manage, "id": out.strip().splitlines()[-1],
             "workers": []}
    yield world
    for proc in world["workers"]:
        stop(proc)
    server.stop()
    db.drop()


def start_worker(world):
    proc = subprocess.Popen([*world["manage"], "worker"], env=world["env"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    world["workers"].append(proc)
    return proc


def stop(proc, sig=signal.SIGTERM):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for(check, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def generation_row(world):
    pk = world["id"].replace("-", "") if not world["db"].postgres else world["id"]
    return world["db"].one("SELECT status, archived, request_id FROM generations_generation WHERE id = ?", pk)


def test_a_worker_killed_mid_submit_loses_nothing_and_submits_once(world):
    sim = world["sim"]
    world["env"].update(PRODUCTION_TIMEOUTS)
    sim.config.faults["submit_delay_seconds"] = 6  # the provider has the job; the answer is slow
    worker = start_worker(world)
    assert wait_for(lambda: len(sim.jobs) == 1, 45), "the worker never submitted"
    stop(worker, signal.SIGKILL)
    sim.config.faults["submit_delay_seconds"] = 0
    assert generation_row(world)[0] == "submitting"

    started = time.monotonic()
    start_worker(world)
    assert wait_for(lambda: generation_row(world)[1] in (True, 1), RECOVERY_BOUND), \
        f"not recovered within {RECOVERY_BOUND} s: {generation_row(world)}"
    print(f"recovered {time.monotonic() - started:.1f} s after the new worker started")
    status, _, request_id = generation_row(world)
    assert status == "completed"
    assert len(sim.jobs) == 1  # the resend carried the same Idempotency-Key
    assert request_id in sim.jobs
    outputs = world["db"].one("SELECT COUNT(*), COUNT(DISTINCT position) FROM generations_output")
    assert outputs == (4, 4)


def test_a_worker_killed_mid_download_saves_the_outputs_once(world):
    sim = world["sim"]
    world["env"].update(PRODUCTION_TIMEOUTS)
    sim.config.faults["media_delay_seconds"] = 30  # downloads hang
    worker = start_worker(world)
    assert wait_for(lambda: sim.media_requests > 0, 45), "the worker never started downloading"
    stop(worker, signal.SIGKILL)
    sim.config.faults["media_delay_seconds"] = 0
    assert generation_row(world)[:2] in (("completed", False), ("completed", 0))

    started = time.monotonic()
    start_worker(world)
    assert wait_for(lambda: generation_row(world)[1] in (True, 1), RECOVERY_BOUND), \
        f"not recovered within {RECOVERY_BOUND} s: {generation_row(world)}"
    print(f"recovered {time.monotonic() - started:.1f} s after the new worker started")
    assert len(sim.jobs) == 1
    saved = world["db"].one("SELECT COUNT(*) FROM generations_output WHERE archived_at IS NOT NULL")
    assert saved == (4,)
    files = list((Path(world["env"]["MEDIA_ROOT"]) / "outputs").rglob("*.png"))
    assert len(files) >= 4
