"""Gallery timings over HTTP against the web process, beside the bare views, and query
counts in-process with the test client. What the browser asks for:

- page: GET / (the full gallery, studio form included for a member);
- list: GET / as htmx targeting #generation-list (after a submit, paging, filters);
- card: GET /g/<id>/card/ — each running card polls this every 2 s; a full render;
- unchanged: the same poll when nothing about the card changed since it was drawn.

Each request goes on a new connection (runserver answers keep-alive requests about 40 ms
late: headers and body leave in two writes and the second waits for a delayed ACK). The
figures are the time Django spent (its Server-Timing header); the time seen by the client,
HTTP server included, is reported beside them."""

import re
import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

CLOSE = {"Connection": "close"}
HX = {**CLOSE, "HX-Request": "true"}
HX_LIST = {**HX, "HX-Target": "generation-list"}


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def timed(http, url, headers, n):
    """n sequential requests after a warm-up: (Django ms, client ms, last status code)."""
    headers = {**CLOSE, **headers}
    for _ in range(3):
        http.get(url, headers=headers)
    server, client, status = [], [], None
    for _ in range(n):
        started = time.perf_counter()
        response = http.get(url, headers=headers)
        client.append((time.perf_counter() - started) * 1000)
        server.append(float(response.headers["Server-Timing"].partition("dur=")[2]))
        status = response.status_code
    return server, client, status


def poll_url(http, card_url):
    """The URL a drawn card polls next (its hx-get), as the browser would send it."""
    html = http.get(card_url, headers=HX).text
    found = re.search(r'hx-get="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else card_url


def queries(user, url, headers):
    client = Client()
    client.force_login(user)
    client.get(url, headers=headers)  # warm caches the way a running process has them
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    return len(captured), response.status_code


def measure(http, user, card_pk, size, n_page=100, n_fragment=100):
    """One row per endpoint: app and bare timings (p50/p95 ms), query counts."""
    card_url = f"/g/{card_pk}/card/"
    bare = f"/_bench/card/{card_pk}/?user={user.pk}"
    unchanged = poll_url(http, card_url)
    cases = [
        ("page", "/", {}, f"/_bench/gallery/?user={user.pk}", n_page),
        ("list", "/", HX_LIST, f"/_bench/gallery/list/?user={user.pk}", n_fragment),
        ("card", card_url, HX, bare, n_fragment),
        ("unchanged", unchanged, HX, bare + "&seen=1", n_fragment),
    ]
    rows = []
    for name, url, headers, bare_url, n in cases:
        app, app_wall, status = timed(http, url, headers, n)
        bare, bare_wall, _ = timed(http, bare_url, headers, n)
        count, _ = queries(user, url, headers)
        rows.append({
            "size": size, "what": name, "url": url, "status": status, "n": n, "queries": count,
            "app_p50": statistics.median(app), "app_p95": percentile(app, 95),
            "bare_p50": statistics.median(bare), "bare_p95": percentile(bare, 95),
            "app_wall_p95": percentile(app_wall, 95), "bare_wall_p95": percentile(bare_wall, 95),
        })
    return rows
