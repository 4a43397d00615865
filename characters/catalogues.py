"""Syncing the provider's Soul style lists and motion presets into the database.
A list that cannot be fetched keeps what we have, or falls back to the preset tables."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from characters import presets
from characters.models import Motion, Style
from generations import higgsfield
from generations.models import ProviderAccount

log = logging.getLogger("characters.catalogues")


@dataclass
class SyncReport:
    name: str
    count: int
    source: str  # provider | presets | kept
    error: str = ""

    def __str__(self):
        text = f"{self.name}: {self.count} from {self.source}"
        return f"{text} ({self.error})" if self.error else text


def _save_styles(version, items, now):
    with transaction.atomic():
        for item in items:
            Style.objects.update_or_create(provider_id=item.id, version=version, defaults={
                "name": item.name[:120], "description": item.description, "preview_url": item.preview_url[:1000],
                "active": True, "synced_at": now})
        Style.objects.filter(version=version).exclude(provider_id__in=[i.id for i in items]).update(active=False)


def _save_motions(items, now):
    with transaction.atomic():
        for item in items:
            Motion.objects.update_or_create(provider_id=item.id, defaults={
                "name": item.name[:120], "description": item.description, "preview_url": item.preview_url[:1000],
                "start_end_frame": item.start_end_frame, "active": True, "synced_at": now})
        Motion.objects.exclude(provider_id__in=[i.id for i in items]).update(active=False)


def sync_styles(conn, version, now):
    try:
        items = higgsfield.soul_styles(conn, version)
    except higgsfield.ProviderError as exc:
        return _fallback(f"styles {version}", Style.objects.filter(version=version),
                         lambda: _save_presets_styles(version, now), exc)
    _save_styles(version, items, now)
    return SyncReport(f"styles {version}", len(items), "provider")


def sync_motions(conn, now):
    try:
        items = higgsfield.motions(conn)
    except higgsfield.ProviderError as exc:
        return _fallback("motions", Motion.objects.all(), lambda: _save_presets_motions(now), exc)
    _save_motions(items, now)
    return SyncReport("motions", len(items), "provider")


def _fallback(name, existing, load_presets, exc):
    log.warning("could not fetch %s: %s", name, exc.message)
    if existing.filter(active=True).exists():
        return SyncReport(name, existing.filter(active=True).count(), "kept", exc.message)
    return SyncReport(name, load_presets(), "presets", exc.message)


def _save_presets_styles(version, now):
    table = presets.STYLES_V2 if version == "v2" else presets.STYLES_V1
    for provider_id, name in table:
        Style.objects.update_or_create(provider_id=provider_id, version=version,
                                       defaults={"name": name, "active": True, "synced_at": now})
    return len(table)


def _save_presets_motions(now):
    for provider_id, name in presets.MOTIONS:
        Motion.objects.update_or_create(provider_id=provider_id,
                                        defaults={"name": name, "active": True, "synced_at": now})
    return len(presets.MOTIONS)


def sync_all(account=None):
    account = account or ProviderAccount.objects.default()
    if account is None:  # the Model API account is switched off: the lists stay as they are
        return []
    conn = account.connection()
    now = timezone.now()
    return [sync_styles(conn, "v1", now), sync_styles(conn, "v2", now), sync_motions(conn, now)]
