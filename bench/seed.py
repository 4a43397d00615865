"""Bulk data for the gallery: a member's history of generations with outputs and ledger
entries, in the proportions a busy team would have (mostly completed, some failed or
canceled, a few still running at the top)."""

import io
import random
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, models, transaction
from django.utils import timezone
from PIL import Image

from generations.models import Generation, Output, ProviderAccount
from higgsweb.models import LedgerEntry, Project, User

MODELS = ["higgsfield-ai/soul/standard"] * 6 + ["nano-banana", "flux-pro/kontext/max/text-to-image",
                                                 "higgsfield-ai/soul/character"]
# Status of the older history; the newest few are still running (RUNNING_AT_TOP).
MIX = [("completed", 90), ("failed", 5), ("canceled", 4), ("nsfw", 1)]
RUNNING_AT_TOP = ["queued", "in_progress", "queued", "in_progress"]
BATCH = 5000
THUMB = "outputs/bench/thumb.webp"
FILE = "outputs/bench/image.png"


def member():
    """The member whose gallery is measured, a project, and a logged-in session for them."""
    user = User.objects.create_user("bench", password=uuid.uuid4().hex, role=User.Role.MEMBER)
    project = Project.objects.create(name="Benchmark")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return user, project, session.session_key


def history_account():
    """Seeded history runs on an inactive account, so it never counts against the live
    account's concurrency limit and the worker leaves it alone."""
    account, _ = ProviderAccount.objects.get_or_create(
        name="history (benchmark)", defaults={"base_url": "http://127.0.0.1:9", "active": False})
    return account


def media_files():
    """One real image and thumbnail that every seeded output points at."""
    root = settings.MEDIA_ROOT
    (root / "outputs" / "bench").mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (1152, 1152), (90, 120, 160))
    for name, size, fmt in ((FILE, (1152, 1152), "PNG"), (THUMB, (512, 512), "WEBP")):
        buffer = io.BytesIO()
        image.resize(size).save(buffer, fmt)
        (root / name).write_bytes(buffer.getvalue())


def seed(user, project, count, already=0, seed=7):
    """Add `count` generations older than the `already` existing ones (one a minute,
    going back in time). Returns the ids of the running ones at the top."""
    rng = random.Random(seed + already)
    account = history_account()
    now = timezone.now()
    statuses = [s for s, _ in MIX]
    weights = [w for _, w in MIX]
    running = []
    for start in range(0, count, BATCH):
        generations, outputs, entries = [], [], []
        for i in range(already + start, already + min(count, start + BATCH)):
            status = RUNNING_AT_TOP[i] if i < len(RUNNING_AT_TOP) else rng.choices(statuses, weights)[0]
            created = now - timedelta(minutes=i + 1)
            finished = status not in RUNNING_AT_TOP
            batch = 4 if rng.random() < 0.2 else 1
            pk = uuid.uuid4()
            generations.append({
                "id": pk, "owner_id": user.pk, "project_id": project.pk, "account_id": account.pk,
                "model_id": rng.choice(MODELS), "request_id": str(uuid.uuid4()), "status": status,
                "params": {"prompt": f"a lighthouse at dusk, study {i}", "aspect_ratio": "1:1", "resolution": "720p",
                           "batch_size": batch, "seed": i + 1},
                "created_at": created, "submitted_at": created + timedelta(seconds=1),
                "finished_at": created + timedelta(seconds=20) if finished else None,
                "archived": status == "completed", "next_action_at": None,
                "error": "Generation failed (simulated)." if status == "failed" else ""})
            if not finished:
                running.append(pk)
            cost = Decimal("0.25") * batch
            entries.append(_entry(pk, user, project, "hold", cost, created))
            if status == "completed":
                entries.append(_entry(pk, user, project, "confirm", Decimal(0), created))
                outputs.extend({"generation_id": pk, "position": p, "kind": "image",
                                "provider_url": f"https://cdn.higgsfield.ai/{pk}/{p}.png", "file": FILE,
                                "thumbnail": THUMB, "content_type": "image/png", "size": 122592, "width": 1152,
                                "height": 1152, "archived_at": created + timedelta(seconds=21)}
                               for p in range(batch))
            elif finished:
                entries.append(_entry(pk, user, project, "refund", -cost, created))
        with transaction.atomic():
            insert(Generation, generations)
            insert(Output, outputs)
            insert(LedgerEntry, entries)
    return running


def _entry(generation_id, user, project, kind, amount, created):
    return {"kind": kind, "amount": amount, "created_at": created, "user_id": user.pk, "project_id": project.pk,
            "model_id": "", "generation_id": generation_id}


PLAIN = (str, int, float, bool, type(None))


def insert(model, rows):
    """INSERT plain rows (attname → value) with executemany: bulk_create's work without
    building a model instance and compiling SQL for each row, so 100k rows take seconds."""
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
    defaults = {f.attname: f.get_default() for f in fields}
    quote = connection.ops.quote_name
    # Table and column names come from the models; every value is a parameter.
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    values = []
    for row in rows:
        line = []
        for f in fields:
            value = row.get(f.attname, defaults[f.attname])
            line.append(value if type(value) in PLAIN else f.get_db_prep_save(value, connection))
        values.append(line)
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)
