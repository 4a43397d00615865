"""`python -m bench.soak` (`make soak`): an operator's soak on a throwaway stack.

N jobs (SOAK_JOBS, default 200) go through the simulator while its chaos switches take turns
(duplicated, reordered, delayed and dropped webhooks; 5xx and 429 storms on submits and status
checks), forged webhooks are posted beside the real ones, and the worker is killed (SIGKILL to
its whole process group) and started again as the jobs progress. Then the invariants are
printed, one a line, and the exit status is non-zero when any fails:

- all final: every job completed and saved, or ended as asked (failed, nsfw); none stuck or set aside;
- provider requests per job: one job at the provider per job here (retried submits carried
  the same Idempotency-Key), and the status checks it took;
- outputs saved once: every output of every completed job saved, one row per image, one
  completion recorded per job;
- ledger balanced: one hold per job, settled once (charged if completed, refunded otherwise),
  and every budget's cached total equals its entries;
- forgeries refused: every forged signature answered 4xx, every unsigned report taken only as a
  hint (2xx, the job asked about), and none trusted;
- recovery: every job final within SOAK_RECOVERY_LIMIT seconds (default 120) of the last kill.

Like `make bench`, nothing touches the developer's database: SQLite in a temporary folder, or
with DATABASE_URL a database named after it with a `_bench` suffix; REDIS_URL is used with a
queue name of its own. The production timeouts apply (a task timeout of 120 s, claims of 180 s),
so a quick recovery is the heartbeat's doing, not a short timer's."""

import argparse
import base64
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.stack import Process, command_line, free_port, wait_for_http

CHAOS = [  # each phase's switches; the phases take turns every --phase seconds
    ("duplicated and reordered webhooks", {"webhook_duplicate": True, "webhook_reorder": True}),
    ("dropped webhooks", {"webhook_drop": True}),
    ("delayed webhooks, 5xx storms", {"webhook_delay_seconds": 2.0, "status_5xx_burst": 30, "submit_5xx_burst": 8}),
    ("429 storms", {"status_429_burst": 30, "submit_429_burst": 8}),
]
CALM = {"webhook_drop": False, "webhook_duplicate": False, "webhook_reorder": False, "webhook_delay_seconds": 0.0,
        "status_5xx_burst": 0, "status_429_burst": 0, "submit_5xx_burst": 0, "submit_429_burst": 0}


def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("SOAK_JOBS") or 200))
    parser.add_argument("--kills", type=int, default=int(os.environ.get("SOAK_KILLS") or 3),
                        help="worker kills: the jobs come in as many batches, each killed in the middle")
    parser.add_argument("--gap", type=float, default=20.0,
                        help="at least this many seconds between kills (past the 15 s a heartbeat takes to go stale)")
    parser.add_argument("--forgeries", type=int, default=40)
    parser.add_argument("--phase", type=float, default=6.0, help="seconds per chaos phase")
    parser.add_argument("--recovery-limit", type=float,
                        default=float(os.environ.get("SOAK_RECOVERY_LIMIT") or 120))
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting after this many seconds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    return parser.parse_args(argv)


def say(message):
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv=None):
    args = arguments(argv)
    from bench import run

    tmp = Path(tempfile.mkdtemp(prefix="higgsweb-soak-"))
    web_port = free_port()
    env = run.environment(tmp, web_port, free_port({web_port}))
    env["Q_NAME"] = f"soak-{web_port}-{os.getpid()}"
    for name in ("Q_TIMEOUT", "Q_RETRY", "PIPELINE_CLAIM_SECONDS"):  # the production timeouts
        env.pop(name, None)
    os.environ.update(env)
    import django

    django.setup()
    drop = run.prepare_database(env)
    processes = []
    try:
        report = soak(args, tmp, env, processes)
    finally:
        for process in processes:
            process.stop()
        drop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    for line in report["lines"]:
        print(line)
    if args.keep:
        print(f"logs and database kept in {tmp}")
    return 0 if report["ok"] else 1


class Chaos(threading.Thread):
    """Turns the simulator's fault switches phase by phase until stopped, then calms it."""

    def __init__(self, sim, seconds):
        super().__init__(daemon=True, name="chaos")
        self.sim, self.seconds, self.stopping = sim, seconds, threading.Event()

    def run(self):
        phase = 0
        while not self.stopping.is_set():
            self.sim.config.faults.update({**CALM, **CHAOS[phase % len(CHAOS)][1]})
            phase += 1
            self.stopping.wait(self.seconds)
        self.sim.config.faults.update(CALM)

    def stop(self):
        self.stopping.set()
        self.join()


def start_jobs(user, project, n, first=0, asked=None):
    from generations import pipeline

    ids, asked = [], asked if asked is not None else {"failed": 0, "nsfw": 0}
    for i in range(first, first + n):
        prompt = f"soak {i}"
        if i % 10 == 3:
            prompt, asked["failed"] = f"simulate-failure {prompt}", asked["failed"] + 1
        elif i % 20 == 7:
            prompt, asked["nsfw"] = f"simulate-nsfw {prompt}", asked["nsfw"] + 1
        ids.append(pipeline.start(owner=user, project=project, model_id="higgsfield-ai/soul/standard",
                                  params={"prompt": prompt, "aspect_ratio": "1:1", "resolution": "720p",
                                          "batch_size": 1 + (i % 2) * 3, "seed": i + 1}).pk)
    return ids, asked


def forge(web_url, running, count, env):
    """Post forged "failed" reports for running jobs: unsigned, signed with another secret,
    signed too long ago, and a real signature over another body. Returns the answers' statuses."""
    import httpx
    from standardwebhooks.webhooks import Webhook

    other = Webhook("whsec_" + base64.b64encode(secrets.token_bytes(24)).decode())
    ours = Webhook(env["HIGGSFIELD_WEBHOOK_SECRET"])
    statuses = []
    with httpx.Client(base_url=web_url, timeout=30) as http:
        for i in range(count):
            request_id = running[i % len(running)] if running else f"forged-{i}"
            body = json.dumps({"status": "failed", "request_id": request_id, "error": "forged"})
            msg_id, now = f"msg_forged_{i}_{secrets.token_hex(4)}", datetime.now(UTC)
            kind = i % 4
            if kind == 0:
                headers = {}
            elif kind == 1:
                headers = {"webhook-signature": other.sign(msg_id, now, body)}
            elif kind == 2:
                then = datetime.fromtimestamp(now.timestamp() - 3600, UTC)
                headers = {"webhook-signature": ours.sign(msg_id, then, body)}
                now = then
            else:
                headers = {"webhook-signature": ours.sign(msg_id, now, body.replace("failed", "queued"))}
            if kind:
                headers.update({"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp()))})
            response = http.post("/webhooks/higgsfield/", content=body,
                                 headers={"Content-Type": "application/json", **headers})
            statuses.append(response.status_code)
    return statuses


def settled_count(ids):
    from bench.drain import settled

    return settled(ids)


def soak(args, tmp, env, processes):
    from django.core.management import call_command
    from django.db.models import Count, Q

    from bench import seed
    from bench.drain import wait_until
    from generations.models import Generation, Output, ProviderAccount, StatusEvent, WebhookDelivery
    from higgsweb.models import Budget, LedgerEntry
    from higgsweb.simulator.app import Config, Simulator
    from higgsweb.simulator.server import SimulatorServer

    call_command("collectstatic", interactive=False, verbosity=0)
    sim = Simulator(Config(keys={"sim-key": "sim-secret"}, webhook_secrets=[env["HIGGSFIELD_WEBHOOK_SECRET"]],
                           allow_loopback_webhooks=True, queue_seconds=0.3, run_seconds=0.6,
                           concurrency_limit=10**6))
    sim.set_balance("sim-key", 10**9)
    server = SimulatorServer(sim, port=int(env["SIM_PORT"]))
    # A killed worker's open connections end in resets: expected here, not worth a traceback each.
    server.httpd.handle_error = lambda request, address: None
    server.start()
    sim.url = server.url
    web_url = env["PUBLIC_BASE_URL"]
    broker = "PostgreSQL+Redis" if env.get("REDIS_URL") else "SQLite+ORM broker"
    if env.get("DATABASE_URL", "").startswith("postgres") and not env.get("REDIS_URL"):
        broker = "PostgreSQL+ORM broker"
    elif env.get("REDIS_URL") and not env.get("DATABASE_URL", "").startswith("postgres"):
        broker = "SQLite+Redis"
    chaos = Chaos(sim, args.phase)
    kills = []
    try:
        user, project, _ = seed.member()
        from higgsweb import ledger

        ProviderAccount.objects.default()  # made from the environment on first use
        ProviderAccount.objects.update(concurrency_limit=50)
        ledger.user_budget(user)
        Budget.objects.update(hard_limit=None)  # the soak is about the pipeline, not the limits
        web = Process("web", command_line("web", env), env, tmp / "web.log")
        processes.append(web)
        wait_for_http(web_url + "/login/")

        def start_worker():
            worker = Process("worker", command_line("worker", env), env, tmp / f"worker-{len(kills)}.log")
            processes.append(worker)
            return worker

        worker = start_worker()
        say(f"{broker}: {args.jobs} jobs, {args.kills} kills, chaos phases of {args.phase:g} s")
        chaos.start()
        started = time.monotonic()
        # The jobs come in one batch per kill; each kill lands once half its batch is final, so
        # the worker always has work in hand (and the last kill leaves half a batch to recover).
        ids, asked, forged = [], {"failed": 0, "nsfw": 0}, []
        per_batch = -(-args.jobs // max(1, args.kills))
        for batch in range(max(1, args.kills)):
            if kills:  # the dead worker's heartbeat goes stale before the next kill
                time.sleep(max(0.0, kills[-1] + args.gap - time.monotonic()))
            new_ids, _ = start_jobs(user, project, min(per_batch, args.jobs - len(ids)), len(ids), asked)
            ids += new_ids
            half_done = len(ids) - len(new_ids) // 2
            if not wait_until(lambda target=half_done, jobs=ids: settled_count(jobs) >= target, args.timeout,
                              every=0.1):
                break
            if not forged:  # forgeries while jobs are running, against their real request ids
                running = list(Generation.objects.filter(pk__in=ids, status__in=("queued", "in_progress"))
                               .values_list("request_id", flat=True)[: args.forgeries])
                forged = forge(web_url, running, args.forgeries, env)
            if batch >= args.kills:
                break
            os.killpg(worker.popen.pid, signal.SIGKILL)
            worker.popen.wait()
            kills.append(time.monotonic())
            say(f"killed the worker with {len(ids) - settled_count(ids)} jobs not final")
            worker = start_worker()
        if not forged:
            forged = forge(web_url, [], args.forgeries, env)
        chaos.stop()
        finished = wait_until(lambda: settled_count(ids) >= len(ids), args.timeout, every=0.2)
        ended = time.monotonic()
    finally:
        if chaos.is_alive():
            chaos.stop()
        server.stop()

    rows = Generation.objects.filter(pk__in=ids)
    by_status = dict(rows.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    completed = rows.filter(status="completed")
    saved = completed.filter(archived=True).count()
    stuck = len(ids) - settled_count(ids)
    quarantined = rows.filter(quarantined_at__isnull=False).count()
    final_ok = finished and stuck == 0 and quarantined == 0 and saved == completed.count() \
        and by_status.get("failed", 0) == asked["failed"] and by_status.get("nsfw", 0) == asked["nsfw"]

    request_ids = set(rows.exclude(request_id="").values_list("request_id", flat=True))
    at_provider = set(sim.jobs)
    calls = dict(sim.calls)
    submits_ok = request_ids == at_provider and len(request_ids) == len(ids)

    expected_outputs = sum(params["batch_size"] for params in completed.values_list("params", flat=True))
    outputs = Output.objects.filter(generation__in=completed)
    saved_outputs = outputs.filter(archived_at__isnull=False).exclude(file="").count()
    twice = StatusEvent.objects.filter(generation__in=rows, to_status="completed").values("generation") \
        .annotate(n=Count("id")).filter(n__gt=1).count()
    distinct_positions = outputs.values("generation", "position").distinct().count()
    outputs_ok = saved_outputs == expected_outputs == outputs.count() == distinct_positions and twice == 0

    entries = LedgerEntry.objects.filter(generation__in=rows)
    holds = dict(entries.filter(kind="hold").values_list("generation").annotate(n=Count("id"))
                 .values_list("generation", "n"))
    confirms = set(entries.filter(kind="confirm").values_list("generation", flat=True))
    refunds = set(entries.filter(kind="refund").values_list("generation", flat=True))
    completed_ids = set(completed.values_list("pk", flat=True))
    ended_ids = set(rows.exclude(status="completed").values_list("pk", flat=True))
    budgets_ok = all(budget.spent == sum(LedgerEntry.objects.filter(Q(user_budget=budget) | Q(project_budget=budget))
                                         .values_list("amount", flat=True))
                     for budget in Budget.objects.all())
    ledger_ok = (all(holds.get(pk) == 1 for pk in ids) and confirms == completed_ids and refunds == ended_ids
                 and not confirms & refunds and budgets_ok)

    # Forgeries with signature headers are refused (4xx); unsigned ones are answered 2xx as hints
    # (the service never retries a 4xx, and unsigned is how it delivers before the secret exists),
    # and none may be trusted: no signed delivery recorded, no job ended by one.
    signed_forged = [s for i, s in enumerate(forged) if i % 4]
    unsigned_forged = [s for i, s in enumerate(forged) if not i % 4]
    forged_trusted = (WebhookDelivery.objects.filter(payload__error="forged", signed=True).count()
                      + rows.filter(error__contains="forged").count())
    forgeries_ok = (bool(forged) and all(400 <= s < 500 for s in signed_forged)
                    and all(200 <= s < 300 for s in unsigned_forged) and forged_trusted == 0)

    recovery = (ended - kills[-1]) if kills and finished else None
    recovery_ok = recovery is not None and recovery <= args.recovery_limit and len(kills) == args.kills

    def line(ok, text):
        return f"{'ok  ' if ok else 'FAIL'} {text}"

    status_calls = calls.get("status", 0)
    lines = [
        f"soak {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {broker} · {len(ids)} jobs in {ended - started:.0f} s · "
        f"{len(kills)} kills (SIGKILL to the worker's process group)",
        "chaos: " + "; ".join(name for name, _ in CHAOS) + f"; {len(forged)} forged webhooks",
        line(final_ok, f"all final: {settled_count(ids)}/{len(ids)} ({saved} completed and saved, "
                       f"{by_status.get('failed', 0)} failed and {by_status.get('nsfw', 0)} nsfw as asked; "
                       f"{stuck} not final, {quarantined} set aside)"),
        line(submits_ok, f"provider requests per job: {len(at_provider)} jobs at the provider for {len(ids)} here "
                         f"(submits answered: {calls.get('submit', 0)}, with retries of the same key); "
                         f"{status_calls / len(ids):.1f} status checks per job"),
        line(outputs_ok, f"outputs saved once: {saved_outputs}/{expected_outputs} saved, {outputs.count()} rows, "
                         f"{twice} jobs completed twice"),
        line(ledger_ok, f"ledger balanced: {sum(holds.values())} holds for {len(ids)} jobs, {len(confirms)} charged, "
                        f"{len(refunds)} refunded; budgets equal their entries: {budgets_ok}"),
        line(forgeries_ok, f"forgeries refused: {sum(400 <= s < 500 for s in signed_forged)}/{len(signed_forged)} "
                           f"signed ones answered 4xx, {sum(200 <= s < 300 for s in unsigned_forged)}/"
                           f"{len(unsigned_forged)} unsigned ones taken only as hints, {forged_trusted} trusted"),
        line(recovery_ok, "recovery: every job final " + (f"{recovery:.1f} s" if recovery is not None else "never")
             + f" after the last kill (limit {args.recovery_limit:g} s)"),
    ]
    if not submits_ok:  # which jobs the provider has that no job here names, and under which key
        keys = {request_id: key for (_, key), (_, request_id) in sim.idempotency.items()}
        for request_id in sorted(at_provider - request_ids)[:5]:
            job = sim.jobs[request_id]
            lines.append(f"     at the provider only: {request_id} key={keys.get(request_id)} "
                         f"prompt={job.payload.get('prompt')!r} created={job.created:.1f}")
    ok = all((final_ok, submits_ok, outputs_ok, ledger_ok, forgeries_ok, recovery_ok))
    lines.append("PASS" if ok else "FAIL")
    return {"ok": ok, "lines": lines, "recovery": recovery, "kills": len(kills)}


if __name__ == "__main__":
    sys.exit(main())
