from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from generations import tasks
from generations.models import Generation

Status = Generation.Status


class Command(BaseCommand):
    help = "Inspect and repair jobs: list stuck, quarantined or unknown ones, re-poll one, resolve one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="List jobs that need attention.")
        listing.add_argument("which", choices=["stuck", "quarantined", "unknown", "pending"])
        listing.add_argument("--older-than", type=int, default=15, metavar="MINUTES",
                             help="For 'stuck': unfinished jobs created more than this long ago.")
        repoll = sub.add_parser("repoll", help="Check one job's status with the provider now.")
        repoll.add_argument("id")
        resolve = sub.add_parser("resolve", help="Set a job's final status by hand (e.g. after checking the "
                                                 "provider's history).")
        resolve.add_argument("id")
        resolve.add_argument("status", choices=["failed", "canceled", "retry"],
                             help="'retry' releases a quarantined job so the worker tries its step again.")
        resolve.add_argument("--reason", default="Resolved by an operator.")
        resolve.add_argument("--request-id", help="The provider's request id, if found in its history.")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _list(self, which, older_than, **options):
        qs = Generation.objects.select_related("owner")
        if which == "quarantined":
            qs = qs.filter(quarantined_at__isnull=False)
        elif which == "unknown":
            qs = qs.filter(status=Status.UNKNOWN)
        elif which == "pending":
            qs = qs.pending()
        else:
            qs = qs.pending().filter(created_at__lt=timezone.now() - timedelta(minutes=older_than))
        rows = list(qs.order_by("created_at"))
        for g in rows:
            note = g.quarantine_reason or g.error or ""
            self.stdout.write(f"{g.pk}  {g.status:<11} {g.owner}  {g.model_id}  created {g.created_at:%Y-%m-%d %H:%M}"
                              f"  next {g.next_action_at and g.next_action_at.strftime('%H:%M:%S') or '-'}"
                              f"  {note[:80]}")
        self.stdout.write(f"{len(rows)} job(s)")

    def _get(self, pk):
        generation = Generation.objects.filter(pk=pk).first()
        if generation is None:
            raise CommandError(f"No job {pk}")
        return generation

    def _repoll(self, id, **options):
        generation = self._get(id)
        if not generation.request_id:
            raise CommandError("This job has no provider request id yet; nothing to poll.")
        Generation.objects.filter(pk=generation.pk).update(quarantined_at=None, quarantine_reason="", poll_attempts=0)
        tasks.poll_generation(generation.pk)
        generation.refresh_from_db()
        self.stdout.write(f"{generation.pk} is {generation.status}")

    def _resolve(self, id, status, reason, request_id=None, **options):
        generation = self._get(id)
        if generation.is_finished:
            raise CommandError(f"Job is already {generation.status}; final states do not change.")
        changes = {"quarantined_at": None, "quarantine_reason": "", "submit_attempts": 0, "poll_attempts": 0,
                   "archive_attempts": 0, "lease_until": None}
        if request_id:
            changes["request_id"] = request_id
        Generation.objects.filter(pk=generation.pk).update(**changes)
        generation.refresh_from_db()
        if status == "retry" or request_id:
            if request_id and generation.status in (Status.UNKNOWN, Status.SUBMITTING):
                generation.advance(Status.QUEUED, Generation.Source.SYSTEM, detail=reason)
            generation.schedule(0)
            self.stdout.write(f"{generation.pk} released; the worker takes it up again")
            return
        generation.advance(status, Generation.Source.SYSTEM, detail=reason, error=reason)
        self.stdout.write(f"{generation.pk} is now {generation.status}")
