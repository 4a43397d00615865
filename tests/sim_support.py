"""Helpers for tests that talk to a real simulator over HTTP: one started per module,
a fresh account per test (so balances and concurrency never leak between tests),
and a webhook receiver that records what arrives."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from generations import higgsfield
from higgsweb.simulator.app import Config, Simulator
from higgsweb.simulator.server import SimulatorServer

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEXT_SECRET = "whsec_dGVzdC1yb3RhdGlvbi1zZWNyZXQtMDEyMzQ1Ng=="


def start_simulator(**config):
    """A simulator whose jobs stay queued until the test advances its clock. It accepts the
    WebhookReceiver's loopback URLs (`allow_loopback_webhooks`) unless a test says otherwise."""
    options = {"keys": {}, "webhook_secrets": [WEBHOOK_SECRET], "queue_seconds": 30, "run_seconds": 30,
               "webhook_backoff": 0.05, "allow_loopback_webhooks": True} | config
    sim = Simulator(Config(**options))
    server = SimulatorServer(sim).start()
    sim.url = server.url
    sim.server = server
    return sim


def new_account(sim, surface="model_api"):
    """Register fresh credentials on the simulator; return a Connection that uses them."""
    key_id, secret = f"key-{uuid.uuid4().hex[:12]}", uuid.uuid4().hex
    sim.config.keys[key_id] = secret
    conn = higgsfield.Connection(surface, sim.url, key_id, secret)
    return conn


def finish(sim):
    """Move the simulator's clock past every job's queue and run time."""
    sim.advance_clock(sim.config.queue_seconds + sim.config.run_seconds + 1)


def wait_for(predicate, timeout=10.0):
    """Poll until `predicate()` is truthy (webhooks arrive on another thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


class WebhookReceiver:
    """A loopback HTTP server recording deliveries; `answers` scripts the status codes."""

    def __init__(self):
        self.received = []
        self.answers = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def payloads(self):
        return [json.loads(body) for _, body in self.received]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
