"""The live feed: how soon new work shows in an open gallery, and what an open tab costs.

- appears: the member's gallery open in Chromium; jobs are started as another tab of theirs
  would start them (the studio's pipeline.start, in this process), and a teammate's finished
  job is put in a gallery of the project; for each, the time from its commit to its card
  appearing in the page (a MutationObserver notes it, in wall-clock milliseconds).
- idle tabs: N simulated open galleries with nothing happening, each asking its feed once a
  second as the page does (keep-alive, like a browser), for a while; the web server's CPU time
  (user + system, from /proc) over that time, less what it uses with no tab open, per tab. Beside
  it the same number of tabs polling the bare feed (bench.bare: the same "anything of mine newer
  than this?" query and a 204, without the app's middleware).

Webhook → visible (a result landing in its card) is the browser part (bench/browser.py)."""

import os
import re
import statistics
import threading
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from django.utils import timezone

from bench import drain
from bench.browser import ARGS, CHROMIUM
from bench.gallery import percentile
from generations import feed
from generations.models import Gallery, Generation
from higgsweb.models import User

RECORD_CARDS = """
window.__appeared = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll("article.card")) {
    if (!window.__appeared[card.id]) window.__appeared[card.id] = performance.timeOrigin + performance.now();
  }
}).observe(document, {childList: true, subtree: true});
"""


def interval_seconds():
    value = feed.INTERVAL
    return float(value.removesuffix("ms")) / 1000 if value.endswith("ms") else float(value.removesuffix("s"))


def _teammate_job(project, n):
    """A teammate's finished job, not yet in any gallery."""
    teammate, _ = User.objects.get_or_create(username="bench-teammate", defaults={"role": User.Role.MEMBER})
    return Generation.objects.create(owner=teammate, project=project, model_id="higgsfield-ai/soul/standard",
                                     params={"prompt": f"teammate {n}"}, status=Generation.Status.COMPLETED,
                                     archived=True, finished_at=timezone.now(),
                                     created_at=timezone.now() - timedelta(days=30))


def appears(base_url, session_key, user, project, n=10):
    """Seconds from each new job's commit to its card in the open gallery, own (other tab) and a
    teammate's (put in a gallery)."""
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    gallery = Gallery.objects.create(project=project, name="Bench picks", created_by=user)
    started, errors = {}, []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": session_key, "domain": urlsplit(base_url).hostname,
                              "path": "/"}])
        context.add_init_script(RECORD_CARDS)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base_url + "/")
        page.wait_for_selector("#live-feed", state="attached")
        for i in range(n):
            time.sleep(0.37 + (i % 5) * 0.23)  # out of step with the polls
            if i % 2:
                job = _teammate_job(project, i)
                gallery.add(job, by=job.owner)
                started[f"card-{job.pk}"] = ("teammate", time.time() * 1000)
            else:
                (pk,) = drain.drafts(user, project, 1, prompt=f"other tab {i}")
                started[f"card-{pk}"] = ("own", time.time() * 1000)
        page.wait_for_function("ids => ids.every(id => window.__appeared[id])", arg=list(started), timeout=30_000)
        appeared = page.evaluate("window.__appeared")
        browser.close()
    latencies = {"own": [], "teammate": []}
    for card, (kind, at) in started.items():
        latencies[kind].append(appeared[card] - at)
    every = latencies["own"] + latencies["teammate"]
    return {"n": len(every), "latencies": latencies, "p50": statistics.median(every),
            "p95": percentile(every, 95), "max": max(every), "errors": errors[:5]}


def with_cursor(url, html):
    """`url` asking from the feed cursor in `html` (the inputs the page's poller includes)."""
    cursor = re.search(r'id="(?:gallery-)?feed-cursor".*?</span>', html, re.S)
    if not cursor:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("since", "seen")]
    query += re.findall(r'name="(since|seen)" value="([^"]*)"', cursor.group(0))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _poll(base_url, url, cookies, seconds, every, out):
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, cookies=cookies, timeout=30) as http:
        following = time.monotonic()
        while time.monotonic() < deadline:
            response = http.get(url, headers={"HX-Request": "true"})
            out.append((response.status_code,
                        float(response.headers.get("Server-Timing", "dur=0").partition("dur=")[2] or 0)))
            if response.status_code == 200:  # new cards: the page swaps in the feed's next cursor
                url = with_cursor(url, response.text)
            following += every
            time.sleep(max(0.0, following - time.monotonic()))


def _tabs(web, base_url, url, cookies, tabs, seconds, every):
    results = []
    threads = [threading.Thread(target=_poll, args=(base_url, url, cookies, seconds, every, results))
               for _ in range(tabs)]
    before = web.cpu_seconds()
    for i, thread in enumerate(threads):
        thread.start()
        time.sleep(every / tabs if i < tabs - 1 else 0)  # spread, as tabs opened at different times are
    for thread in threads:
        thread.join()
    cpu = web.cpu_seconds() - before
    timings = [duration for _, duration in results]
    return {"cpu": cpu, "requests": len(results), "statuses": sorted(Counter(status for status, _ in results).items()),
            "p50": statistics.median(timings), "p95": percentile(timings, 95)}


def idle_tabs(web, base_url, session_key, user, tabs=20, seconds=30):
    """CPU per open tab with nothing new, the app's feed beside the bare one."""
    every = interval_seconds()
    cookies = {"sessionid": session_key}
    html = httpx.get(base_url + "/", cookies=cookies, timeout=60).text
    url = with_cursor(re.search(r'id="live-feed"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&"), html)
    since = re.search(r"since=(\d+)", url).group(1)
    before = web.cpu_seconds()
    time.sleep(seconds)
    idle = web.cpu_seconds() - before
    app = _tabs(web, base_url, url, cookies, tabs, seconds, every)
    bare = _tabs(web, base_url, f"/_bench/feed/?user={user.pk}&since={since}", {}, tabs, seconds, every)
    for run in (app, bare):
        run["per_tab"] = max(0.0, run["cpu"] - idle) / tabs / seconds  # CPU seconds per second, per tab
    return {"tabs": tabs, "seconds": seconds, "every": every, "idle": idle, "app": app, "bare": bare}
