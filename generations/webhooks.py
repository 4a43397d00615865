"""Webhook verification. Standard Webhooks signatures via the `standardwebhooks`
library (constant-time compare, 5-minute tolerance); two secrets during rotation."""

import hashlib
import hmac

from django.conf import settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "generation_token", "token_matches", "verify_standard"]


def secrets():
    return [s for s in (settings.HIGGSFIELD_WEBHOOK_SECRET, settings.HIGGSFIELD_WEBHOOK_SECRET_PREVIOUS) if s]


def verify_standard(body, headers):
    """Return the parsed JSON payload, or raise WebhookVerificationError."""
    wanted = {name: headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    configured = secrets()
    if not configured:
        raise WebhookVerificationError("No webhook secret is configured")
    error = None
    for secret in configured:
        try:
            return Webhook(secret).verify(body, wanted)
        except WebhookVerificationError as exc:
            error = exc
    raise error


def generation_token(purpose, generation_id):
    """A per-generation secret derived from SECRET_KEY, so nothing secret is stored:
    the v1 webhook secret, or the token in a Pixazo callback URL."""
    message = f"higgsweb:{purpose}:{generation_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def token_matches(purpose, generation_id, presented):
    return hmac.compare_digest(generation_token(purpose, generation_id), str(presented or ""))
