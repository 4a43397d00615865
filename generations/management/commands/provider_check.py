"""`manage.py provider_check [--account NAME] [--spend]`: what a provider account really does,
for the day a real key is set. Without --spend it costs nothing: it checks the key, lists the
models the key may call and asks the price of one job. With --spend it runs one cheap job as a
real generation (in the ledger, in the gallery of the user named) and reports what it saw: the
webhook mode, whether a resend with the same Idempotency-Key returned the same request, the time
to complete, the host the output came from, whether it was saved here, and whether a webhook
arrived signed or unsigned."""

import time
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from generations import catalogue, higgsfield, inputs, pipeline, tasks, webhook_mode
from generations.models import Generation, ProviderAccount, WebhookDelivery
from higgsweb.models import Project, User

# The cheapest job in the price table: one Soul 2 image (PROTOCOL.md §3.8).
CHEAP_MODEL = "higgsfield-ai/soul/v2/standard"
PROMPT = "a small paper boat on a still pond, soft morning light"
PROJECT = "Provider checks"


class Command(BaseCommand):
    help = ("Check a provider account: the key, the models it may call, one estimate; with --spend, one cheap "
            "job end to end (output host, webhook signed or unsigned, Idempotency-Key honoured, time to complete).")

    def add_arguments(self, parser):
        parser.add_argument("--account", help="the account's name (default: the Model API's default account)")
        parser.add_argument("--model", default=CHEAP_MODEL,
                            help=f"the model to estimate and run (default {CHEAP_MODEL})")
        parser.add_argument("--spend", action="store_true",
                            help="submit one job (it is charged; if the service ignored Idempotency-Key, the "
                                 "repeat that tests it is canceled at once and listed in reconciliation)")
        parser.add_argument("--user", help="whose job the --spend run is (default: the first admin)")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the job (default 600)")
        parser.add_argument("--webhook-wait", type=float, default=15,
                            help="seconds to wait for its webhook after it finished (default 15)")

    def handle(self, *args, **options):
        self.problems = []
        account = self._account(options["account"])
        conn = account.connection()
        spec = catalogue.get(options["model"])
        if spec is None:
            raise CommandError(f"Unknown model {options['model']!r}.")
        self.say("account", f"{account.name} ({account.via}) at {conn.base_url}")
        self._check_key(conn)
        self._list_models(conn, spec.id)
        params = spec.with_defaults({"prompt": PROMPT})
        self._estimate(conn, spec, params)
        mode = webhook_mode.for_account(account)
        self.say("results", mode.summary)
        if options["spend"]:
            self._spend(account, spec, params, mode, options)
        if self.problems:
            raise CommandError("Problems: " + "; ".join(self.problems))

    def say(self, label, text):
        self.stdout.write(f"{label + ':':<13}{text}")

    def problem(self, label, text):
        self.say(label, text)
        self.problems.append(f"{label}: {text}")

    def _account(self, name):
        if name:
            account = ProviderAccount.objects.filter(name=name).first()
            if account is None:
                raise CommandError(f"No provider account is named {name!r}.")
            return account
        account = ProviderAccount.objects.default()
        if account is None:
            raise CommandError("No active Model API account; name one with --account.")
        return account

    def _check_key(self, conn):
        try:
            checked = higgsfield.verify_key(conn)
        except higgsfield.AuthError as exc:
            raise CommandError(f"key: refused. {exc.message}") from exc
        except higgsfield.ProviderError as exc:
            raise CommandError(f"key: could not be checked. {exc.message}") from exc
        self.say("key", "accepted" if checked else "this surface has no call to check it with")

    def _list_models(self, conn, model_id):
        try:
            models = higgsfield.list_models(conn)
        except higgsfield.ProviderError as exc:
            self.say("models", f"could not be listed ({exc.message})")
            return
        slugs = {model.slug.strip("/") for model in models}
        listed = "listed" if model_id in slugs else "NOT listed: the job may be refused"
        self.say("models", f"{len(models)} callable with this key; {model_id} is {listed}")

    def _estimate(self, conn, spec, params):
        listed = spec.estimate(params)
        if not higgsfield.supports_estimate(conn):
            self.say("estimate", f"{spec.id}: {listed} credits by the list price (no /estimate on this surface)")
            return
        try:
            estimate = higgsfield.estimate(conn, spec.id, spec.body(params))
        except higgsfield.ProviderError as exc:
            self.problem("estimate", f"{spec.id}: refused ({exc.message})")
            return
        agrees = "the same as" if estimate.credits == listed else f"list price {listed},"
        self.say("estimate", f"{spec.id}: {estimate.credits} credits (${estimate.usd}); {agrees} the price table")

    # --- one real job -------------------------------------------------------------------

    def _spend(self, account, spec, params, mode, options):
        owner = self._owner(options["user"])
        project, _ = Project.objects.get_or_create(name=PROJECT)
        generation = pipeline.start(owner=owner, project=project, model_id=spec.id, params=params, account=account)
        self.say("job", f"{generation.pk} (in {owner}'s gallery, project {PROJECT!r})")
        if not self._wait(generation, lambda: bool(generation.request_id) or generation.is_finished,
                          options["timeout"]):
            self.problem("submit", f"not accepted within {options['timeout']:.0f} s ({self._state(generation)})")
            return
        if not generation.request_id:
            self.problem("submit", f"refused: {generation.error or self._state(generation)}")
            return
        self.say("submit", f"accepted as request {generation.request_id}")
        self._check_idempotency(generation)
        if not self._wait(generation, lambda: generation.is_finished, options["timeout"]):
            self.problem("finished", f"not within {options['timeout']:.0f} s ({self._state(generation)})")
            return
        took = (generation.finished_at - generation.submitted_at).total_seconds()
        if generation.status != Generation.Status.COMPLETED:
            self.problem("finished", f"{generation.status} after {took:.1f} s: {generation.error}")
            return
        self.say("completed", f"in {took:.1f} s after the submit")
        hosts = sorted({urlsplit(output.provider_url).hostname or "?" for output in generation.outputs.all()})
        self.say("output host", ", ".join(hosts))
        self._archive(generation, options["timeout"])
        self._webhook(generation, mode, options["webhook_wait"])

    def _owner(self, username):
        users = User.objects.filter(username=username) if username else User.objects.filter(
            role=User.Role.ADMIN).order_by("pk")
        owner = users.first()
        if owner is None:
            raise CommandError("No such user; name one with --user." if username else
                               "No admin to own the job; name a user with --user.")
        return owner

    def _wait(self, generation, done, timeout):
        """Work the job's steps here until `done()` (a running worker may take some of them; the
        job's lease keeps the two apart)."""
        deadline = time.monotonic() + timeout
        while True:
            generation.refresh_from_db()
            if done():
                return True
            if time.monotonic() > deadline or generation.quarantined_at:
                return False
            step = pipeline.step_for(generation)
            due = (generation.next_action_at is None or generation.next_action_at <= timezone.now()
                   or step == "archive_outputs" and not generation.archive_attempts)  # not left to a worker
            if due and step in ("submit_generation", "poll_generation", "archive_outputs"):
                getattr(tasks, step)(generation.pk)
            time.sleep(0.2)

    @staticmethod
    def _state(generation):
        return generation.quarantine_reason or generation.error or generation.status

    def _check_idempotency(self, generation):
        """Send the same submit again with the same key: the service should answer with the same
        request. A different one means the key was ignored (and a second job started)."""
        conn = generation.account.connection()
        if not higgsfield.supports_idempotency(conn):
            self.say("idempotency", f"not offered by {generation.account.via}: a lost answer is set aside, "
                                    "never resent")
            return
        try:
            params = inputs.provider_params(generation, generation.account)  # the body the job was sent with
            receipt = higgsfield.submit(conn, generation.model_id, params, idempotency_key=generation.pk,
                                        webhook_url=webhook_mode.url_for(generation))
        except higgsfield.ProviderError as exc:
            self.problem("idempotency", f"the repeat was refused ({exc.message})")
            return
        if receipt.request_id == generation.request_id:
            self.say("idempotency", "honoured: the repeat returned the same request")
            return
        pipeline.note_stray(conn.surface, generation.pk, receipt.request_id, {"status": receipt.status}, confirmed=True)
        try:
            higgsfield.cancel(conn, receipt.request_id)
            fate = "canceled at once"
        except higgsfield.ProviderError as exc:
            fate = f"could not be canceled ({exc.message})"
        self.problem("idempotency", f"NOT honoured: the repeat started request {receipt.request_id}, which was "
                                    f"{fate}; it is listed in reconciliation")

    def _archive(self, generation, timeout):
        if self._wait(generation, lambda: generation.archived, timeout):
            self.say("saved", "yes, every output was copied here")
            return
        errors = [output.error for output in generation.outputs.all() if output.error]
        self.problem("saved", "no: " + ("; ".join(errors) or "the download did not finish"))

    def _webhook(self, generation, mode, wait):
        if not mode.webhooks:
            self.say("webhook", "none sent (see results above)")
            return
        deadline = time.monotonic() + wait
        while True:
            seen = list(WebhookDelivery.objects.filter(request_id=generation.request_id)
                        .values_list("signed", flat=True))
            if seen or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if any(seen):
            self.say("webhook", "arrived signed (Standard Webhooks, verified)")
        elif seen:
            self.say("webhook", "arrived unsigned: taken as a hint (reveal the account's whsec_ secret in the "
                                "console and set HIGGSFIELD_WEBHOOK_SECRET to have them signed)")
        else:
            self.problem("webhook", f"none arrived within {wait:.0f} s of the end: can the provider reach "
                                    "PUBLIC_BASE_URL? (polling finished the job)")
