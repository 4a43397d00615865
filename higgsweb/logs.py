"""Structured logs: every record carries the request id of the web request (or the
generation id of the worker step) it was written under, and can be written as one JSON
object per line.

The ids live in context variables, so they follow the code that handles one request or
one task without being passed around; a logging.Filter copies them onto each record."""

import contextvars
import json
import logging
import re
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

request_id_var = contextvars.ContextVar("request_id", default="")
generation_id_var = contextvars.ContextVar("generation_id", default="")

# An id from a proxy or load balancer is kept when it is short and plain, so one request
# can be followed across machines; anything else is replaced.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_CONTEXT = ("request_id", "generation_id", "ids")

access_log = logging.getLogger("higgsweb.request")


def new_request_id(incoming=""):
    incoming = (incoming or "").strip()
    return incoming if SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


@contextmanager
def bound(**ids):
    """Tag every record logged inside the block, e.g. bound(generation_id=pk) in a task."""
    tokens = [(var, var.set(str(ids[name]))) for name, var in
              (("request_id", request_id_var), ("generation_id", generation_id_var)) if ids.get(name)]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current request and generation ids onto each record."""

    def filter(self, record):
        for name, var in (("request_id", request_id_var), ("generation_id", generation_id_var)):
            if not getattr(record, name, ""):
                setattr(record, name, var.get())
        # For the plain format: "[request id] " / "[generation id] ", or nothing.
        record.ids = "".join(f"[{value}] " for value in (record.request_id, record.generation_id) if value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context ids when set,
    every `extra=` field, and the traceback when there is one."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "generation_id"):
            if value := getattr(record, name, ""):
                entry[name] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _CONTEXT and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class RequestIdMiddleware:
    """Give each request an id (a sane incoming X-Request-ID, else a new one), tag the logs
    written while it is handled, return it in the X-Request-ID header and log one access
    line with the method, path, status and duration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_request_id(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request.request_id)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            user = getattr(request, "user", None)
            access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            })
            return response
        finally:
            request_id_var.reset(token)
