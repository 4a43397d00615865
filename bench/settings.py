"""Settings for the benchmark's own processes: the app's settings, plus the bare baseline
views in front of the middleware, so app and baseline are served by the same process."""

import os

from higgsweb.settings import *  # noqa: F403
from higgsweb.settings import MIDDLEWARE, Q_CLUSTER, STATIC_ROOT

# Every response says how long Django took; paths under /_bench/ are answered by bench.bare
# before any of the app's middleware runs.
MIDDLEWARE = ["bench.bare.TimingMiddleware", "bench.bare.BareMiddleware", *MIDDLEWARE]
# Keep every task result, so the drain can count finished tasks (the app keeps the last 500).
# It applies to the no-op drain and to the app's jobs alike.
Q_CLUSTER = {**Q_CLUSTER, "save_limit": 0}
STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", STATIC_ROOT)
