"""Bring an fnf account's web-app history into the gallery.

The worker pages through the web app's history (`GET /project?job_set_type=…`, seed 002),
newest first, and hands each finished job set to pipeline.record_import: a completed item of
the importing member, in the project they picked, charged nothing, whose outputs are copied
here by the same archive step (and download guards) as every other job's. A job set already
here — imported before, or made here on that account — is recognised by the provider's id and
left alone, so a second import adds only what is new. Job sets still running or failed there
are skipped (a later import brings them once they finished). Progress is saved after each page
on the HistoryImport row, which the import page polls."""

import logging

from django.db import transaction
from django.utils import timezone

from generations import catalogue, higgsfield, pipeline
from generations.higgsfield.model_api import parse_time
from generations.higgsfield.results import COMPLETED
from generations.models import HistoryImport, ProviderAccount

log = logging.getLogger("generations.history")
Status = HistoryImport.Status
PAGE_SIZE = 20
MAX_PAGES = 500  # 10,000 job sets: a history longer than that is imported in several runs


class AlreadyRunning(Exception):
    """An import of this account is under way; a second one would only wait for it."""


def start(*, owner, project, account):
    """Queue an import of `account`'s history for `owner` into `project`."""
    if account.surface != ProviderAccount.Surface.FNF or not account.active:
        raise ValueError("Only an active web-app (fnf) account has a history to import.")
    with transaction.atomic():
        ProviderAccount.objects.select_for_update().filter(pk=account.pk).first()
        if HistoryImport.objects.running().filter(account=account).exists():
            raise AlreadyRunning
        run = HistoryImport.objects.create(owner=owner, project=project, account=account)
        transaction.on_commit(lambda: pipeline.send("generations.tasks.import_history", run.pk, f"import:{run.pk}"))
    return run


def run(import_id):
    """The worker's pass over the history (once per import: a redelivered task finds it taken)."""
    now = timezone.now()
    if not HistoryImport.objects.filter(pk=import_id, status=Status.QUEUED).update(status=Status.RUNNING,
                                                                                   updated_at=now):
        return None
    job = HistoryImport.objects.select_related("account", "owner", "project").get(pk=import_id)
    try:
        _pages(job)
    except higgsfield.ProviderError as exc:
        if isinstance(exc, higgsfield.AuthError):
            job.account.record_error(exc.message)
        _save(job, status=Status.FAILED, error=exc.message, finished_at=timezone.now())
        return job
    _save(job, status=Status.DONE, finished_at=timezone.now())
    return job


def _pages(job):
    conn = job.account.connection()
    offset, cursor, seen = 0, None, set()
    for _ in range(MAX_PAGES):
        entries, cursor = higgsfield.history_page(conn, size=PAGE_SIZE, offset=offset, cursor=cursor)
        # A server that ignores the paging sends the same page again: stop at a page with nothing new.
        fresh = [entry for entry in entries if entry.result.request_id not in seen]
        if not fresh:
            return
        for entry in fresh:
            seen.add(entry.result.request_id)
            outcome = bring(job, entry)
            setattr(job, outcome, getattr(job, outcome) + 1)
        offset += len(entries)
        _save(job, pages=job.pages + 1, seen=len(seen), added=job.added, known=job.known, skipped=job.skipped)
        if len(entries) < PAGE_SIZE and not cursor:
            return


def bring(job, entry):
    """Import one job set: "added", "known" (already here) or "skipped" (nothing finished to bring)."""
    result = entry.result
    if result.status != COMPLETED or not result.outputs:
        return "skipped"
    model_id, params = higgsfield.product_request(job.account.surface, entry.job_set_type, entry.params)
    generation = pipeline.record_import(owner=job.owner, project=job.project, account=job.account,
                                        model_id=model_id, params=settings_for(model_id, params), result=result,
                                        made_at=parse_time(entry.created_at))
    return "added" if generation is not None else "known"


def settings_for(model_id, params):
    """The settings kept with an imported item: for a catalogue model, only values it takes (so
    "use these settings" reopens the studio with them); the prompt always."""
    model = catalogue.get(model_id)
    if model is None:
        return params
    refused = model.validate(params)
    return {name: value for name, value in params.items() if name == "prompt" or name not in refused}


def _save(job, **changes):
    changes["updated_at"] = timezone.now()
    HistoryImport.objects.filter(pk=job.pk).update(**changes)
    for name, value in changes.items():
        setattr(job, name, value)
