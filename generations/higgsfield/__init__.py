"""The one package that talks to the provider. Views never call it; tasks do.

Each surface has its own module; the functions here dispatch on the connection's
surface and always answer with the normalised types from `results`.
"""

from . import model_api
from .client import Connection
from .errors import *  # noqa: F403  (the exception family is part of the public API)
from .errors import ProviderError
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
from .results import TERMINAL, Output, Receipt, Result

__all__ = ["Connection", "Output", "ProviderError", "Receipt", "Result", "TERMINAL",
           "cancel", "delete", "parse_result", "status", "submit",
           "CustomReference", "Motion", "ReferencePage", "Style", "TrainingInProgress", "create_reference",
           "delete_reference", "get_reference", "list_references", "motions", "soul_styles"]

SURFACES = {"model_api": model_api}


def _surface(conn):
    try:
        return SURFACES[conn.surface]
    except KeyError:
        raise ProviderError(f"Surface {conn.surface!r} is not supported.") from None


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
