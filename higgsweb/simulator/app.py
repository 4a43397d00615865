"""The simulator's state and behaviour: accounts, jobs with a time-driven lifecycle,
media, webhooks. Surfaces (modules in this package) add routes to `app.router`."""

import hashlib
import io
import ipaddress
import json
import logging
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from . import media
from .catalogue import SOUL_SIZES  # noqa: F401  (re-exported for surface modules)
from .jobs import SURFACE_NOTIFIERS
from .server import Response, Router, detail, json_response

log = logging.getLogger("higgsweb.simulator")

ASPECT_BASE = 1024


@dataclass
class Config:
    keys: dict = field(default_factory=lambda: {"sim-key": "sim-secret"})  # key id → secret
    webhook_secrets: list = field(default_factory=list)  # whsec_… (two during a rotation)
    queue_seconds: float = 0.5
    run_seconds: float = 1.5
    retention_seconds: float = 7 * 24 * 3600
    webhook_attempts: int = 6
    webhook_backoff: float = 0.5  # first retry delay; doubles each time
    fail_keyword: str = "simulate-failure"
    nsfw_keyword: str = "simulate-nsfw"
    # Credits every account starts with; `Simulator.set_balance` changes one account.
    starting_credits: Decimal = Decimal("1000")
    # "reject": above `concurrency_limit` queued+in_progress → 400 (older docs).
    # "queue": accept and wait; 429 account_queue_full once `concurrency_limit × queue_multiple`
    # requests wait (newer docs).
    concurrency_mode: str = "reject"
    concurrency_limit: int = 4
    queue_multiple: int = 2
    blocked_models: set = field(default_factory=set)  # → 423
    disabled_models: set = field(default_factory=set)  # → 503 model_disabled
    upload_ttl_seconds: float = 3600
    # Where output files are served from: "" = the simulator's own origin (plain http on
    # loopback, for `make run`); an https origin such as "https://media.sim-cdn.test" when a
    # TLS listener serves the media under that name (SimulatorServer(media_ssl=…)), as the
    # real service's CDN does.
    media_origin: str = ""
    # The service refuses a submit whose webhook URL is not https, resolves to a non-public
    # address or carries credentials (PROTOCOL.md §2.6). This switch also accepts http(s)
    # URLs on loopback, so the local demo (`make run`) and tests get their webhooks.
    allow_loopback_webhooks: bool = False
    # Send deliveries without Standard Webhooks headers, as the service does before the
    # account's whsec_ secret is first revealed.
    webhook_unsigned: bool = False
    # How job-set results (v1, fnf) and Pixazo label their outputs, each documented somewhere:
    # "kind" (`type: "image"`), "mime" (`type: "image/png"`, seed 004), "opaque"
    # (`application/octet-stream` and files named `output.ext`, as Pixazo shows).
    result_types: str = "kind"
    # Host name → addresses, consulted before DNS when checking webhook URLs (tests name
    # public-looking hosts this way without a resolver).
    dns: dict = field(default_factory=dict)
    # Fault switches (the admin page and tests flip these). Bursts count down per request.
    faults: dict = field(default_factory=lambda: {
        "webhook_drop": False, "webhook_duplicate": False, "webhook_reorder": False,
        "webhook_delay_seconds": 0.0, "status_5xx_burst": 0, "status_429_burst": 0,
        "submit_5xx_burst": 0, "submit_429_burst": 0, "upload_unavailable": False,
        "submit_delay_seconds": 0.0, "media_delay_seconds": 0.0,
        # The job is created and charged, then the answer is lost: a 504 as a proxy in front gives.
        "submit_answer_lost_burst": 0,
        # Model API: treat every Idempotency-Key as new, as the older docs say submits do.
        "ignore_idempotency": False})


class Simulator:
    def __init__(self, config=None):
        self.config = config or Config()
        self.router = Router()
        self.lock = threading.RLock()
        self.jobs = {}
        self.offset = 0.0  # the clock can be advanced
        self.media_cache = OrderedDict()
        self.deliveries = queue.Queue()
        self.delivery_log = []  # (url, status or error, attempt) for the admin page and tests
        self.media_requests = 0
        self.calls = Counter()  # route name → requests served (for benchmarks)
        self.webhook_delivered_at = {}  # request id → wall time its final webhook was answered 2xx
        self.held_deliveries = []  # webhooks waiting to be sent out of order (webhook_reorder)
        self.balances = {}  # account → Decimal credits
        self.idempotency = {}  # (account, Idempotency-Key) → (fingerprint, request_id)
        self.uploads = {}  # upload id → Upload
        self.stopping = threading.Event()
        self.threads = []
        from . import control, fnf, library, model_api, pixazo, seed_api, uploads, v1  # surfaces register routes

        control.register(self)
        uploads.register(self)
        library.register(self)
        v1.register(self)  # the other surfaces come before the Model API's catch-all POST /{model_id}
        fnf.register(self)
        pixazo.register(self)
        seed_api.register(self)
        model_api.register(self)

    # --- clock -------------------------------------------------------------------
    def now(self):
        return time.time() + self.offset

    def advance_clock(self, seconds):
        with self.lock:
            self.offset += seconds

    # --- requests ------------------------------------------------------------------
    def handle(self, request):
        response = self.router.dispatch(request)
        with self.lock:
            self.calls[request.route or "unmatched"] += 1
        return response

    def account_for(self, request):
        """The key id of valid credentials on the request, or None."""
        headers = request.headers
        auth = headers.get("authorization", "")
        if auth.startswith("Key "):
            key_id, _, secret = auth[4:].strip().partition(":")
        elif "hf-api-key" in headers:
            key_id, secret = headers.get("hf-api-key", ""), headers.get("hf-secret", "")
        else:
            return None
        if key_id in self.config.keys and self.config.keys[key_id] == secret:
            return key_id
        return None

    def unauthorized(self):
        return detail("Invalid credentials", 401)

    def fault_response(self, kind, too_many=None):
        """A burst switch's answer for a `submit` or `status` call, or None: 500s first, then 429s
        with Retry-After. Every surface's submit and status routes ask this first."""
        if self.take_fault(f"{kind}_5xx_burst"):
            return detail("Internal Server Error", 500)
        if self.take_fault(f"{kind}_429_burst"):
            return json_response(too_many or {"detail": "Too many requests"}, 429, {"Retry-After": "1"})
        return None

    def take_fault(self, name):
        """Consume one unit of a counted fault switch (e.g. a 5xx burst)."""
        with self.lock:
            if self.config.faults.get(name, 0) > 0:
                self.config.faults[name] -= 1
                return True
        return False

    # --- webhook URLs -----------------------------------------------------------------
    def webhook_refusal(self, url):
        """Why the service would refuse `url` as a webhook URL (PROTOCOL.md §2.6), or ""."""
        parts = urlsplit(url)
        if parts.username or parts.password:
            return "Webhook URL must not carry credentials"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "Webhook URL must be an https URL"
        try:
            names = self.config.dns.get(parts.hostname) or [
                info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)]
            addresses = {ipaddress.ip_address(name.split("%", 1)[0]) for name in names}
        except (OSError, UnicodeError, ValueError):
            return "Webhook URL host could not be resolved"
        if self.config.allow_loopback_webhooks and all(_loopback(a) for a in addresses):
            return ""
        if parts.scheme != "https":
            return "Webhook URL must be an https URL"
        if not all(_public(a) for a in addresses):
            return "Webhook URL must resolve only to public addresses"
        return ""

    # --- credits -------------------------------------------------------------------
    def balance(self, account):
        self.settle()
        with self.lock:
            return self.balances.get(account, self.config.starting_credits)

    def set_balance(self, account, credits):
        with self.lock:
            self.balances[account] = Decimal(str(credits))

    def charge(self, account, credits):
        """Take `credits` from the account; False (and nothing taken) if it has too few."""
        credits = Decimal(str(credits))
        with self.lock:
            current = self.balances.get(account, self.config.starting_credits)
            if current < credits:
                return False
            self.balances[account] = current - credits
        return True

    def refund(self, account, credits):
        with self.lock:
            self.balances[account] = self.balances.get(account, self.config.starting_credits) + Decimal(str(credits))

    def charge_job(self, job, credits):
        """Charge a job on acceptance; it is refunded if it ends failed, nsfw or canceled."""
        if not self.charge(job.account, credits):
            return False
        job.extra["charged"] = Decimal(str(credits))
        return True

    def settle(self, now=None):
        """Refund every charged job that ended without outputs (idempotent)."""
        with self.lock:
            for job in self.jobs.values():
                if job.extra.get("charged") and not job.extra.get("refunded") \
                        and job.status(self, now) in ("failed", "nsfw", "canceled"):
                    job.extra["refunded"] = True
                    self.balances[job.account] = self.balances.get(
                        job.account, self.config.starting_credits) + job.extra["charged"]

    # --- concurrency ---------------------------------------------------------------
    def in_flight(self, account, now=None):
        now = self.now() if now is None else now
        with self.lock:
            return [job for job in self.jobs.values() if job.account == account and not job.deleted
                    and job.status(self, now) in ("queued", "in_progress")]

    def admission(self, account):
        """(error Response or None, seconds the new job waits for a slot) under the
        configured concurrency mode. Call with `self.lock` held, then add the job."""
        config, now = self.config, self.now()
        active = self.in_flight(account, now)
        limit = config.concurrency_limit
        if len(active) < limit:
            return None, 0.0
        if config.concurrency_mode != "queue":
            return detail(f"Maximum number of concurrent requests ({limit}) has been reached", 400), 0.0
        finishes = sorted(job.finished_at(self) for job in active)
        waiting = len(active) - limit
        queue_limit = limit * config.queue_multiple
        if waiting >= queue_limit:
            retry_after = max(1, int(finishes[0] - now + 0.999))
            return Response(429, json.dumps({
                "detail": f"Account queue is full ({queue_limit} requests waiting); retry later",
                "code": "account_queue_full", "limit": queue_limit}).encode(), "application/json",
                {"Retry-After": str(retry_after)}), 0.0
        # Starts when the (waiting+1)-th earliest running job frees its slot.
        return None, max(0.0, finishes[waiting] - now)

    # --- jobs ----------------------------------------------------------------------
    def outcome_for(self, payload, headers):
        wanted = headers.get("x-simulate-outcome", "")
        text = json.dumps(payload).lower()
        if wanted == "failed" or self.config.fail_keyword in text:
            return "failed", "Generation failed (simulated)."
        if wanted == "nsfw" or self.config.nsfw_keyword in text:
            return "nsfw", ""
        return "completed", ""

    def add_job(self, job):
        with self.lock:
            self.jobs[job.request_id] = job
        return job

    def get_job(self, request_id, account=None):
        with self.lock:
            job = self.jobs.get(request_id)
        if job is None or job.deleted or (account is not None and job.account != account):
            return None
        return job

    def media_base(self, origin):
        """The origin output files are served from, for a request that came to `origin`."""
        return self.config.media_origin.rstrip("/") or origin

    def output_urls(self, job, variant="raw"):
        urls = []
        base = self.media_base(job.origin)
        for kind, _width, _height, index in job.outputs:
            ext = {"image": job.extra.get("image_format", "png"), "video": "mp4", "audio": "wav"}[kind]
            suffix = "_min.webp" if variant == "min" and kind == "image" else f".{ext}"
            if self.config.result_types == "opaque" and variant == "raw":
                suffix = "/output.ext"  # no extension to go by, served as application/octet-stream
            urls.append((kind, f"{base}/_media/{job.request_id}/{index}{suffix}"))
        return urls

    def result_type(self, job, kind, variant="raw"):
        """How a result's `type` reads under `result_types` (kind, MIME type or opaque)."""
        mode = self.config.result_types
        if mode == "opaque":
            return "application/octet-stream"
        if mode != "mime":
            return kind
        if kind == "image":
            return "image/webp" if variant == "min" else f"image/{job.extra.get('image_format', 'png')}"
        return "image/webp" if variant == "min" else {"video": "video/mp4", "audio": "audio/wav"}[kind]

    def media_bytes(self, request_id, index, variant):
        """Render (and cache) one output file; None if unknown or expired."""
        job = self.get_job(request_id)
        if job is None or job.status(self) != "completed" or self.now() > job.expires_at(self):
            return None
        spec = next((o for o in job.outputs if o[3] == index), None)
        if spec is None:
            return None
        key = (request_id, index, variant)
        with self.lock:
            if key in self.media_cache:
                self.media_cache.move_to_end(key)
                return self.media_cache[key]
        kind, width, height, _ = spec
        prompt = str(job.payload.get("prompt", ""))
        seed = job.payload.get("seed") or int(hashlib.sha256(job.request_id.encode()).hexdigest()[:6], 16)
        if kind == "image":
            image = media.render_image(prompt, seed, width, height, index)
            if variant == "min":
                image.thumbnail((512, 512))
                data = (media.encode_image(image, "WEBP"), "image/webp")
            elif job.extra.get("image_format") == "jpeg":
                data = (media.encode_image(image, "JPEG"), "image/jpeg")
            else:
                data = (media.encode_image(image, "PNG"), "image/png")
        elif kind == "video":
            seconds = min(4, int(job.extra.get("seconds", 3)))
            data = (media.render_video(prompt, seed, width, height, seconds=seconds,
                                       start_image=job.extra.get("start_image") or self.start_image(job)),
                    "video/mp4")
        else:
            data = (job.extra.get("audio_bytes", b""), "audio/wav")
        with self.lock:
            self.media_cache[key] = data
            while len(self.media_cache) > 64:
                self.media_cache.popitem(last=False)
        return data

    def start_image(self, job):
        """The first image input of a job when it was uploaded here, as a PIL image."""
        from PIL import Image, UnidentifiedImageError

        for name in ("image_url", "first_frame_url", "image_urls", "input_images"):
            value = job.payload.get(name)
            if isinstance(value, list):
                value = value[0] if value else None
            if isinstance(value, dict):
                value = value.get("image_url")
            data = self.upload_bytes(value) if isinstance(value, str) else None
            if data:
                try:
                    return Image.open(io.BytesIO(data)).convert("RGB")
                except (UnidentifiedImageError, OSError):
                    return None
        return None

    def upload_bytes(self, url):
        """Bytes of a file uploaded to this simulator, looked up by its public URL."""
        from .uploads import upload_id_from_url

        upload = self.uploads.get(upload_id_from_url(url) or "")
        return upload.data if upload is not None and upload.data is not None else None

    def serve_media(self, request):
        self.media_requests += 1
        time.sleep(float(self.config.faults.get("media_delay_seconds") or 0))
        name = request.params["name"]
        if request.params.get("opaque"):
            name = f"{name}.bin"
        index_part, _, ext = name.partition(".")
        variant = "min" if index_part.endswith("_min") else "raw"
        try:
            index = int(index_part.removesuffix("_min"))
        except ValueError:
            return detail("Not Found", 404)
        found = self.media_bytes(request.params["request_id"], index, variant)
        if found is None:
            return detail("Not Found", 404)
        body, content_type = found
        if request.params.get("opaque"):
            content_type = "application/octet-stream"
        return Response(200, body, content_type, {"Cache-Control": "private, max-age=600"})

    # --- webhooks ------------------------------------------------------------------
    def sign_headers(self, body):
        headers = {"Content-Type": "application/json"}
        if self.config.webhook_secrets and not self.config.webhook_unsigned:
            msg_id = "msg_" + uuid.uuid4().hex
            stamp = datetime.now(UTC)
            signatures = [Webhook(secret).sign(msg_id, stamp, body.decode()) for secret in self.config.webhook_secrets]
            headers.update({"webhook-id": msg_id, "webhook-timestamp": str(int(stamp.timestamp())),
                            "webhook-signature": " ".join(signatures)})
        return headers

    def queue_webhook(self, url, payload, extra_headers=None, delay=0.0):
        body = json.dumps(payload).encode()
        headers = self.sign_headers(body)
        headers.update(extra_headers or {})
        faults = self.config.faults
        if faults.get("webhook_drop"):
            self.delivery_log.append((url, "dropped", 0))
            return
        delay += float(faults.get("webhook_delay_seconds") or 0)
        copies = 2 if faults.get("webhook_duplicate") else 1
        for _ in range(copies):
            item = (time.monotonic() + delay, url, body, headers, 1)
            if faults.get("webhook_reorder"):
                with self.lock:
                    self.held_deliveries.append(item)
            else:
                self.deliveries.put(item)

    def release_held(self, force=False):
        """webhook_reorder: once two deliveries are held (or one waited 2 s), send them newest first."""
        with self.lock:
            held = self.held_deliveries
            if not held or not (force or len(held) >= 2 or time.monotonic() - held[0][0] > 2.0):
                return
            self.held_deliveries = []
        now = time.monotonic()
        for offset, (_, url, body, headers, attempt) in enumerate(reversed(held)):
            self.deliveries.put((now + offset * 0.05, url, body, headers, attempt))

    def _deliver_loop(self):
        pending = []
        while not self.stopping.is_set():
            try:
                pending.append(self.deliveries.get(timeout=0.05))
            except queue.Empty:
                pass
            self.release_held(force=not self.config.faults.get("webhook_reorder"))
            now = time.monotonic()
            due = sorted((item for item in pending if item[0] <= now), key=lambda item: item[0])
            pending = [item for item in pending if item[0] > now]
            for _, url, body, headers, attempt in due:
                self._deliver(url, body, headers, attempt, pending)

    def _deliver(self, url, body, headers, attempt, pending):
        if not url.startswith(("http://", "https://")):
            self.delivery_log.append((url, "refused: not http(s)", attempt))
            return
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            status = f"error: {exc}"
        self.delivery_log.append((url, status, attempt))
        if isinstance(status, int) and status < 300:
            try:
                request_id = json.loads(body).get("request_id") or json.loads(body).get("id")
            except (ValueError, AttributeError):
                request_id = None
            if request_id:
                self.webhook_delivered_at.setdefault(str(request_id), time.time())
        retry = not isinstance(status, int) or status >= 500
        if retry and attempt < self.config.webhook_attempts:
            delay = self.config.webhook_backoff * 2 ** (attempt - 1)
            pending.append((time.monotonic() + delay, url, body, headers, attempt + 1))

    def _tick_loop(self):
        while not self.stopping.wait(0.05):
            self.tick()

    def tick(self):
        """Settle credits and fire webhooks for jobs that reached a final state since the last tick."""
        self.settle()
        with self.lock:
            jobs = [job for job in self.jobs.values() if not job.notified]
        for job in jobs:
            status = job.status(self)
            if status in ("completed", "failed", "nsfw") or (status == "canceled" and job.extra.get("notify_cancel")):
                job.notified = True
                surface = SURFACE_NOTIFIERS.get(job.surface)
                if surface and job.webhook_url and status == "completed":
                    threading.Thread(target=self._notify_when_stored, args=(surface, job), daemon=True).start()
                elif surface and job.webhook_url:
                    surface(self, job)

    def _notify_when_stored(self, surface, job):
        """The service's files are on its CDN when it reports a job completed; here they are drawn
        on first request, so a completed job's are drawn before its webhook goes (a download
        that follows the webhook finds them ready, as it would there)."""
        for _kind, _width, _height, index in job.outputs:
            self.media_bytes(job.request_id, index, "raw")
        surface(self, job)

    def start(self):
        for target in (self._tick_loop, self._deliver_loop):
            thread = threading.Thread(target=target, daemon=True, name=target.__name__)
            thread.start()
            self.threads.append(thread)

    def stop(self):
        self.stopping.set()


def _embedded_ipv4(address):
    if address.version == 6:
        return address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
    return None


def _loopback(address):
    return address.is_loopback or bool((inner := _embedded_ipv4(address)) and inner.is_loopback)


def _public(address):
    inner = _embedded_ipv4(address)
    if inner is not None and not _public(inner):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)

