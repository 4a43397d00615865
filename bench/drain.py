"""1,000 jobs through the worker cluster beside 1,000 no-op tasks through the same cluster
and broker. Both start with the cluster idle and end when the last one is done; enqueueing
is inside the timed part for both."""

import time

from django.db import transaction
from django_q.models import Task
from django_q.tasks import async_task

from generations import pipeline
from generations.models import Generation

SETTLED = ("failed", "nsfw", "canceled")


def wait_until(predicate, timeout, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def worker_ready(timeout=60):
    """True once the cluster has run a task (it is up and polling the broker)."""
    task_id = async_task("bench.bare.noop", task_name="bench-ready")
    return wait_until(lambda: Task.objects.filter(id=task_id).exists(), timeout)


def noop_drain(n, timeout=600):
    group = f"noop-{time.time_ns()}"
    started = time.perf_counter()
    for i in range(n):
        async_task("bench.bare.noop", group=group, task_name=f"noop-{i}")
    done = wait_until(lambda: Task.objects.filter(group=group).count() >= n, timeout, every=0.05)
    seconds = time.perf_counter() - started
    return {"n": n, "seconds": seconds, "per_second": n / seconds, "finished": done}


def drafts(user, project, n, prompt="drain"):
    """n jobs created the way the studio creates them (with their credit hold), not yet
    due and their submits held back, so nothing picks them up before the clock starts."""
    with pipeline.follow_ups() as submits:
        with transaction.atomic():
            ids = [pipeline.start(owner=user, project=project, model_id="higgsfield-ai/soul/standard",
                                  params={"prompt": f"{prompt} {i}", "aspect_ratio": "1:1",
                                          "resolution": "720p", "batch_size": 1, "seed": i + 1}).pk
                   for i in range(n)]
            Generation.objects.filter(pk__in=ids).update(next_action_at=None)
        submits.clear()  # app_drain (or the caller) sends them when the clock starts
    return ids


def settled(ids):
    """Jobs that will not move any more: archived, ended otherwise, or set aside for an operator."""
    from django.db.models import Q

    return Generation.objects.filter(pk__in=ids).filter(
        Q(status="completed", archived=True) | Q(status__in=SETTLED) | Q(quarantined_at__isnull=False)).count()


def app_drain(ids, timeout=900):
    """Enqueue each job's submit, as the studio does, and wait until every one is completed
    and archived (or has ended otherwise)."""
    started = time.perf_counter()
    for pk in ids:
        pipeline.enqueue("submit_generation", pk)
    done = wait_until(lambda: settled(ids) >= len(ids), timeout, every=0.2)
    seconds = time.perf_counter() - started
    rows = Generation.objects.filter(pk__in=ids)
    completed = rows.filter(status="completed", archived=True).count()
    return {"n": len(ids), "seconds": seconds, "per_second": completed / seconds, "finished": done,
            "completed": completed, "quarantined": rows.filter(quarantined_at__isnull=False).count(),
            "reasons": sorted(set(rows.exclude(quarantine_reason="").values_list("quarantine_reason", flat=True)))[:3]}
