"""Verified webhooks per second: correctly signed Standard Webhooks deliveries ("completed",
with outputs) for running generations, posted by a few concurrent clients to the web
process, beside the bare view that makes one INSERT per request under the same load.
Each delivery comes on a new connection, as the simulator's (and a provider's) do."""

import json
import statistics
import threading
import time
import uuid

import httpx
from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker

from bench.gallery import percentile
from generations.models import Generation


def running_generations(user, project, account, count):
    """Generations the provider is working on, each with its request id."""
    now = timezone.now()
    generations = [Generation(owner=user, project=project, account=account, model_id="higgsfield-ai/soul/standard",
                              params={"prompt": f"webhook target {i}", "aspect_ratio": "1:1", "resolution": "720p",
                                      "batch_size": 1, "seed": i + 1},
                              request_id=str(uuid.uuid4()), status="in_progress", submitted_at=now,
                              started_at=now, next_action_at=None)
                   for i in range(count)]
    Generation.objects.bulk_create(generations, batch_size=1000)
    return generations


def deliveries(sim, generations):
    """(body, headers) per generation, signed the way the simulator signs them."""
    signed = []
    for generation in generations:
        body = json.dumps({
            "status": "completed", "request_id": generation.request_id,
            "images": [{"url": f"{sim.url}/_media/{generation.request_id}/0.png"}],
            "expires_at": "2099-01-01T00:00:00Z"}).encode()
        signed.append((body, {**sim.sign_headers(body), "Connection": "close"}))
    return signed


def flood(base_url, path, items, concurrency):
    """POST every item from `concurrency` keep-alive clients; (wall seconds, latencies ms, statuses)."""
    latencies, statuses = [], []
    lock = threading.Lock()

    def work(offset):
        with httpx.Client(base_url=base_url, timeout=60) as client:
            for body, headers in items[offset::concurrency]:
                started = time.perf_counter()
                response = client.post(path, content=body, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def summary(wall, latencies, statuses, cpu=None):
    ok = sum(1 for status in statuses if 200 <= status < 300)
    return {"requests": len(statuses), "ok": ok, "per_second": ok / wall if wall else 0.0,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 99), "wall": wall,
            "cpu_ms": cpu * 1000 / len(statuses) if cpu is not None and statuses else None}


def timed_flood(web, base_url, path, items, concurrency):
    """flood() and the CPU time the web process group spent meanwhile: a figure that depends
    far less on what else the machine is doing than requests per second do."""
    before = web.cpu_seconds() if web else None
    wall, latencies, statuses = flood(base_url, path, items, concurrency)
    cpu = web.cpu_seconds() - before if web else None
    return summary(wall, latencies, statuses, cpu)


def measure(base_url, sim, user, project, account, count, concurrency=4, web=None):
    generations = running_generations(user, project, account, count)
    items = deliveries(sim, generations)
    bare_items = [(body, {"Content-Type": "application/json", "Connection": "close"}) for body, _ in items]
    warming = running_generations(user, project, account, concurrency * 3)
    warm = deliveries(sim, warming)
    flood(base_url, "/webhooks/higgsfield/", warm, concurrency)
    flood(base_url, "/_bench/write/", bare_items[: concurrency * 3], concurrency)
    app = timed_flood(web, base_url, "/webhooks/higgsfield/", items, concurrency)
    bare = timed_flood(web, base_url, "/_bench/write/", bare_items, concurrency)
    applied = Generation.objects.filter(pk__in=[g.pk for g in generations], status="completed").count()
    settle_out_of_band(generations + warming)
    return {"app": app, "bare": bare, "applied": applied, "concurrency": concurrency}


def settle_out_of_band(generations):
    """These jobs never existed at the provider: drop the archive tasks their webhooks
    queued and mark them done, so the worker started later leaves them alone."""
    get_broker().purge_queue()
    with transaction.atomic():
        Generation.objects.filter(pk__in=[g.pk for g in generations]).update(
            status="completed", archived=True, next_action_at=None)
