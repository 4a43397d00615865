"""Measure the pipeline end to end on this machine: a web server, a worker cluster and the
simulator, on a throwaway database. Reports webhook-to-gallery latency (from the moment the
simulator's completion webhook is answered to the moment the gallery card, fetched as its
owner, shows the archived result) and provider calls per job."""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from higgsweb.simulator.app import Config, Simulator
from higgsweb.simulator.server import SimulatorServer

SETUP = """
import json
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from generations.models import Generation
from higgsweb.models import Project, User
user = User.objects.create_user("bench", password="bench-pass-123", role="member")
project = Project.objects.create(name="Benchmark")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
ids = [str(Generation.objects.start(owner=user, project=project, model_id="higgsfield-ai/soul/standard",
        params={"prompt": f"benchmark {i}", "aspect_ratio": "1:1", "resolution": "720p", "batch_size": BATCH,
                "seed": i + 1}).pk) for i in range(JOBS)]
print(json.dumps({"session": session.session_key, "ids": ids}))
"""


REQUEST_IDS = """
import json
from generations.models import Generation
print(json.dumps({str(pk): rid for pk, rid in Generation.objects.values_list("pk", "request_id")}))
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Benchmark webhook-to-gallery latency and provider calls per job against the simulator."

    def add_arguments(self, parser):
        parser.add_argument("--jobs", type=int, default=20)
        parser.add_argument("--batch", type=int, default=1, choices=[1, 4])
        parser.add_argument("--workers", type=int, default=3)
        parser.add_argument("--timeout", type=float, default=180)
        parser.add_argument("--drop-webhooks", action="store_true",
                            help="The simulator sends no webhooks: results arrive by polling only.")

    def handle(self, *args, jobs, batch, workers, timeout, drop_webhooks, **options):
        root = Path(settings.BASE_DIR)
        tmp = Path(tempfile.mkdtemp(prefix="higgsweb-bench-"))
        web_port = free_port()
        sim = Simulator(Config(keys={"sim-key": "sim-secret"}, webhook_secrets=[settings.HIGGSFIELD_WEBHOOK_SECRET],
                               queue_seconds=0.5, run_seconds=1.5))
        sim.config.faults["webhook_drop"] = drop_webhooks
        server = SimulatorServer(sim).start()
        env = {**os.environ, "DATABASE_URL": "", "SQLITE_PATH": str(tmp / "bench.sqlite3"),
               "MEDIA_ROOT": str(tmp / "media"), "HIGGSFIELD_API_KEY": "", "SIMULATOR_URL": server.url,
               "HIGGSFIELD_BASE_URL": server.url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
               "HIGGSFIELD_WEBHOOK_SECRET": settings.HIGGSFIELD_WEBHOOK_SECRET, "Q_WORKERS": str(workers),
               "Q_NAME": f"bench-{web_port}", "AXES_ENABLED": "False", "REDIS_URL": ""}
        manage = [sys.executable, str(root / "manage.py")]
        procs = []
        try:
            subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, cwd=root, check=True)
            procs.append(subprocess.Popen([*manage, "runserver", f"127.0.0.1:{web_port}", "--noreload"], env=env,
                                          cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
            code = SETUP.replace("BATCH", str(batch)).replace("JOBS", str(jobs))
            out = subprocess.run([*manage, "shell", "-v0", "-c", code], env=env, cwd=root, check=True,
                                 capture_output=True, text=True).stdout
            setup = json.loads(out.strip().splitlines()[-1])
            started = time.time()
            procs.append(subprocess.Popen([*manage, "worker"], env=env, cwd=root, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            shown = self.watch_cards(web_port, setup, timeout)
            elapsed = time.time() - started
            out = subprocess.run([*manage, "shell", "-v0", "-c", REQUEST_IDS], env=env, cwd=root, check=True,
                                 capture_output=True, text=True).stdout
            request_ids = json.loads(out.strip().splitlines()[-1])
        finally:
            for proc in procs:
                os.killpg(proc.pid, signal.SIGKILL)  # a throwaway database; nothing to finish cleanly
                proc.wait(timeout=30)
            server.stop()
        self.report(sim, request_ids, shown, elapsed, jobs, batch, workers)

    def watch_cards(self, port, setup, timeout):
        """Fetch each pending card like the page does; note when it first shows the saved result."""
        shown, pending = {}, set(setup["ids"])
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for pk in list(pending):
                request = urllib.request.Request(f"http://127.0.0.1:{port}/g/{pk}/card/",
                                                 headers={"Cookie": f"sessionid={setup['session']}",
                                                          "HX-Request": "true"})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                        status = response.status
                except urllib.error.HTTPError as exc:
                    status = exc.code
                except OSError:
                    continue  # the web server is still starting
                if status == 286:
                    shown[pk] = time.time()
                    pending.discard(pk)
            time.sleep(0.1)
        return shown

    def report(self, sim, request_ids, shown, elapsed, jobs, batch, workers):
        latencies = [shown[pk] - sim.webhook_delivered_at[rid] for pk, rid in request_ids.items()
                     if pk in shown and rid in sim.webhook_delivered_at]
        # From the moment the provider finished the job (whatever told us) to the saved card.
        finished = [shown[pk] - sim.jobs[rid].finished_at(sim) for pk, rid in request_ids.items()
                    if pk in shown and rid in sim.jobs]
        calls = dict(sim.calls)
        api_calls = sum(n for route, n in calls.items() if route in ("submit", "status", "cancel"))
        lines = [
            f"jobs: {jobs} (batch {batch}), worker processes: {workers}, finished in the gallery: {len(shown)}",
            f"wall time from worker start to last card: {elapsed:.1f} s",
            f"provider API calls per job: {api_calls / max(1, jobs):.2f} "
            f"(submit {calls.get('submit', 0)}, status {calls.get('status', 0)}, cancel {calls.get('cancel', 0)})",
            f"media downloads per job: {calls.get('media_file', 0) / max(1, jobs):.2f}",
            f"webhooks answered 2xx: {len(sim.webhook_delivered_at)}",
        ]
        if finished:
            lines.append(f"provider-finished-to-gallery latency: median {statistics.median(finished):.2f} s, "
                         f"max {max(finished):.2f} s")
        if latencies:
            lines.append(f"webhook-to-gallery latency: median {statistics.median(latencies):.2f} s, "
                         f"p90 {sorted(latencies)[int(len(latencies) * 0.9) - 1]:.2f} s, "
                         f"max {max(latencies):.2f} s")
        self.stdout.write("\n".join(lines))
