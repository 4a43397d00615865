"""gunicorn's settings for production (`gunicorn higgsweb.wsgi -c python:higgsweb.gunicorn_conf`,
as Procfile.production runs it). Options given on the command line win over these.

WEB_CONCURRENCY worker processes (default: one per core), each with WEB_THREADS threads
(default 4; 1 gives gunicorn's plain sync workers). Threads let one process overlap requests
that wait — on the database's write lock, on the network — without the memory of another
process; processes use the other cores."""

import gc
import os

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 1)
threads = int(os.environ.get("WEB_THREADS") or 4)
timeout = 60


def post_worker_init(worker):
    """Once a worker has loaded the app, its modules, templates and settings live as long as it
    does: freezing them keeps the garbage collector's full passes (a few ms each, in the middle
    of some request) to what requests allocate."""
    gc.freeze()
