"""The HTTP core: one httpx client per call, explicit timeouts, one error mapping,
and a bounded retry loop that only repeats what is safe to repeat."""

import functools
import logging
import random
import time
from dataclasses import dataclass

import httpx

from . import errors

log = logging.getLogger("generations.higgsfield")

# Cloudflare in front of the provider rejects some non-browser clients (403 / 1010).
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) higgsweb/1.0"
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
RETRY_STATUSES = {500, 502, 503, 504}


@dataclass(frozen=True)
class Connection:
    """Where and as whom to call one provider account."""

    surface: str  # model_api | v1 | fnf | pixazo
    base_url: str
    key_id: str = ""
    key_secret: str = ""

    def auth_headers(self):
        if self.surface == "v1":
            return {"hf-api-key": self.key_id, "hf-secret": self.key_secret}
        if self.surface == "fnf":
            return {"Authorization": f"Bearer {self.key_secret or self.key_id}"}
        if self.surface == "pixazo":
            return {"Ocp-Apim-Subscription-Key": self.key_secret or self.key_id, "Cache-Control": "no-cache"}
        key = self.key_id if ":" in self.key_id else f"{self.key_id}:{self.key_secret}"
        return {"Authorization": f"Key {key}"}


@functools.cache
def tls_context():
    """One verifying TLS context per process, shared by every client. Building one loads
    the whole CA bundle (tens of ms of CPU), which each call used to do again."""
    return httpx.create_ssl_context()


def http_client(conn, transport=None, *, authenticated=True):
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if authenticated:
        headers.update(conn.auth_headers())
    return httpx.Client(base_url=conn.base_url, headers=headers, timeout=TIMEOUT, verify=tls_context(),
                        transport=transport, follow_redirects=False)


def _detail(response):
    try:
        body = response.json()
    except ValueError:
        return response.text[:500], {}
    if not isinstance(body, dict):
        return body, {}
    for key in ("detail", "message", "error", "details"):
        if body.get(key):
            return body[key], body
    return body, body


def field_errors_from(detail):
    """Map a FastAPI 422 list to {field: [messages]}; `loc` is ["body", (params,) field, ...]."""
    fields = {}
    if not isinstance(detail, list):
        return fields
    for item in detail:
        if not isinstance(item, dict):
            continue
        loc = [str(part) for part in item.get("loc", []) if part not in ("body", "params", "header", "query")]
        name = loc[0] if loc else "__all__"
        fields.setdefault(name, []).append(item.get("msg") or "Invalid value.")
    return fields


def _retry_after(response):
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def error_for(response, *, cancel=False):
    """Turn a non-2xx response into the matching ProviderError."""
    status = response.status_code
    detail, body = _detail(response)
    text = detail if isinstance(detail, str) else ""
    kwargs = {"status": status, "detail": detail, "correlation_id": correlation_id(response) or None}
    if status == 400:
        if "concurrent" in text.lower():
            return errors.ConcurrencyLimit(**kwargs)
        if cancel:
            return errors.CancelRejected(**kwargs)
        return errors.BadRequest(f"The provider rejected the request: {text}" if text else None, **kwargs)
    if status == 401:
        return errors.AuthError(**kwargs)
    if status == 402:
        return errors.NotEnoughCredits(f"Insufficient balance: {text}" if text else None, **kwargs)
    if status == 403:
        if "credit" in text.lower() or "balance" in text.lower():
            return errors.NotEnoughCredits(**kwargs)
        return errors.Forbidden(f"The provider refused access: {text}" if text else None, **kwargs)
    if status == 404:
        return errors.NotFound(**kwargs)
    if status == 409:
        return errors.ModeUnavailable(f"This model mode is not available: {text}" if text else None, **kwargs)
    if status == 422:
        fields = field_errors_from(detail)
        message = "The provider rejected some parameters: " + (
            "; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()) if fields else (text or "invalid input"))
        return errors.ValidationFailed(message, field_errors=fields, **kwargs)
    if status == 423:
        return errors.ModelBlocked(**kwargs)
    if status == 429:
        retry_after = _retry_after(response)
        wait = f" Retry after {retry_after:.0f} s." if retry_after is not None else ""
        if body.get("code") == "account_queue_full":
            limit = body.get("limit")
            queue = f" ({limit} waiting)" if limit is not None else ""
            return errors.QueueFull(f"The provider account's queue is full{queue}.{wait}", limit=limit,
                                    retry_after=retry_after, **kwargs)
        return errors.RateLimited(errors.RateLimited.default_message + wait, retry_after=retry_after, **kwargs)
    if status == 503:
        message = f"The provider service is unavailable: {text}" if text else None
        return errors.Unavailable(message, retry_after=_retry_after(response), **kwargs)
    if status >= 500:
        return errors.ServerError(f"The provider had an internal error ({status}).", **kwargs)
    return errors.ProviderError(f"Unexpected provider answer ({status}).", **kwargs)


def request(conn, method, url, *, json=None, params=None, headers=None, retries=0, cancel=False,
            transport=None, authenticated=True, content=None, expect_json=True):
    """Make one API call. `retries` > 0 repeats network errors and 5xx with
    exponential backoff and jitter; callers pass it only where repeating is safe
    (GETs, and submits that carry an Idempotency-Key)."""
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        try:
            with http_client(conn, transport, authenticated=authenticated) as client:
                response = client.request(method, url, json=json, params=params, headers=headers,
                                          content=content)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # before a byte was sent
            error = errors.ConnectFailed(f"Could not connect to the provider ({exc.__class__.__name__}); "
                                         "nothing was sent.")
            _log_call(conn, method, url, None, started, attempt, error=exc.__class__.__name__)
        except httpx.TransportError as exc:
            error = errors.NetworkError(f"Could not reach the provider: {exc.__class__.__name__}.")
            _log_call(conn, method, url, None, started, attempt, error=exc.__class__.__name__)
        else:
            _log_call(conn, method, response.request.url.path, response, started, attempt)
            if response.status_code < 400:
                if not expect_json or not response.content:
                    return response, None
                try:
                    return response, response.json()
                except ValueError as exc:
                    raise errors.ServerError("The provider sent a response that is not JSON.") from exc
            error = error_for(response, cancel=cancel)
            if response.status_code not in RETRY_STATUSES:
                raise error
        if attempt > retries:
            raise error
        delay = min(8.0, 0.25 * 2 ** (attempt - 1)) + random.uniform(0, 0.25)
        log.info("retrying %s %s in %.2fs after %s", method, url, delay, error.message)
        time.sleep(delay)


CORRELATION_HEADERS = ("X-Correlation-ID", "X-Request-ID", "CF-Ray")


def correlation_id(response):
    """The provider's id for one call, which its support asks for."""
    return next((response.headers[name] for name in CORRELATION_HEADERS if name in response.headers), "")


def _log_call(conn, method, url, response, started, attempt, error=""):
    # Only the path: a presigned upload URL's query string is a credential.
    path = httpx.URL(str(url)).path if "://" in str(url) else str(url).split("?")[0]
    status = response.status_code if response is not None else None
    fields = {"provider": conn.surface, "method": method, "path": path, "status": status, "attempt": attempt,
              "duration_ms": round((time.monotonic() - started) * 1000, 1),
              "correlation_id": correlation_id(response) if response is not None else ""}
    if error:
        fields["error"] = error
    level = logging.WARNING if status is None or status >= 500 else logging.INFO
    log.log(level, "provider %s %s -> %s in %.0f ms", method, path, status or error, fields["duration_ms"],
            extra=fields)
