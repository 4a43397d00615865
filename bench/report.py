"""bench/RESULTS.md: the machine, then every figure with its target and baseline."""

import importlib
import os
import platform
import shlex
import sqlite3
from datetime import datetime
from pathlib import Path

import django
from django.conf import settings
from django.db import connection

MIB = 1024  # KiB per MiB


def machine(web_command, worker_command, procfile="Procfile.production"):
    def first(path, prefix):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1].strip('"')
        except OSError:
            pass
        return "unknown"

    memory_kib = int(first("/proc/meminfo", "MemTotal").split()[0]) if first("/proc/meminfo", "MemTotal") != \
        "unknown" else 0
    if connection.vendor == "sqlite":
        database = f"SQLite {sqlite3.sqlite_version} (file in a temporary folder, WAL)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]} (database {settings.DATABASES['default']['NAME']})"
    broker = "Redis (REDIS_URL)" if settings.REDIS_URL else "the ORM broker (django-q2, same database)"
    return [
        ("CPU", first("/proc/cpuinfo", "model name")),
        ("Cores", str(os.cpu_count())),
        ("Memory", f"{memory_kib / MIB / MIB:.1f} GiB"),
        ("OS", f"{first('/etc/os-release', 'PRETTY_NAME=')}, Linux {platform.release()}"),
        ("Python", platform.python_version()),
        ("Django", django.get_version()),
        ("Database", database),
        ("Broker", f"{broker}; {settings.Q_CLUSTER['workers']} worker processes"),
        ("Web server", f"{server_name(web_command)}: `{web_command}` ({procfile}'s web entry), DEBUG=False"),
        ("Worker", f"`{worker_command}` ({procfile}'s worker entry)"),
    ]


def server_name(command):
    """What serves the requests, named: gunicorn with its workers and threads as it will run
    them (command line over its config module), or runserver."""
    if "gunicorn" in command:
        from gunicorn.config import Config

        config = Config()
        options = vars(config.parser().parse_args(shlex.split(command)[1:]))
        if (options.get("config") or "").startswith("python:"):
            module = importlib.import_module(options["config"].removeprefix("python:"))
            for key in config.settings:
                if hasattr(module, key):
                    config.set(key, getattr(module, key))
        for key, value in options.items():
            if key in config.settings and value is not None:
                config.set(key, value)
        threads = f", {config.threads} threads each" if config.worker_class_str == "gthread" else ""
        return f"gunicorn, {config.workers} × {config.worker_class_str} worker{threads}"
    if "runserver" in command:
        return "Django's runserver (the development server, a thread per request)"
    return command.split()[0]


def verdict(ok):
    return "pass" if ok else "**FAIL**"


def ms(value):
    return "—" if value is None else f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def write(path, results):
    r = results
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {datetime.now():%Y-%m-%d %H:%M} in {r['wall']:.0f} s. Every figure below comes "
        "from that one run; re-run `make bench` to replace them. How each is measured: [README.md](README.md).",
        "",
        *([f"Only these parts were run: {', '.join(r['parts'])}.", ""] if len(r["parts"]) < 4 else []),
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in r["machine"]],
        "",
        "## Summary",
        "",
        "| measurement | target | value | baseline | ratio | result |",
        "|---|---|---|---|---|---|",
        *summary_rows(r),
        "",
    ]
    if r.get("skipped"):
        lines[3] += f" Parts not run (`--only`): {', '.join(r['skipped'])}."
    sections = [gallery_section, livefeed_section, webhook_section, browser_section, drain_section]
    for section, part in zip(sections, ("gallery", "livefeed", "webhooks", "browser", "drain"), strict=True):
        if part in r["parts"]:
            lines += section(r)
    if "recovery" in r:
        from bench import recovery

        lines += recovery.section(r)
    lines += memory_section(r)
    Path(path).write_text("\n".join(lines) + "\n")


def summary_rows(r):
    rows = []
    if r.get("gallery"):
        rows += gallery_rows(r)
    if "livefeed" in r:
        rows += livefeed_rows(r)
    if "webhooks" in r:
        rows += webhook_rows(r)
    if "browser" in r["parts"]:
        rows += browser_rows(r)
    if "drain" in r:
        rows += drain_rows(r)
    if "recovery" in r:
        from bench import recovery

        rows += recovery.rows(r)
    m = r["memory"]
    for name, limit in (("web", 80), ("worker", 150)):
        if name in m:
            pss = m[name]["pss"] / MIB
            rows.append(f"| peak memory, {name} (all its processes, PSS) | ≤ {limit} MiB | {pss:.1f} MiB | | | "
                        f"{verdict(pss <= limit)} |")
    return rows


def gallery_rows(r):
    rows = []
    by = {(row["size"], row["what"]): row for row in r["gallery"]}
    sizes = sorted({row["size"] for row in r["gallery"]})
    largest = sizes[-1]
    for what, label, target_ms in (("card", "card fragment (a polled card that changed)", 15),
                                   ("list", "list fragment (#generation-list)", 15),
                                   ("unchanged", "'nothing changed' card poll", 3)):
        worst = max((by[(size, what)] for size in sizes), key=lambda row: row["app_p95"])
        rows.append(f"| {label}: p95 in Django, worst of {', '.join(f'{s:,}' for s in sizes)} | ≤ {target_ms} ms | "
                    f"{ms(worst['app_p95'])} (at {worst['size']:,}) | bare {ms(worst['bare_p95'])} | "
                    f"{ratio(worst['app_p95'], worst['bare_p95'])} | {verdict(worst['app_p95'] <= target_ms)} |")
        most = max(by[(size, what)]["queries"] for size in sizes)
        rows.append(f"| {label}: queries | ≤ 3 | {most} | | | {verdict(most <= 3)} |")
    page = by[(largest, "page")]
    rows.append(f"| gallery page (studio form included) p95 in Django at {largest:,} | ≤ 15 ms | "
                f"{ms(page['app_p95'])} | bare {ms(page['bare_p95'])} | {ratio(page['app_p95'], page['bare_p95'])} | "
                f"{verdict(page['app_p95'] <= 15)} |")
    return rows


def webhook_rows(r):
    rows = []
    w = r["webhooks"]
    rows.append(f"| verified webhooks per second | ≥ 500/s | {w['app']['per_second']:.0f}/s | bare one-write view "
                f"{w['bare']['per_second']:.0f}/s | {ratio(w['app']['per_second'], w['bare']['per_second'])} | "
                f"{verdict(w['app']['per_second'] >= 500)} |")
    rows.append(f"| webhook p99 under that load | ≤ 50 ms | {ms(w['app']['p99'])} | bare {ms(w['bare']['p99'])} | "
                f"{ratio(w['app']['p99'], w['bare']['p99'])} | {verdict(w['app']['p99'] <= 50)} |")
    return rows


def browser_rows(r):
    rows = []
    b = r.get("browser")
    if b and b["p95"] is not None:
        rows.append(f"| webhook → visible in browser p50 / p95 | p95 ≤ {RESULT_MS} ms | {ms(b['p50'])} / "
                    f"{ms(b['p95'])} | | | {verdict(b['p95'] <= RESULT_MS)} |")
    else:
        rows.append("| webhook → visible in browser | | not measured (no Chromium/Playwright) | | | |")
    return rows


RESULT_MS = 1000  # a result in its card, from its webhook being recorded
APPEAR_MS = 2000  # new work in an open gallery


def livefeed_rows(r):
    f = r["livefeed"]
    rows = []
    a = f["appears"]
    if a:
        rows.append(f"| new job → in an open gallery p50 / p95 (own from another tab, a teammate's put in a "
                    f"gallery) | p95 ≤ {APPEAR_MS} ms | {ms(a['p50'])} / {ms(a['p95'])} | | | "
                    f"{verdict(a['p95'] <= APPEAR_MS)} |")
    else:
        rows.append("| new job → in an open gallery | | not measured (no Chromium/Playwright) | | | |")
    i = f["idle"]
    rows.append(f"| server CPU per idle open gallery (feed poll every {i['every']:g} s) | — | "
                f"{i['app']['per_tab'] * 1000:.2f} ms/s | bare poll {i['bare']['per_tab'] * 1000:.2f} ms/s | "
                f"{ratio(i['app']['per_tab'], i['bare']['per_tab'])} | |")
    rows.append(f"| 'nothing new' feed poll: p95 in Django | — | {ms(i['app']['p95'])} | bare {ms(i['bare']['p95'])} "
                f"| {ratio(i['app']['p95'], i['bare']['p95'])} | |")
    return rows


def livefeed_section(r):
    f = r["livefeed"]
    a, i = f["appears"], f["idle"]
    lines = ["## Live feed", ""]
    if a:
        own = ", ".join(f"{v:.0f}" for v in sorted(a["latencies"]["own"]))
        theirs = ", ".join(f"{v:.0f}" for v in sorted(a["latencies"]["teammate"]))
        lines += [f"The member's gallery open in Chromium; {a['n']} new jobs, one every 0.4–1.3 s: every other one "
                  "started as another tab starts it, the rest a teammate's finished job put in a gallery of the "
                  "project. From its commit to its card in the page:", "",
                  f"- p50 {ms(a['p50'])}, p95 {ms(a['p95'])}, slowest {ms(a['max'])}",
                  f"- own jobs, ms: {own}", f"- a teammate's, ms: {theirs}", ""]
    else:
        lines += ["New job → open gallery not measured: Playwright or /usr/bin/chromium is missing.", ""]
    lines += [f"{i['tabs']} open galleries with nothing new, each polling its feed every {i['every']:g} s on a "
              f"kept-alive connection for {i['seconds']} s. *CPU per tab* is the web server's CPU time (user + "
              f"system, all its processes, from /proc) over the run, less the {i['idle']:.2f} s it used in as long "
              "with no tab open, per tab and per second of being open.", "",
              "| feed | requests | answers | Django p50 | Django p95 | CPU per tab |",
              "|---|---|---|---|---|---|"]
    for name, run in (("app: /feed/?since=…", i["app"]), ("bare: the same query, 204, no middleware", i["bare"])):
        answers = ", ".join(f"{count:,} × {status}" for status, count in run["statuses"])
        lines.append(f"| {name} | {run['requests']:,} | {answers} | {ms(run['p50'])} | "
                     f"{ms(run['p95'])} | {run['per_tab'] * 1000:.2f} ms/s ({run['per_tab'] * 100:.2f} % of a core) |")
    lines.append("")
    return lines


def drain_rows(r):
    rows = []
    d = r["drain"]
    rows.append(f"| provider API calls per completed job | — | {calls_per_job(d['calls'], d['app']['completed'])} "
                f"(worker drain) | | | |")
    drain_ratio = d["app"]["per_second"] / d["noop"]["per_second"]
    rows.append(f"| {d['app']['n']:,} jobs through the worker | ≥ 0.5× no-op | {d['app']['per_second']:.1f} jobs/s | "
                f"no-op drain {d['noop']['per_second']:.1f} tasks/s | {drain_ratio:.2f}× | "
                f"{verdict(drain_ratio >= 0.5)} |")
    return rows


def calls_per_job(calls, completed):
    api = sum(calls.get(route, 0) for route in ("submit", "status", "cancel"))
    return f"{api / completed:.2f}" if completed else "—"


def gallery_section(r):
    lines = ["## Gallery", "",
             "Requests over HTTP to the web process, one at a time after a warm-up, each on a new connection. "
             "*Django* is the time the web process spent on the request (all middleware and the view, from its "
             "Server-Timing header); *client* adds the HTTP server and the connection. Queries are counted "
             "in-process with the test client, the session and user lookups included.", "",
             "| generations | request | status | queries | Django p50 | Django p95 | bare p50 | bare p95 | ratio p50 "
             "| client p95 (app / bare) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in r["gallery"]:
        lines.append(f"| {row['size']:,} | {row['what']} | {row['status']} | {row['queries']} | {ms(row['app_p50'])} | "
                     f"{ms(row['app_p95'])} | {ms(row['bare_p50'])} | {ms(row['bare_p95'])} | "
                     f"{ratio(row['app_p50'], row['bare_p50'])} | {ms(row['app_wall_p95'])} / "
                     f"{ms(row['bare_wall_p95'])} |")
    return lines + [""]


def webhook_section(r):
    w = r["webhooks"]
    lines = ["## Webhooks", "",
             f"{w['app']['requests']:,} signed \"completed\" deliveries for running jobs, from {w['concurrency']} "
             f"concurrent clients, each delivery on a new connection; {w['applied']:,} jobs moved to completed.", "",
             "*CPU* is the CPU time the web server's processes used per request (user + system, from /proc): "
             "unlike the rate, it hardly depends on what else the machine is doing.", "",
             "| endpoint | answered 2xx | per second | p50 | p99 | wall | CPU per request |",
             "|---|---|---|---|---|---|---|"]
    for name, label in (("app", "/webhooks/higgsfield/ (verify, record, apply, queue the archive)"),
                        ("bare", "bare: one INSERT")):
        s = w[name]
        lines.append(f"| {label} | {s['ok']:,}/{s['requests']:,} | {s['per_second']:.0f} | {ms(s['p50'])} | "
                     f"{ms(s['p99'])} | {s['wall']:.1f} s | {ms(s.get('cpu_ms'))} |")
    return lines + [""]


def browser_section(r):
    b = r.get("browser")
    if not b:
        return ["## Webhook → browser", "", "Not measured: Playwright or /usr/bin/chromium is missing.", ""]
    values = ", ".join(f"{v:.0f}" for v in sorted(b["latencies"]))
    return ["## Webhook → browser", "",
            f"{b['n']} jobs through the worker and the simulator (queue 0.5 s, run 1.5 s, 4 at a time) with the "
            f"gallery open in Chromium; {b['completed']} archived. Cards poll every {b['interval']:g} s.", "",
            f"- p50 {ms(b['p50'])}, p95 {ms(b['p95'])}; every job, ms: {values}",
            f"- of which webhook → result saved by the worker (download, check, thumbnail): p50 {ms(b['saved_p50'])}, "
            f"p95 {ms(b['saved_p95'])}; the rest is the wait for the card's next poll (every "
            f"{b['interval']:g} s, more often while a result is being saved)",
            f"- provider API calls per completed job: {calls_per_job(b['calls'], b['completed'])} "
            f"(submit {b['calls'].get('submit', 0)}, status {b['calls'].get('status', 0)}, "
            f"media downloads {b['calls'].get('media_file', 0)})", ""]


def drain_section(r):
    d = r["drain"]
    c = d["calls"]
    return ["## Worker drain", "",
            "The simulator answers at once (queue 0 s, run 0 s) with no concurrency limit, and the account's limit "
            f"is raised to {d['app']['n']:,}. Timed from the first enqueue to the last job archived (or the last "
            "no-op result saved).", "",
            "| run | tasks or jobs | seconds | per second | finished |", "|---|---|---|---|---|",
            f"| no-op tasks | {d['noop']['n']:,} | {d['noop']['seconds']:.1f} | {d['noop']['per_second']:.1f} | "
            f"{d['noop']['finished']} |",
            f"| jobs (submit, webhook, download, check, thumbnail) | {d['app']['n']:,} | {d['app']['seconds']:.1f} | "
            f"{d['app']['per_second']:.1f} | {d['app']['completed']:,} archived, {d['app']['quarantined']:,} "
            f"set aside |", "",
            f"Provider calls: submit {c.get('submit', 0):,}, status {c.get('status', 0):,}, cancel "
            f"{c.get('cancel', 0):,}, media downloads {c.get('media_file', 0):,}.", "",
            "CPU time per no-op task and per job, summed over each group's processes (the benchmark's own "
            "process runs the simulator, which renders and encodes each image, and the drain's polling):", "",
            "| run | worker | web | benchmark process (simulator) | all |", "|---|---|---|---|---|",
            cpu_row("no-op task", d["noop"]), cpu_row("job", d["app"]), ""]


def cpu_row(label, run):
    cpu = run.get("cpu", {})
    per = {name: seconds * 1000 / run["n"] for name, seconds in cpu.items()}
    return (f"| {label} | {ms(per.get('worker'))} | {ms(per.get('web'))} | {ms(per.get('bench'))} | "
            f"{ms(sum(per.values()) if per else None)} |")


def memory_section(r):
    lines = ["## Memory", "",
             "Sampled four times a second over the whole run. PSS shares pages common to forked processes "
             "between them, so the sum is what the group really holds; VmHWM is each process's own peak RSS.", "",
             "| process group | processes | peak PSS, sum | largest single-process VmHWM |", "|---|---|---|---|"]
    for name in ("web", "worker"):
        if name not in r["memory"]:
            continue
        m = r["memory"][name]
        lines.append(f"| {name} | {m['processes']} | {m['pss'] / MIB:.1f} MiB | {m['hwm'] / MIB:.1f} MiB |")
    return lines + [""]
