from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from characters import tasks
from characters.forms import CharacterForm
from characters.models import Character, CharacterPhoto, Motion, Style
from generations.models import Generation
from generations.pricing import estimate_credits
from higgsweb.access import found

PICKER_LIMIT = 60


def _get_character_for_user(request, pk):
    """The character if the viewer may see it; 404 otherwise (clients see none)."""
    qs = Character.objects.for_user(request.user).select_related("owner", "consent_by")
    return get_object_or_404(qs, pk=pk)


def _require_member(request):
    if not (request.user.is_member_role or request.user.is_admin_role):
        raise Http404


@login_required
@require_GET
def character_list(request):
    _require_member(request)
    characters = Character.objects.for_user(request.user).select_related("owner")
    form = CharacterForm(user=request.user, initial={"model_version": request.GET.get("model_version")}
                         if request.GET.get("model_version") in Character.Version.values else None)
    ctx = {"characters": characters, "form": form, "deleting": Character.objects.deletion_pending(request.user)}
    return render(request, "characters/list.html", ctx)


@login_required
@require_POST
def character_create(request):
    _require_member(request)
    form = CharacterForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        ctx = {"characters": Character.objects.for_user(request.user), "form": form}
        return render(request, "characters/list.html", ctx)
    data = form.cleaned_data
    with transaction.atomic():
        character = Character.objects.create(
            name=data["name"], model_version=data["model_version"], owner=request.user,
            consent_attested=True, consent_by=request.user, consent_at=timezone.now(),
            consent_subject=data["consent_subject"], consent_notes=data["consent_notes"],
            next_action_at=timezone.now())
        for position, photo in enumerate(data["photos"]):
            row = CharacterPhoto(character=character, position=position, content_type=photo.content_type,
                                 width=photo.width, height=photo.height)
            row.image.save(f"{character.pk}-{position}.{photo.extension}", ContentFile(photo.data), save=False)
            row.save()
        form.discard_kept()
        transaction.on_commit(lambda: tasks.enqueue("start_training", character.pk))
    messages.success(request, f"“{character.name}” is uploading and will train for a few minutes.")
    return redirect("character-list")


@login_required
@found(_get_character_for_user)
@require_GET
def character_card(request, character):
    response = render(request, "characters/list.html#character-card", {"character": character})
    if character.is_finished:
        response.status_code = HTMX_STOP_POLLING
    return response


@login_required
@found(_get_character_for_user)
@require_GET
def character_detail(request, character):
    generations = Generation.objects.for_user(request.user).filter(
        params__custom_reference_id__in=character.provider_ids or ["-"]).select_related("account") \
        .prefetch_related("outputs")
    used = sum(estimate_credits(g.model_id, g.params) for g in generations if g.status == Generation.Status.COMPLETED)
    trainings = 1 + len(character.past_provider_ids)
    ctx = {"character": character, "photos": character.photos.all(), "generations": generations,
           "training_credits": Character.TRAINING_CREDITS * trainings, "generation_credits": used,
           "total_credits": Character.TRAINING_CREDITS * trainings + used}
    return render(request, "characters/detail.html", ctx)


@login_required
@found(_get_character_for_user)
@require_POST
def character_delete(request, character):
    if not character.can_delete:
        messages.error(request, f"“{character.name}” is still training. The provider does not delete a character "
                       "while it trains; try again when it is ready or has failed (usually a few minutes).")
        return redirect(character)
    Character.objects.filter(pk=character.pk).update(delete_requested_at=timezone.now(),
                                                    next_action_at=timezone.now())
    tasks.remove_photos(character)  # consent is withdrawn: the photos go now, the rest when the provider allows
    transaction.on_commit(lambda: tasks.enqueue("delete_character", character.pk))
    messages.success(request, f"“{character.name}” is being deleted, here and at the provider.")
    return redirect("character-list")


@login_required
@found(_get_character_for_user)
@require_POST
def character_retrain(request, character):
    if not character.restart():
        messages.error(request, "It is still training; a retrain can start once this training has finished.")
        return redirect(character)
    transaction.on_commit(lambda: tasks.enqueue("start_training", character.pk))
    messages.success(request, f"Retraining “{character.name}” from the same photos.")
    return redirect(character)


@login_required
@found(_get_character_for_user)
@require_GET
def character_photo(request, character, position):
    photo = get_object_or_404(character.photos, position=position)
    return _photo_response(photo, "private, max-age=3600")


@login_required
@found(_get_character_for_user)
@require_GET
def character_thumbnail(request, character):
    if not character.thumbnail:
        raise Http404
    response = FileResponse(character.thumbnail.open("rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=600"
    return response


@require_GET
def photo_public(request, token):
    """The provider fetches training photos here, by an unguessable token, only while
    the character is waiting to train or training."""
    photo = get_object_or_404(CharacterPhoto.objects.select_related("character"), token=token)
    character = photo.character
    if character.delete_requested_at or character.status not in (Character.Status.DRAFT, *Character.TRAINING):
        raise Http404
    return _photo_response(photo, "no-store")


def _photo_response(photo, cache):
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache
    return response


def _search(qs, request):
    q = request.GET.get("q", "").strip()
    return qs.filter(Q(name__icontains=q) | Q(description__icontains=q)) if q else qs


@login_required
@require_GET
def style_picker(request):
    _require_member(request)
    version = request.GET.get("version", "v1")
    styles = _search(Style.objects.filter(active=True, version=version), request)[:PICKER_LIMIT]
    ctx = {"styles": styles, "version": version, "selected": request.GET.get("style_id", "")}
    return render(request, "characters/pickers.html#style-options", ctx)


@login_required
@require_GET
def motion_picker(request):
    _require_member(request)
    motions = _search(Motion.objects.filter(active=True), request)[:PICKER_LIMIT]
    ctx = {"motions": motions, "selected": request.GET.get("motion_id", "")}
    return render(request, "characters/pickers.html#motion-options", ctx)


@login_required
@require_GET
def character_picker(request):
    _require_member(request)
    model_id = request.GET.get("model", "")
    q = request.GET.get("q", "").strip()
    characters = Character.objects.for_user(request.user).for_model(model_id).filter(name__icontains=q)
    ctx = {"characters": characters[:PICKER_LIMIT], "model": model_id,
           "selected": request.GET.get("custom_reference_id", "")}
    return render(request, "characters/pickers.html#character-options", ctx)
