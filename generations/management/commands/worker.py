import contextlib
import gc
import logging
import math
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections
from django_q.tasks import async_task

from characters.models import Style

log = logging.getLogger("generations.worker")


def wait_for_provider(seconds=15):
    """With the simulator starting beside the worker, give it a moment to listen."""
    parts = urlsplit(settings.HIGGSFIELD_BASE_URL)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((parts.hostname, parts.port or 80), timeout=1):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def preload():
    """Import and build, once, what the tasks use, before the cluster forks its processes:
    forked pages stay shared until written, so each worker does not hold (and pay for) its
    own copy of the task modules, Pillow's codecs, the URL map, the model catalogue and the
    CA bundle of the TLS context."""
    from django.urls import reverse

    import characters.tasks  # noqa: F401
    import generations.tasks  # noqa: F401
    from generations import catalogue
    from generations.higgsfield.client import tls_context

    tls_context()
    catalogue.all_models()
    reverse("webhook-higgsfield")
    connections.close_all()  # a connection must not be shared with the forked processes
    # Objects made so far are never collected: the collector would otherwise write to their
    # pages in every process and unshare them.
    gc.freeze()


def cluster_running(cluster):
    return cluster.stop_event is not None and cluster.sentinel.is_alive()


def sweep_while(running):
    """The sweeper, in this process rather than in one of the cluster's: once a second it
    enqueues every overdue step (and beats for the health page) until `running()` is false.
    A failing pass (the database away for a moment) is logged and tried again."""
    from generations import tasks

    while running():
        try:
            tasks.sweep(seconds=math.inf, running=running)
        except Exception:  # the next pass starts on a fresh connection
            log.exception("sweeper pass failed; trying again")
            time.sleep(1)


# How long a stopping cluster may take beyond its task timeout (the monitor saves the last
# results, the processes exit) before it is killed.
STOP_GRACE = 5


class StopSignals:
    """SIGTERM and SIGINT only note that a stop was asked for; the main loop then stops the
    cluster. django-q2's own handlers stop it from inside the signal handler, which can wait
    forever (see stop_cluster)."""

    def __init__(self):
        self.requested = None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.handle)

    def handle(self, signum, frame):
        self.requested = self.requested or signal.Signals(signum).name


def cluster_processes(pid):
    """Pids of the processes `pid` started (Linux /proc; none elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            state, parent = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if int(parent) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def stop_cluster(cluster, grace):
    """Stop the cluster and wait for it, never longer than `grace` seconds.

    A stop sets the Event the cluster's sentinel sleeps on, and setting a multiprocessing
    Event waits until every process sleeping on it has woken. When the signal went to the
    whole process group, the sentinel (which keeps the default SIGTERM action) is already
    dead in its sleep and never wakes, so django-q2's own stop, called from the signal
    handler, left this process waiting on a futex beside a zombie. Here the Event is set
    from a thread that may be left waiting, this process waits for the sentinel's exit
    instead, and a cluster still running after `grace` (a task past its timeout in code
    that cannot be interrupted) is killed with its processes. A step cut short keeps its
    lease only until the lease runs out; the next worker takes it from there."""
    sentinel = cluster.sentinel
    if sentinel is None:
        return
    if cluster.stop_event is not None:
        threading.Thread(target=cluster.stop_event.set, name="stop-cluster", daemon=True).start()
    wait([sentinel.sentinel], timeout=grace)
    if sentinel.is_alive():
        log.error("the cluster did not stop within %s s; killing it", grace)
        for pid in [*cluster_processes(sentinel.pid), sentinel.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    sentinel.join(5)
    log.info("worker stopped")


class Command(BaseCommand):
    help = ("Start the django-q2 worker cluster, and sweep for overdue steps once a second in this process "
            "while it runs (so every cluster process is free for tasks). A sync of the style and motion lists "
            "is queued first when none are stored yet. SIGTERM or Ctrl-C stops it within Q_TIMEOUT and a few "
            "seconds.")

    def handle(self, *args, **options):
        from django_q.cluster import Cluster

        if not Style.objects.exists():
            if settings.USE_SIMULATOR:
                wait_for_provider()
            async_task("characters.tasks.sync_catalogues", task_name="sync-catalogues-at-start")
        from higgsweb.models import WorkerHeartbeat

        # Named before the cluster forks, so the steps its processes run carry the name on their
        # leases; the first beat comes before any step can take one.
        WorkerHeartbeat.name_this_worker()
        WorkerHeartbeat.beat()
        preload()
        cluster = Cluster()
        stop = StopSignals()  # replaces the handlers Cluster() installed
        try:
            cluster.start()
        except RuntimeError:  # the sentinel died while starting: by the same signal, or a real failure
            if not stop.requested:
                raise
        sweep_while(lambda: not stop.requested and cluster_running(cluster))
        grace = settings.Q_CLUSTER["timeout"] + STOP_GRACE
        log.info("stopping on %s (at most %s s)", stop.requested or "the end of the cluster", grace)
        stop_cluster(cluster, grace)
