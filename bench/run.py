"""`python -m bench.run`: start a throwaway stack, measure, write bench/RESULTS.md.

Nothing touches the developer's database: SQLite in a temporary folder by default; with
DATABASE_URL set, a database named after it with a `_bench` suffix, created and dropped
here. REDIS_URL, when set, is used with a cluster name of its own."""

import argparse
import base64
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.stack import PROCFILES, ROOT, MemorySampler, Process, command_line, free_port, procfile, wait_for_http

SIZES = "1000,10000,100000"
PARTS = ("gallery", "livefeed", "webhooks", "browser", "drain", "recovery", "memory")


def arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=SIZES, help=f"gallery sizes, cumulative (default {SIZES})")
    parser.add_argument("--webhooks", type=int, default=2000, help="deliveries per webhook run")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs (and no-op tasks) per drain")
    parser.add_argument("--browser-jobs", type=int, default=12, help="0 skips the browser")
    parser.add_argument("--tabs", type=int, default=20, help="simulated open galleries for the live feed's CPU")
    parser.add_argument("--feed-seconds", type=int, default=30, help="how long those tabs stay open (each run)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page and fragment")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run, of {', '.join(PARTS)} (default: all)")
    parser.add_argument("--server", choices=PROCFILES, default="production",
                        help="whose web and worker lines to run: production (Procfile.production, gunicorn; the "
                             "default) or dev (Procfile, runserver as `make run` runs it)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = parser.parse_args(argv)
    args.only = {part.strip() for part in args.only.split(",") if part.strip()}
    if unknown := args.only - set(PARTS):
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    return args


def environment(tmp, web_port, sim_port):
    sim_url = f"http://127.0.0.1:{sim_port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "False", "PORT": str(web_port),
           "BIND": f"127.0.0.1:{web_port}", "SIM_PORT": str(sim_port), "HIGGSFIELD_API_KEY": "",
           "SIMULATOR_URL": sim_url, "HIGGSFIELD_ALLOW_LOCAL_MEDIA": "true",
           "HIGGSFIELD_BASE_URL": sim_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
           "HIGGSFIELD_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
           "MEDIA_ROOT": str(tmp / "media"), "BENCH_STATIC_ROOT": str(tmp / "static"),
           "Q_NAME": f"bench-{web_port}-{os.getpid()}", "LOG_LEVEL": "WARNING", "SQLITE_PATH": str(tmp / "db.sqlite3"),
           "PYTHONUNBUFFERED": "1",
           # gunicorn's control socket goes in $XDG_RUNTIME_DIR: one of the run's own, not the user's.
           "XDG_RUNTIME_DIR": str(tmp)}
    env.pop("HIGGSFIELD_API_SECRET", None)
    return env


def prepare_database(env):
    """Create the throwaway database and its tables; returns a function that drops it."""
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0, interactive=False)
        return lambda: None
    import dj_database_url  # noqa: F401  (the URL was parsed by the settings)

    original = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{original}_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    url = env["DATABASE_URL"]
    env["DATABASE_URL"] = url[: url.rindex("/") + 1] + connection.settings_dict["NAME"]
    return lambda: connection.creation.destroy_test_db(original, verbosity=0)


def main(argv=None):
    args = arguments(argv)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="higgsweb-bench-"))
    web_port = free_port()
    sim_port = free_port({web_port})
    env = environment(tmp, web_port, sim_port)
    os.environ.update(env)
    import django

    django.setup()
    drop = prepare_database(env)
    processes = []
    try:
        results = measure(args, tmp, env, processes)
    finally:
        for process in processes:
            process.stop()
        drop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    from bench import report

    results["wall"] = time.perf_counter() - started
    results["parts"] = [part for part in PARTS if part in args.only]
    results["skipped"] = [part for part in PARTS if part not in args.only and part != "memory"]
    results["machine"] = report.machine(procfile("web", args.server), procfile("worker", args.server),
                                        PROCFILES[args.server])
    report.write(args.out, results)
    print(Path(args.out).read_text())
    if args.keep:
        print(f"logs and database kept in {tmp}")


def cpu_seconds(processes, since=None):
    """CPU seconds of each process group, and of this process (the simulator serves from it)."""
    times = os.times()
    now = {"bench": times.user + times.system, **{p.name: p.cpu_seconds() for p in processes}}
    return {name: value - (since or {}).get(name, 0) for name, value in now.items()}


def say(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def measure(args, tmp, env, processes):
    import httpx
    from django.core.management import call_command

    from bench import browser, drain, gallery, livefeed, seed, webhooks
    from generations.models import ProviderAccount
    from higgsweb.simulator.app import Config, Simulator
    from higgsweb.simulator.server import SimulatorServer

    call_command("collectstatic", interactive=False, verbosity=0)
    sim = Simulator(Config(keys={"sim-key": "sim-secret"}, webhook_secrets=[env["HIGGSFIELD_WEBHOOK_SECRET"]],
                           allow_loopback_webhooks=True))
    server = SimulatorServer(sim, port=int(env["SIM_PORT"])).start()
    sim.url = server.url
    web_url = env["PUBLIC_BASE_URL"]
    results = {}
    try:
        user, project, session_key = seed.member()
        seed.media_files()
        account = ProviderAccount.objects.default()
        say(f"web: {' '.join(command_line('web', env, args.server))}")
        web = Process("web", command_line("web", env, args.server), env, tmp / "web.log")
        processes.append(web)
        sampler = MemorySampler(processes).start()
        wait_for_http(web_url + "/login/")

        results["gallery"], have, running = [], 0, []
        with httpx.Client(base_url=web_url, cookies={"sessionid": session_key}, timeout=60) as http:
            for size in (int(s) for s in args.sizes.split(",")) if "gallery" in args.only else ():
                seeding = time.perf_counter()
                running += seed.seed(user, project, size - have, already=have)
                say(f"seeded {size:,} generations ({time.perf_counter() - seeding:.1f} s); timing the gallery")
                have = size
                results["gallery"] += gallery.measure(http, user, running[0], size, n_page=args.requests,
                                                      n_fragment=args.requests)

        if "livefeed" in args.only:
            say(f"live feed: new jobs in an open gallery, then {args.tabs} idle tabs for {args.feed_seconds} s")
            results["livefeed"] = {"appears": livefeed.appears(web_url, session_key, user, project)
                                   if browser.available() else None,
                                   "idle": livefeed.idle_tabs(web, web_url, session_key, user, args.tabs,
                                                              args.feed_seconds)}

        if "webhooks" in args.only:
            say(f"webhooks: {args.webhooks:,} deliveries")
            results["webhooks"] = webhooks.measure(web_url, sim, user, project, account, args.webhooks, web=web)

        if args.only & {"browser", "drain", "recovery"}:
            worker = Process("worker", command_line("worker", env, args.server), env, tmp / "worker.log")
            processes.append(worker)
            if not drain.worker_ready():
                raise RuntimeError(f"the worker did not start; see {tmp / 'worker.log'}")

        if "browser" in args.only and args.browser_jobs and browser.available():
            say(f"browser: {args.browser_jobs} jobs with the gallery open in Chromium")
            results["browser"] = browser.measure(web_url, session_key, sim, user, project, args.browser_jobs,
                                                 tmp / "gallery.png")

        if "drain" in args.only:
            say(f"worker drain: {args.jobs:,} no-op tasks, then {args.jobs:,} jobs")
            noop = drain.noop_drain(args.jobs)
            sim.config.queue_seconds = sim.config.run_seconds = 0
            sim.config.concurrency_limit = args.jobs * 2
            sim.set_balance("sim-key", 10**9)  # the simulator's account starts with 1,000 credits
            ProviderAccount.objects.filter(pk=account.pk).update(concurrency_limit=args.jobs)
            ids = drain.drafts(user, project, args.jobs)
            before = dict(sim.calls)
            app = drain.app_drain(ids)
            results["drain"] = {"noop": noop, "app": app,
                                "calls": {k: v - before.get(k, 0) for k, v in sim.calls.items()}}
        if "recovery" in args.only:  # bench/recovery.py: kill -9 the worker mid-download, time the takeover
            from bench import recovery

            say("recovery: kill -9 of the worker while it downloads, then a new worker")
            sim.config.queue_seconds, sim.config.run_seconds = 0.2, 0.3
            results["recovery"] = recovery.measure(env, tmp, processes, sim, user, project, server=args.server)
        sampler.stop()
        for process in processes:
            process.stop()
        results["memory"] = {p.name: {"pss": p.peak_pss, "hwm": max(p.peak_rss.values(), default=0),
                                      "processes": len(p.peak_rss)} for p in processes}
    finally:
        server.stop()
    return results


if __name__ == "__main__":
    sys.exit(main())
