"""A request that arrives twice starts one job.

Scripts send an `Idempotency-Key` header with `POST /api/generations`; the studio form
carries a one-time token. The first request with a key claims it in the transaction that
starts its generation, so the claim and the job commit together or not at all: a request
refused (invalid, over budget) leaves the key unused. A repeat with the same body gets the
first answer; a concurrent one waits on the key's unique index until the first commits.
Keys are remembered for at least KEEP, then forgotten by a scheduled task."""

import hashlib
import json
import re
from datetime import timedelta

from django.utils import timezone

from generations.models import IdempotencyKey

API, FORM = IdempotencyKey.Kind.API, IdempotencyKey.Kind.FORM
KEEP = timedelta(hours=24)
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII without spaces, as HTTP headers carry it


def key_problem(key):
    if not VALID_KEY.fullmatch(key):
        return "Use 1 to 255 printable ASCII characters without spaces (a random UUID makes a good key)."
    return None


def fingerprint(*parts):
    """A digest of what a request asked for; the same request sent again gives the same one."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def earlier(user, kind, key):
    """The record of a committed earlier request with this key, or None."""
    return (IdempotencyKey.objects.select_related("generation")
            .filter(user=user, kind=kind, key=key, generation__isnull=False).first())


def claim(user, kind, key, fingerprint):
    """Take the key for this request, inside the transaction that starts its job. When the
    record returned already names a generation, another request with the key committed first
    (on PostgreSQL this waited for it; on SQLite the IMMEDIATE transaction did)."""
    record, _ = IdempotencyKey.objects.select_related("generation").get_or_create(
        user=user, kind=kind, key=key, defaults={"fingerprint": fingerprint})
    return record


def record(claim, generation):
    """Note the generation a claimed key started (same transaction as the claim)."""
    if claim is not None:
        IdempotencyKey.objects.filter(pk=claim.pk).update(generation=generation)
        claim.generation = generation


def forget_expired(now=None):
    """Scheduled hourly: forget keys older than KEEP. Returns how many."""
    return IdempotencyKey.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()[0]
