"""Recovery after a kill: jobs whose outputs are being downloaded when the worker is killed
(SIGKILL to its whole process group), then a new worker is started at once. Timed from the
new worker's start until every job is saved, with the production timeouts (task timeout 120 s,
claims 180 s): the dead worker's leases and claims are freed once its heartbeat is stale
(15 s), so this is seconds, not the minutes a lease or claim would take to run out."""

import os
import signal
import time

from bench.drain import settled, wait_until
from bench.stack import Process, command_line

# The bound the pipeline promises (a step whose holder died is taken over within 30 s).
BOUND = 30


def measure(env, tmp, processes, sim, user, project, n=8, server="production"):
    from generations import pipeline

    worker = next(p for p in reversed(processes) if p.name == "worker" and p.alive)
    sim.config.faults["media_delay_seconds"] = 60  # downloads hang: the archive steps hold their jobs
    media_before = sim.media_requests
    ids = [pipeline.start(owner=user, project=project, model_id="higgsfield-ai/soul/standard",
                          params={"prompt": f"recovery {i}", "aspect_ratio": "1:1", "resolution": "720p",
                                  "batch_size": 1, "seed": i + 1}).pk for i in range(n)]
    downloading = wait_until(lambda: sim.media_requests - media_before >= 1, 120, every=0.1)
    time.sleep(1)  # let the other archive steps take their jobs too
    os.killpg(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait()
    killed = time.monotonic()
    sim.config.faults["media_delay_seconds"] = 0
    stranded = n - settled(ids)
    restarted = Process("worker", command_line("worker", env, server), env, tmp / "worker-after-kill.log")
    processes.append(restarted)
    started = time.monotonic()
    finished = wait_until(lambda: settled(ids) >= n, 300, every=0.2)
    done = time.monotonic()
    return {"n": n, "stranded": stranded, "downloading": downloading, "finished": finished,
            "seconds": done - started if finished else None, "since_kill": done - killed if finished else None,
            "bound": BOUND}


def rows(r):
    v = r["recovery"]
    ok = v["finished"] and v["seconds"] is not None and v["seconds"] <= v["bound"]
    value = f"{v['seconds']:.1f} s" if v["seconds"] is not None else "not finished"
    return [f"| recovery after kill -9: all {v['n']} jobs saved, from the new worker's start | ≤ {v['bound']} s | "
            f"{value} | lease and claim run-out: 120–180 s | | {'pass' if ok else '**FAIL**'} |"]


def section(r):
    v = r["recovery"]
    since = f"{v['since_kill']:.1f} s" if v["since_kill"] is not None else "—"
    seconds = f"{v['seconds']:.1f} s" if v["seconds"] is not None else "not finished"
    return ["## Recovery after a kill", "",
            f"{v['n']} jobs complete at the provider while their downloads hang; once the worker is downloading, "
            f"its process group is killed with SIGKILL ({v['stranded']} jobs not yet saved) and a new worker is "
            "started at once, with the production timeouts (task timeout 120 s, claims 180 s). The dead worker's "
            "leases name it, and its heartbeat goes stale 15 s after the kill; then the next sweep frees them and "
            "sends its steps again.", "",
            "| jobs | not saved at the kill | all saved, from the new worker's start | from the kill |",
            "|---|---|---|---|",
            f"| {v['n']} | {v['stranded']} | {seconds} | {since} |", ""]
