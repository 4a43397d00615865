import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from generations import tasks
from generations.forms import SoulForm
from generations.models import Generation, Output, WebhookDelivery
from generations.webhooks import WebhookVerificationError, verify_standard
from higgsweb.models import Project

log = logging.getLogger("generations.views")


def _get_generation_for_user(request, pk):
    qs = Generation.objects.for_user(request.user).select_related("owner", "project")
    return get_object_or_404(qs, pk=pk)


def _require_member(request):
    if not request.user.is_member_role:
        raise PermissionDenied


@login_required
@require_GET
def gallery(request):
    template_name = "generations/gallery.html"
    if request.htmx and request.htmx.target == "generation-list":
        template_name += "#generation-list"
    generations = Generation.objects.for_user(request.user).select_related("owner", "project")
    if request.GET.get("character"):  # a character's provider id: generations that used it
        generations = generations.filter(params__custom_reference_id=request.GET["character"])
    generations = generations.prefetch_related("outputs")[:60]
    form = SoulForm(initial={"project": Project.objects.active().first()}) if request.user.is_member_role else None
    ctx = {"generations": generations, "form": form}
    return render(request, template_name, ctx)


@login_required
@require_POST
def generation_create(request):
    _require_member(request)
    form = SoulForm(request.POST)
    if not form.is_valid():
        return render(request, "generations/gallery.html#generation-form", {"form": form})
    generation = Generation.objects.start(owner=request.user, project=form.cleaned_data["project"],
                                          model_id=form.model_id, params=form.payload())
    transaction.on_commit(lambda: tasks.enqueue("submit_generation", generation.pk))
    if not request.htmx:
        messages.success(request, "Submitted. The result appears in the gallery when it is ready.")
        return redirect("gallery")
    kept = SoulForm(initial={**form.cleaned_data, "prompt": form.cleaned_data["prompt"]})
    response = render(request, "generations/gallery.html#generation-form", {"form": kept, "submitted": generation})
    return trigger_client_event(response, "generationCreated")


@login_required
@require_GET
def generation_card(request, pk):
    generation = _get_generation_for_user(request, pk)
    response = render(request, "generations/gallery.html#generation-card", {"generation": generation})
    if generation.is_settled:
        response.status_code = HTMX_STOP_POLLING
    return response


@login_required
@require_GET
def generation_detail(request, pk):
    generation = _get_generation_for_user(request, pk)
    ctx = {"generation": generation, "events": generation.events.all(),
           "params_json": json.dumps(generation.params, indent=2)}
    return render(request, "generations/detail.html", ctx)


@login_required
@require_GET
def output_file(request, pk, variant="file"):
    output = get_object_or_404(Output.objects.select_related("generation"), pk=pk)
    if not Generation.objects.for_user(request.user).filter(pk=output.generation_id).exists():
        raise Http404
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


@csrf_exempt
@require_POST
def higgsfield_webhook(request):
    """Model API deliveries, signed with Standard Webhooks. Records durably, answers
    fast, and leaves downloads to the worker."""
    try:
        payload = verify_standard(request.body, request.headers)
    except WebhookVerificationError as exc:
        log.warning("rejected webhook: %s", exc)
        return HttpResponse("invalid signature", status=401)
    if not isinstance(payload, dict) or not payload.get("request_id"):
        return HttpResponseBadRequest("missing request_id")
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            webhook_id=request.headers["webhook-id"],
            defaults={"request_id": str(payload["request_id"]), "payload": payload})
        if created:
            tasks.apply_delivery(delivery)
    return HttpResponse("ok" if created else "duplicate")

