import gc
import logging
import math
import socket
import time
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


class Command(BaseCommand):
    help = ("Start the django-q2 worker cluster, and sweep for overdue steps once a second in this process "
            "while it runs (so every cluster process is free for tasks). A sync of the style and motion lists "
            "is queued first when none are stored yet.")

    def handle(self, *args, **options):
        from django_q.cluster import Cluster

        if not Style.objects.exists():
            if settings.USE_SIMULATOR:
                wait_for_provider()
            async_task("characters.tasks.sync_catalogues", task_name="sync-catalogues-at-start")
        preload()
        cluster = Cluster()  # takes over SIGTERM and SIGINT: they stop the cluster, then this loop ends
        cluster.start()
        sweep_while(lambda: cluster_running(cluster))
