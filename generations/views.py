import json
import logging
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from characters.models import Style
from generations import cards, catalogue, feed, idempotency, pipeline, pricing, routing, studio, sweeps, webhooks
from generations.forms import (
    MAX_SWEEP_SEEDS,
    GalleryFilterForm,
    GenerationForm,
    data_from_params,
    new_submit_token,
    params_from_query,
)
from generations.models import ApiToken, Gallery, Generation, Output, ProviderAccount, Upload
from generations.webhooks import WebhookVerificationError, verify_standard
from higgsweb import compiled, ledger
from higgsweb.access import found
from higgsweb.ledger import BudgetExceeded
from higgsweb.models import Project

log = logging.getLogger("generations.views")


def _get_generation_for_user(request, pk):
    qs = Generation.objects.for_user(request.user).select_related("owner", "project").outputs_for(request.user)
    return get_object_or_404(qs, pk=pk)


def _get_sweep_for_user(request, pk):
    generations = list(Generation.objects.for_user(request.user).filter(sweep=pk).select_related("account")
                       .prefetch_related("outputs").order_by("created_at"))
    if not generations:
        raise Http404
    return generations


def _get_output_for_user(request, pk):
    return get_object_or_404(Output.objects.for_user(request.user).select_related("generation"), pk=pk)


def _get_upload_for_user(request, pk):
    return get_object_or_404(Upload.objects.for_user(request.user), pk=pk)


def _require_member(request):
    if not request.user.is_member_role:
        raise PermissionDenied


def _start_form(request):
    """The studio form for a GET: a fresh one, or prefilled from a gallery item's action."""
    if request.GET.get("from"):
        try:
            source = _get_generation_for_user(request, uuid.UUID(request.GET["from"]))
        except ValueError:  # not an id at all
            raise Http404
        model = _studio_model(source.model_id)
        data = data_from_params(model, source.params, project=source.project,
                                seed_mode=request.GET.get("seed", "keep"))
        if request.GET.get("image"):  # from one image of a batch: one more like it, not another batch
            data.update({name: "1" for name in BATCH_PARAMS if model.has(name)})
        form = GenerationForm(data, model=model, user=request.user)
        form.is_valid()
        for name, messages in (source.field_errors or {}).items():
            form.add_error(form.field_for(name), messages)
        return form
    model = _studio_model(request.GET.get("model", ""))
    initial = {"project": request.GET.get("project") or Project.objects.active().first(),
               "prompt": request.GET.get("prompt", "")}
    start = catalogue.first_image_param(model)
    if request.GET.get("start", "").isdigit() and start:
        initial[f"{start.name}__pick"] = [f"output:{request.GET['start']}"]
    if request.GET.get("character") and model.has("custom_reference_id"):
        initial["custom_reference_id"] = request.GET["character"]
    return GenerationForm(initial=initial, model=model, user=request.user)


def _studio_model(model_id, runnable=None):
    """The model the studio opens with: the one asked for if some account can run it (of
    `runnable`, the ids some account can run), else the default model, else the first one that can run."""
    runnable = routing.runnable_ids() if runnable is None else runnable
    for candidate in (model_id, catalogue.DEFAULT_MODEL, *(model.id for model in catalogue.all_models())):
        if candidate in runnable:
            return catalogue.get(candidate)
    return catalogue.get(model_id) or catalogue.get(catalogue.DEFAULT_MODEL)


@login_required
@require_GET
def gallery(request):
    if request.user.is_client_role:  # clients see the galleries shared with them, not the studio's
        return redirect("gallery-index")
    template_name = "generations/gallery.html"
    if request.htmx and request.htmx.target == "generation-list":
        template_name += "#generation-list"
    filters = GalleryFilterForm(request.GET, user=request.user)
    number = _page_number(request)
    since = timezone.now()  # before the query: what is started after it, the page's feed brings
    stop = number * PAGE_SIZE + 1  # one more than the page shows: is there an older page?
    page = Page(_page_rows(request.user, filters.filters(), stop - PAGE_SIZE - 1, stop), number)
    cards.draw_cards(request, page)
    whole_page = request.user.is_member_role and not request.htmx
    ctx = {"generations": page, "page": page, "filters": filters,
           "bulk_galleries": cards.bulk_galleries(request.user) if whole_page else None,
           "filter_query": _query(request, "page"), "page_query": _query(request, "page", *STUDIO_PARAMS)}
    if "#" not in template_name:
        ctx["filters_html"] = studio.filters_html(request, filters)
    if whole_page:
        runnable = routing.runnable_ids()
        model = _studio_model(request.GET.get("model", ""), runnable)
        ctx["studio_form"] = studio.form_html(request, model, _start_form, runnable)
    if number == 1:  # the first page takes in new work as it appears
        ctx |= {"feed": True, "feed_query": _query(request, "page", *STUDIO_PARAMS), "feed_interval": feed.INTERVAL,
                **feed.page_cursor(since, page, request.user)}
    return render(request, template_name, ctx)


def _page_rows(user, filters, start, stop):
    """Rows start..stop of the user's gallery with these filters: only what tells whether each
    card's stored copy still holds (cards.KEY_FIELDS, credits, placements); cards.draw_cards reads
    the rest for the cards it draws afresh. Building this query through the ORM (the member's own
    and curated sides, the filters, the credits) costs several times what the database takes to
    run it; it depends only on who asks, the filters and the page, so it is built once per such
    shape and process."""
    shape = ("gallery-page", user.pk, user.role, user.is_superuser, start, stop,
             tuple((name, getattr(value, "pk", value)) for name, value in sorted(filters.items())))
    built = compiled.sql(shape, lambda: Generation.objects.matching(**filters).newest_for_user(user, stop)
                         .with_credits().for_card_keys().only(*cards.KEY_FIELDS)[start:stop])
    return list(Generation.objects.raw(*built)) if built else []


STUDIO_PARAMS = ("model", "project", "from", "start", "seed", "prompt", "character", "image")
BATCH_PARAMS = ("batch_size", "num_images")
PAGE_SIZE = 48


class Page(list):
    """One page of the gallery, read as PAGE_SIZE + 1 rows: the extra row says there is an older
    page, so paging never counts the whole history."""

    def __init__(self, rows, number):
        super().__init__(rows[:PAGE_SIZE])
        self.number = number
        self.has_next = len(rows) > PAGE_SIZE
        self.has_previous = number > 1
        self.has_other_pages = self.has_next or self.has_previous
        self.next_page_number, self.previous_page_number = number + 1, number - 1


def _page_number(request):
    try:
        return min(max(1, int(request.GET.get("page", 1))), 1_000_000)
    except ValueError:
        return 1


def _query(request, *leave_out, **put):
    """The request's query string without the named parameters (and with those given)."""
    query = request.GET.copy()
    for name in leave_out:
        query.pop(name, None)
    for name, value in put.items():
        query[name] = value
    return query.urlencode()


@login_required
@require_GET
def studio_form(request):
    """The form for another model, swapped in when the model picker changes."""
    _require_member(request)
    return render(request, "generations/studio.html#generation-form", {"form": _start_form(request)})


@login_required
@require_GET
def studio_cost(request):
    _require_member(request)
    model = catalogue.get(request.GET.get("model", "")) or catalogue.get(catalogue.DEFAULT_MODEL)
    seeds = _int(request.GET.get("sweep_seeds"), 1) if model.has("seed") else 1
    cells = max(1, len(request.GET.getlist("sweep_styles"))) * seeds
    quote = pricing.quote(model, params_from_query(model, request.GET)).times(cells)
    project = Project.objects.for_user(request.user).active().filter(pk=_int_or_none(request.GET.get("project")))
    allowances = ledger.allowances(request.user, project.first())
    ctx = {"credits": quote.credits, "usd": quote.usd, "quote": quote, "model": model, "cells": cells,
           "allowances": allowances, "refused": next((a for a in allowances if a.refuses(quote.credits)), None)}
    return render(request, "generations/studio.html#cost", ctx)


def _int_or_none(value):
    return int(value) if value and str(value).isdigit() else None


def _int(value, default):
    try:
        return max(1, min(int(value), MAX_SWEEP_SEEDS))
    except (TypeError, ValueError):
        return default


@login_required
@require_POST
def generation_create(request):
    _require_member(request)
    model = catalogue.get(request.POST.get("model") or catalogue.DEFAULT_MODEL)
    if model is None:
        raise Http404("Unknown model")
    token, fingerprint = _submit_token(request)
    if token and (earlier := idempotency.earlier(request.user, idempotency.FORM, token)):
        return _resubmitted(request, model, earlier, fingerprint)
    form = GenerationForm(request.POST, request.FILES, model=model, user=request.user)
    if not form.is_valid():
        return render(request, "generations/studio.html#generation-form", {"form": form})
    try:
        generations = _start_once(request.user, form, token, fingerprint)
    except BudgetExceeded as exc:  # nothing was created or charged
        form.add_error(None, str(exc))
        return render(request, "generations/studio.html#generation-form", {"form": form})
    if generations is None:  # the other click of a double click got there first
        return _resubmitted(request, model, idempotency.earlier(request.user, idempotency.FORM, token),
                            fingerprint)
    if not request.htmx:
        messages.success(request, "Submitted. The result appears in the gallery when it is ready.")
        return redirect("sweep", generations[0].sweep) if generations[0].sweep else redirect("gallery")
    form.ready_for_next()
    form.data["submit_token"] = new_submit_token()
    ctx = {"form": form, "submitted": generations}
    response = render(request, "generations/studio.html#generation-form", ctx)
    # The ids let the page bring the new cards into view once the list shows them.
    return trigger_client_event(response, "generationCreated", {"ids": [str(g.pk) for g in generations]})


def _submit_token(request):
    """The studio form's one-time token (when it carries a usable one), and a fingerprint of
    what was sent with it: the fields and the files' names and sizes."""
    token = request.POST.get("submit_token", "")
    if not token or idempotency.key_problem(token):
        return "", ""
    fields = sorted((name, request.POST.getlist(name)) for name in request.POST
                    if name not in ("csrfmiddlewaretoken", "submit_token"))
    files = sorted((name, item.name, item.size) for name, items in request.FILES.lists() for item in items)
    return token, idempotency.fingerprint(fields, files)


def _start_once(user, form, token, fingerprint):
    """_start_all, at most once per form token; None when a submit of the same form committed first."""
    with transaction.atomic():
        claim = idempotency.claim(user, idempotency.FORM, token, fingerprint) if token else None
        if claim is not None and claim.generation_id:
            return None
        generations = _start_all(user, form)
        idempotency.record(claim, generations[0])
    return generations


def _resubmitted(request, model, earlier, fingerprint):
    """A form whose token already started its job: a double click, a reload that posts again
    or a resend shows that job instead of starting another. A form changed since (sent again
    from the browser's history) keeps the changes and asks for one more press."""
    first = earlier.generation
    generations = list(Generation.objects.filter(sweep=first.sweep).order_by("created_at")) if first.sweep \
        else [first]
    same = earlier.fingerprint == fingerprint
    if same and not request.htmx:
        messages.info(request, "Already submitted; here it is.")
        return redirect("sweep", first.sweep) if first.sweep else redirect("gallery")
    if same:  # the form as the first answer showed it
        seed = "same" if request.POST.get("lock_seed") else "new"
        form = GenerationForm(data_from_params(model, first.params, project=first.project, seed_mode=seed),
                              model=model, user=request.user)
        form.is_valid()
    else:
        form = GenerationForm(request.POST, request.FILES, model=model, user=request.user)
        form.is_valid()
        form.add_error(None, "This form was already sent and started a generation. Press Generate again to start "
                             "another one with these settings.")
    form.data["submit_token"] = new_submit_token()
    ctx = {"form": form, "submitted": generations if same else None}
    return render(request, "generations/studio.html#generation-form", ctx)


def _start_all(user, form):
    """One generation, or one per cell of a seed sweep / style grid."""
    sweep = uuid.uuid4() if form.is_sweep else None
    with transaction.atomic():  # every cell, or none if the budget cannot hold them all
        return [pipeline.start(owner=user, project=form.cleaned_data["project"], model_id=form.spec.id,
                               params=cell, sweep=sweep) for cell in form.cells()]


@login_required
@found(_get_sweep_for_user)
@require_GET
def sweep(request, generations):
    sweeps.caption(generations, request.user)
    styles = list(dict.fromkeys(g.params.get("style_id", "") for g in generations))
    seeds = list(dict.fromkeys(g.seed for g in generations))
    cells = {(g.params.get("style_id", ""), g.seed): g for g in generations}
    names = dict(Style.objects.filter(provider_id__in=styles).values_list("provider_id", "name"))
    rows = [(seed, [cells.get((style, seed)) for style in styles]) for seed in seeds]
    ctx = {"rows": rows, "styles": [names.get(s, s or "No style") for s in styles], "first": generations[0]}
    return render(request, "generations/sweep.html", ctx)


def _get_card_for_user(request, pk):
    """A card's generation with its credits; for a poll (?seen=), only the fields its version is
    made of."""
    visible = Generation.objects.for_user(request.user)
    if request.GET.get("seen"):
        return get_object_or_404(visible.only(*Generation.CARD_VERSION_FIELDS), pk=pk)
    return get_object_or_404(visible.with_credits().select_related("project", "account").outputs_for(request.user),
                             pk=pk)


@login_required
@found(_get_card_for_user)
@require_GET
def generation_card(request, generation):
    """What each running card polls. It sends back the version it shows (?seen=); while that
    still matches, the answer is 204 and htmx keeps the card and keeps polling. A card that did
    change is then read whole: one query more a few times in a job's life, instead of a heavier
    one every 2 s."""
    if request.GET.get("seen"):
        if request.GET["seen"] == generation.card_version:
            return HttpResponse(status=204)
        generation = (Generation.objects.with_credits().select_related("project", "account")
                      .outputs_for(request.user).get(pk=generation.pk))
    sweeps.caption([generation], request.user)
    response = render(request, "generations/gallery.html#generation-card", {"generation": generation})
    if generation.is_settled:
        response.status_code = HTMX_STOP_POLLING
    return response


def _card(request, generation):
    return cards.card(request, generation)


@login_required
@found(_get_generation_for_user)
@require_POST
def generation_cancel(request, generation):
    _require_member(request)
    pipeline.request_cancel(generation)
    if request.htmx:
        return _card(request, generation)
    return redirect(generation)


@login_required
@found(_get_generation_for_user)
@require_POST
def generation_retry(request, original):
    _require_member(request)
    if not original.is_retryable:
        messages.error(request, "Only failed, blocked or canceled jobs can be retried.")
        return redirect(original)
    try:
        pipeline.start(owner=request.user, project=original.project, model_id=original.model_id,
                       params=original.params, retry_of=original)
    except BudgetExceeded as exc:  # nothing was created or charged; the card says why
        Generation.objects.filter(pk=original.pk).update(notice=str(exc))
        messages.error(request, str(exc))
        return _card(request, original) if request.htmx else redirect(original)
    if request.htmx:
        return trigger_client_event(_card(request, original), "generationCreated")
    messages.success(request, "Retrying with the same settings as a new job.")
    return redirect("gallery")


@login_required
@found(_get_generation_for_user)
@require_GET
def generation_detail(request, generation):
    ctx = {"generation": generation, "events": generation.events.all(),
           "params_json": json.dumps(generation.params, indent=2),
           "placements": generation.gallery_items.filter(gallery__in=Gallery.objects.for_team(request.user))
           .select_related("gallery", "output").prefetch_related("feedback")}
    return render(request, "generations/detail.html", ctx)


@login_required
@found(_get_output_for_user)
@require_GET
def output_file(request, output, variant="file"):
    stored = output.thumbnail if variant == "thumb" else output.file
    if not stored:
        raise Http404("Not archived yet")
    content_type = "image/webp" if variant == "thumb" else output.content_type
    response = FileResponse(stored.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{output.generation_id}-{output.position}'\
            f'.{stored.name.rsplit(".", 1)[-1]}"'
    return response


def _file_response(stored, content_type):
    response = FileResponse(stored.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@found(_get_upload_for_user)
@require_GET
def upload_file(request, upload):
    return _file_response(upload.file, upload.content_type)


@require_GET
def upload_public(request, token):
    """How the provider fetches an input: the unguessable token is the only key."""
    upload = get_object_or_404(Upload, token=token)
    return _file_response(upload.file, upload.content_type)


@login_required
def profile(request):
    created = None
    if request.method == "POST" and request.POST.get("action") == "create":
        _, created = ApiToken.objects.issue(request.user, request.POST.get("name", "")[:80] or "script")
    elif request.method == "POST" and request.POST.get("action") == "revoke":
        request.user.api_tokens.filter(pk=request.POST.get("token")).update(revoked_at=timezone.now())
    ctx = {"tokens": request.user.api_tokens.filter(revoked_at__isnull=True), "created": created}
    return render(request, "generations/profile.html", ctx)


@csrf_exempt
@require_POST
def higgsfield_webhook(request):
    """Model API deliveries, signed with Standard Webhooks. Verified before anything is
    read or written, recorded and applied in one short transaction, answered fast; downloads
    are left to the worker. A delivery with no signature headers at all (the service signs only
    once the account's secret was revealed) is answered 202 and is only a hint: the worker asks
    the provider. `?g=` names the job the URL was made for."""
    generation_pk = _uuid_or_none(request.GET.get("g"))
    if not any(name in request.headers for name in SIGNATURE_HEADERS):
        payload = _payload(request)
        if payload is not None:
            pipeline.receive_hint(ProviderAccount.Surface.MODEL_API, payload, generation_pk)
        return HttpResponse("unsigned: noted as a hint", status=202)
    try:
        payload = verify_standard(request.body, request.headers)
    except WebhookVerificationError as exc:
        log.warning("rejected webhook: %s", exc)
        return HttpResponse("invalid signature", status=401)
    if not isinstance(payload, dict) or not payload.get("request_id"):
        return HttpResponseBadRequest("missing request_id")
    created = pipeline.receive_delivery(request.headers["webhook-id"], ProviderAccount.Surface.MODEL_API, payload,
                                        generation_pk)
    return HttpResponse("ok" if created else "duplicate")


SIGNATURE_HEADERS = ("webhook-id", "webhook-signature", "webhook-timestamp")


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _payload(request):
    try:
        payload = json.loads(request.body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


@csrf_exempt
@require_POST
def v1_webhook(request, pk):
    """Legacy v1 deliveries: the JobSet, with the per-generation secret we sent echoed in
    X-Webhook-Secret-Key (checked in constant time; nothing secret is stored)."""
    if not webhooks.token_matches("v1", pk, request.headers.get("X-Webhook-Secret-Key")):
        log.warning("rejected v1 webhook for %s: wrong secret", pk)
        return HttpResponse("invalid secret", status=401)
    payload = _payload(request)
    if payload is None:
        return HttpResponseBadRequest("expected a JSON job set")
    return _job_delivery(ProviderAccount.Surface.V1, pk, payload, refused="unknown job set")


@csrf_exempt
@require_POST
def pixazo_webhook(request, pk, token):
    """Pixazo callbacks are unsigned: the unguessable token in the URL says which job it
    is about, and the delivery is only a hint — the worker polls before trusting it."""
    if not webhooks.token_matches("pixazo", pk, token):
        raise Http404
    payload = _payload(request)
    if payload is None:
        return HttpResponseBadRequest("expected a JSON status body")
    return _job_delivery(ProviderAccount.Surface.PIXAZO, pk, payload, refused="unknown request")


def _job_delivery(surface, pk, payload, refused):
    """Record a delivery to a job's own webhook URL; what it means per surface is the pipeline's."""
    delivery, created = pipeline.receive_job_delivery(surface, pk, payload)
    if delivery is None:
        return HttpResponseBadRequest(refused)
    return HttpResponse("ok" if created else "duplicate")
