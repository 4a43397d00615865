"""The one package that talks to the provider. Views never call it; tasks do.

Each surface has its own module; the functions here dispatch on the connection's
surface and always answer with the normalised types from `results`.
"""

from decimal import Decimal

from . import fnf, model_api, pixazo, v1
from .client import Connection
from .errors import *  # noqa: F403  (the exception family is part of the public API)
from .errors import AuthError, ProviderError
from .library import (
    CustomReference,
    Motion,
    ReferencePage,
    Style,
    TrainingInProgress,
    create_reference,
    delete_reference,
    get_reference,
    list_references,
    motions,
    soul_styles,
)
from .results import TERMINAL, Estimate, Media, ModelInfo, Output, Receipt, Result

__all__ = ["Connection", "Estimate", "Media", "ModelInfo", "Output", "ProviderError", "Receipt", "Result", "TERMINAL",
           "balance", "cancel", "check_key", "delete", "estimate", "list_models", "parse_result", "status", "submit",
           "supports_estimate", "supports_idempotency", "supports_upload", "upload", "upload_media", "runs", "check",
           "needs_own_media", "verify_key", "history_page", "product_request",
           "CustomReference", "Motion", "ReferencePage", "Style", "TrainingInProgress", "create_reference",
           "delete_reference", "get_reference", "list_references", "motions", "soul_styles"]

SURFACES = {"model_api": model_api, "v1": v1, "fnf": fnf, "pixazo": pixazo}


def _surface(conn, operation=None):
    try:
        module = SURFACES[conn.surface]
    except KeyError:
        raise ProviderError(f"Surface {conn.surface!r} is not supported.") from None
    if operation and not hasattr(module, operation):
        raise ProviderError(f"The {conn.surface} surface has no {operation.replace('_', ' ')}.")
    return module


def balance(conn, *, simulator=False):
    """Credits left on the account, where the surface reports them (fnf's /user), or the
    local simulator's figure. Raises NotImplementedError where the provider tells nothing."""
    if simulator:
        return model_api.simulator_balance(conn)
    module = _surface(conn)
    if not hasattr(module, "balance"):
        raise NotImplementedError(f"The {conn.surface} surface does not report a balance.")
    reading = module.balance(conn)
    return Decimal(str(reading["credits"] if isinstance(reading, dict) else reading))


def check_key(conn):
    """Whether the provider accepts the account's credentials: True, False when it answers
    401, or None where the surface has no call to ask with. Other errors propagate."""
    try:
        return verify_key(conn)
    except AuthError:
        return False


def verify_key(conn):
    """check_key, raising the provider's AuthError (with its advice) instead of answering False."""
    module = _surface(conn)
    if not hasattr(module, "check_key"):
        return None
    module.check_key(conn)
    return True


def history_page(conn, **kwargs):
    """One page of the account's own history where the surface keeps one (the web app):
    ([HistoryEntry], cursor or None)."""
    return _surface(conn, "history_page").history_page(conn, **kwargs)


def product_request(surface, job_set_type, params):
    """(model id, settings) in the product's terms for a job found in a surface's history."""
    return SURFACES[surface].product_request(job_set_type, params)


def runs(surface, model_id):
    """Whether a surface can run one of the product's models (translating the request if need be)."""
    module = SURFACES.get(surface)
    return module is not None and module.runs(model_id)


def check(surface, model_id, params):
    """What a surface would refuse in a request it can run, by field ({field: [messages]})."""
    module = SURFACES.get(surface)
    return module.check(model_id, params) if hasattr(module, "check") else {}


def needs_own_media(conn):
    """Whether every input file must go through the surface's own upload flow (the web app
    names inputs by its media ids, so a URL elsewhere will not do)."""
    return getattr(_surface(conn), "OWN_MEDIA", False)


def supports_upload(conn):
    """Whether the surface has its own upload flow for job inputs."""
    return hasattr(_surface(conn), "upload")


def supports_estimate(conn):
    """Whether the surface prices a job body itself (`/estimate`)."""
    return hasattr(_surface(conn), "estimate")


def supports_idempotency(conn):
    """Whether a repeated submit with the same Idempotency-Key is recognised as a repeat."""
    return getattr(_surface(conn), "IDEMPOTENT", False)


def parse_result(surface, payload):
    """A status or webhook body from `surface` as a normalised Result."""
    return SURFACES[surface].parse_status(payload)


def submit(conn, model_id, payload, **kwargs):
    """Start a generation; return a Receipt with the provider's request id."""
    return _surface(conn).submit(conn, model_id, payload, **kwargs)


def status(conn, request_id, **kwargs):
    return _surface(conn).status(conn, request_id, **kwargs)


def cancel(conn, request_id, **kwargs):
    return _surface(conn).cancel(conn, request_id, **kwargs)


def delete(conn, request_id, **kwargs):
    return _surface(conn).delete(conn, request_id, **kwargs)


def upload(conn, data, content_type, **kwargs):
    """Upload an input file; return its public URL."""
    return _surface(conn, "upload").upload(conn, data, content_type, **kwargs)


def upload_media(conn, data, content_type, **kwargs):
    """Upload an input file; return it as a Media (its URL, and its id where the surface has one)."""
    module = _surface(conn, "upload")
    if hasattr(module, "upload_media"):
        return module.upload_media(conn, data, content_type, **kwargs)
    return Media(url=module.upload(conn, data, content_type, **kwargs), content_type=content_type)


def estimate(conn, model_id, payload, **kwargs):
    """The provider's own price for a job, as an Estimate(credits, usd)."""
    return _surface(conn, "estimate").estimate(conn, model_id, payload, **kwargs)


def list_models(conn, **kwargs):
    return _surface(conn, "list_models").list_models(conn, **kwargs)
