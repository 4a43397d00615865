"""Webhook → visible in the browser: the gallery open in Chromium as the member, jobs
running through the worker against the simulator, and for each job the time from the
simulator's completion webhook being answered 2xx to its image appearing in the page
(recorded in the page by a MutationObserver, in wall-clock milliseconds)."""

import os
import statistics
from pathlib import Path
from urllib.parse import urlsplit

from bench import drain
from bench.gallery import percentile
from generations import pipeline
from generations.models import Generation, Output

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
RECORD_IMAGES = """
window.__shown = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll("article.card")) {
    if (!window.__shown[card.id] && card.querySelector(".media img")) {
      window.__shown[card.id] = performance.timeOrigin + performance.now();
    }
  }
}).observe(document, {childList: true, subtree: true});
"""


def refresh_interval():
    """Seconds between a running card's polls (its hx-trigger="every …") once it is at the provider."""
    value = Generation(status=Generation.Status.QUEUED).card_refresh
    return float(value.removesuffix("ms")) / 1000 if value.endswith("ms") else float(value.removesuffix("s"))


def available():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def measure(base_url, session_key, sim, user, project, n, screenshot, timeout=180):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync ones.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ids = drain.drafts(user, project, n, prompt="browser")
    calls_before = dict(sim.calls)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": session_key, "domain": urlsplit(base_url).hostname,
                              "path": "/"}])
        context.add_init_script(RECORD_IMAGES)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(base_url + "/")
        page.wait_for_selector(f"#card-{ids[0]}")
        for pk in ids:
            pipeline.enqueue("submit_generation", pk)
        wanted = [f"card-{pk}" for pk in ids]
        try:
            page.wait_for_function("ids => ids.every(id => window.__shown[id])", arg=wanted, timeout=timeout * 1000)
        finally:
            page.screenshot(path=str(screenshot), full_page=True)
            if errors:
                print("browser errors:", *errors[:10], sep="\n  ")
        shown = page.evaluate("window.__shown")
        browser.close()
    request_ids = dict(Generation.objects.filter(pk__in=ids).values_list("pk", "request_id"))
    saved = dict(Output.objects.filter(generation__in=ids, position=0).values_list("generation_id", "archived_at"))
    latencies, saving = [], []
    for pk in ids:
        answered = sim.webhook_delivered_at.get(request_ids[pk])
        if answered and f"card-{pk}" in shown:
            latencies.append(shown[f"card-{pk}"] - answered * 1000)
            if saved.get(pk):
                saving.append(saved[pk].timestamp() * 1000 - answered * 1000)
    calls = {k: v - calls_before.get(k, 0) for k, v in sim.calls.items()}
    return {"n": n, "latencies": latencies, "p50": statistics.median(latencies) if latencies else None,
            "p95": percentile(latencies, 95) if latencies else None, "interval": refresh_interval(),
            "saved_p50": statistics.median(saving) if saving else None,
            "saved_p95": percentile(saving, 95) if saving else None,
            "calls": calls, "completed": Generation.objects.filter(pk__in=ids, archived=True).count()}
