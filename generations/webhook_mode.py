"""Whether the provider is given a webhook URL for a job, and why.

The service refuses a submit whose webhook URL is not https, resolves to a private or loopback
address, or carries credentials (PROTOCOL.md §2.6). So with a key (the real service, or any
account addressed as one) a webhook URL is sent only when PUBLIC_BASE_URL is https on a public
host; otherwise the job is submitted without one and polled, every FAST_POLL seconds while it is
young. The local simulator of `make run` accepts loopback webhooks (`--allow-loopback-webhooks`),
so without a key the URL is always sent. Submit, the poll schedule, the health page and the
banner all ask `for_account` here, so they never disagree."""

import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from generations.higgsfield import download

# While a job that gets no webhook is younger than YOUNG_SECONDS, it is polled every FAST_POLL s.
FAST_POLL = 2.0
YOUNG_SECONDS = 60
# How long one reading of PUBLIC_BASE_URL's addresses is trusted.
RESOLVE_SECONDS = 60
_resolved = {}


@dataclass(frozen=True)
class Mode:
    webhooks: bool
    reason: str

    @property
    def short(self):
        """The studio's line: as plain, without the why when webhooks work."""
        return "Results arrive by webhook." if self.webhooks else self.summary

    @property
    def summary(self):
        """One plain sentence for the banner and the health page."""
        if self.webhooks:
            return f"Results arrive by webhook ({self.reason})."
        return f"No webhook: {self.reason}, results are fetched by polling every {FAST_POLL:.0f} s at first."


def on_local_simulator(account):
    """Whether the account is the local simulator that runs without a key (`make run`): no key is
    configured and the account's base URL is on this machine."""
    if not settings.USE_SIMULATOR:
        return False
    base = account.base_url if account is not None else settings.HIGGSFIELD_BASE_URL
    host = urlsplit(base or settings.HIGGSFIELD_BASE_URL).hostname or ""
    return host == "localhost" or _is_loopback_literal(host)


def _is_loopback_literal(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_base_problem(url=None):
    """Why the service would refuse webhooks under `url` (PUBLIC_BASE_URL by default), or ""."""
    url = url if url is not None else settings.PUBLIC_BASE_URL
    parts = urlsplit(url)
    if parts.username or parts.password:
        return "PUBLIC_BASE_URL carries credentials"
    shown = f"PUBLIC_BASE_URL is {url or '(empty)'}"
    if parts.scheme != "https" or not parts.hostname:
        return f"{shown} (not public https)"
    addresses = _addresses(parts.hostname, parts.port or 443)
    if addresses is None:
        return f"{shown} (its host does not resolve)"
    if not addresses or not all(download.is_public(address) for address in addresses):
        return f"{shown} (not a public address)"
    return ""


def _addresses(host, port):
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    now = time.monotonic()
    cached = _resolved.get((host, port))
    if cached and cached[0] > now:
        return cached[1]
    try:
        found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in download.resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        found = None
    _resolved[(host, port)] = (now + RESOLVE_SECONDS, found)
    return found


def for_account(account=None):
    """The mode for jobs on `account` (the environment's Model API account when None)."""
    surface = getattr(account, "surface", "model_api")
    if surface == "fnf":
        return Mode(False, "the web app (fnf) sends no webhooks")
    if settings.USE_SIMULATOR and (account is None or on_local_simulator(account)):
        return Mode(True, f"the local simulator accepts loopback webhooks at {settings.PUBLIC_BASE_URL}")
    problem = public_base_problem()
    if problem:
        return Mode(False, problem)
    return Mode(True, f"at {settings.PUBLIC_BASE_URL}")


def url_for(generation):
    """The webhook URL to send with this job's submit, or "" to submit without one."""
    return generation.webhook_url if for_account(generation.account).webhooks else ""


def polls_fast(generation, now_seconds):
    """Whether a job that gets no webhook is still young enough to be polled every FAST_POLL s.
    `now_seconds` is its age since the submit."""
    return now_seconds < YOUNG_SECONDS and not for_account(generation.account).webhooks


def clear_cache():
    _resolved.clear()
