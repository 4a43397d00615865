"""What a result offers beyond its card's polling: the full-screen viewer, hiding, deleting,
and acting on several selected cards at once (add to a gallery, ZIP, hide, delete)."""

import hashlib
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Prefetch, prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from characters.models import Character, Style
from generations import bundles, removal, sweeps
from generations.models import Gallery, GalleryItem, Generation, Output
from higgsweb import compiled
from higgsweb.access import found

MAX_SELECTED = 500


# Lookups: a 404 for anything the viewer may not see, or may not change.


def _get_saved_output_for_user(request, pk):
    outputs = Output.objects.for_user(request.user).filter(archived_at__isnull=False).exclude(file="")
    return get_object_or_404(outputs, pk=pk)


def _get_own_generation(request, pk):
    """A generation the viewer made (what they may hide)."""
    if not request.user.is_member_role:
        raise Http404
    return get_object_or_404(Generation.objects.for_user(request.user).filter(owner=request.user), pk=pk)


def _get_generation_for_member(request, pk):
    if not request.user.is_member_role:
        raise Http404
    generations = Generation.objects.for_user(request.user).select_related("project")
    return get_object_or_404(generations.prefetch_related("outputs", "project__galleries"), pk=pk)


def _get_deletable_generation(request, pk):
    """A generation the viewer made, or any generation for an admin."""
    if not request.user.is_member_role:
        raise Http404
    visible = Generation.objects.for_user(request.user)
    return get_object_or_404(visible if request.user.is_admin_role else visible.filter(owner=request.user), pk=pk)


# The list's cards, each drawn once: a settled card (nothing about it will change but a gallery
# chip, its hiding or its deletion, all in its key), or a running one (its version in its key),
# is kept in the cache and reused for every list it is in until something it shows changes.

CARD_TEMPLATE = "generations/gallery.html#generation-card"
# Stands in for the viewer's CSRF token in a stored card; each answer puts its own in.
CSRF_MARK = "csrf-token-of-the-viewer"
CARD_SECONDS = 24 * 3600


# What a list reads of each row to know whether its stored card still holds (see card_key).
KEY_FIELDS = ("id", "owner", "project", "account", "model_id", "sweep", "created_at", "finished_at", "imported",
              *Generation.CARD_VERSION_FIELDS)


def viewer_of(user):
    """Who a card is drawn for, as far as it shows: (user id, role)."""
    return user.pk, "admin" if user.is_admin_role else "member" if user.is_member_role else "client"


def card_key(generation, viewer, placements):
    """What a card is drawn from for `viewer` (viewer_of), as a cache key (`placements`: its
    gallery items, as GenerationQuerySet.for_card_keys reads them). A settled card's outputs, settings and sweep
    no longer change; a running one shows only its row (its version) and ticks its elapsed time in
    the page. None for a card drawn afresh each time: waiting in line (its place moves), a result
    being saved image by image, or one counting down to an expiry."""
    if generation.at_risk or not (generation.is_settled or generation.is_running_card):
        return None
    shown = (generation.card_version, generation.credits, generation.was_refunded, generation.sweep,
             generation.project_id, generation.account_id, generation.model_id, generation.finished_at,
             generation.imported, generation.owner_id == viewer[0], viewer[1], placements)
    return f"card:{generation.pk}:{hashlib.sha256(repr(shown).encode()).hexdigest()[:24]}"


def draw_cards(request, generations):
    """Each card's HTML on `card_html`, from the cache where it was drawn before. `generations`
    (a list, changed in place) need only KEY_FIELDS, their credits and their placements
    (GenerationQuerySet.for_card_keys); the cards drawn afresh are read whole, with their outputs
    and gallery items."""
    viewer = viewer_of(request.user)
    keys = {g.pk: card_key(g, viewer, g.placements) for g in generations}
    stored = cache.get_many([key for key in keys.values() if key])
    missing = [g.pk for g in generations if stored.get(keys[g.pk]) is None]
    whole = {}
    if missing:
        whole = {g.pk: g for g in Generation.objects.filter(pk__in=missing).with_credits()
                 .select_related("project", "account")}
        # Only a completed card shows outputs and gallery chips (most misses are running cards).
        prefetch_related_objects([g for g in whole.values() if g.status == Generation.Status.COMPLETED], "outputs",
                                 Prefetch("gallery_items", GalleryItem.objects.select_related("gallery")))
        sweeps.caption(list(whole.values()), request.user)
    template = get_template(CARD_TEMPLATE)
    token, fresh = get_token(request), {}
    for i, generation in enumerate(generations):
        key = keys[generation.pk]
        html = stored.get(key) if key else None
        if html is None:
            generations[i] = generation = whole[generation.pk]
            html = template.render({"generation": generation, "user": request.user, "csrf_token": CSRF_MARK})
            if key:
                fresh[key] = html
        # The template escaped what it drew; the token is letters and digits.
        generation.card_html = mark_safe(html.replace(CSRF_MARK, token))  # noqa: S308
    if fresh:
        cache.set_many(fresh, CARD_SECONDS)
    return generations


# The viewer.


def viewer_galleries(request, output):
    """The viewer's list of the team galleries one image is in, and the galleries it can go in."""
    galleries = Gallery.objects.for_team(request.user)
    return {"output": output, "generation": output.generation,
            "placements": output.gallery_items.filter(gallery__in=galleries).select_related("gallery"),
            "galleries": galleries.filter(project=output.generation.project_id)}


def media(output, file_url, thumb_url, download_url):
    return {"kind": output.kind, "src": file_url or thumb_url, "thumb": thumb_url, "download": download_url,
            "width": output.width, "height": output.height}


def render_viewer(request, ctx):
    """The viewer's fragment for the dialog (htmx), or the same as a page of its own."""
    ctx["standalone"] = not request.htmx
    template_name = "generations/viewer.html" + ("#viewer-content" if request.htmx else "")
    return render(request, template_name, ctx)


@login_required
@found(_get_saved_output_for_user)
@require_GET
def output_view(request, output):
    """One result in the viewer. The team sees its prompt, settings, cost and actions; a client
    (who reaches it from a generation's page) sees the picture only."""
    team = request.user.is_member_role
    generation = Generation.objects.with_credits().select_related("project", "owner").get(pk=output.generation_id)
    output.generation = generation
    count = len(generation.outputs.all())
    file_url = reverse("output-file", args=[output.pk])
    ctx = {"team": team, "generation": generation, "output": output, "key": f"o{output.pk}", "batch": count > 1,
           "title": (generation.prompt or generation.model_id) if team else str(generation.project),
           "place": f"{output.get_kind_display()} {output.position + 1} of {count}" if count > 1 else "",
           "media": media(output, file_url, reverse("output-thumb", args=[output.pk]), file_url + "?download=1"),
           "back_url": reverse("gallery") if team else reverse("gallery-index")}
    if team:
        ctx |= viewer_galleries(request, output)
        ctx["style"] = _style_name(generation.params.get("style_id"))
        ctx["character"] = _character_name(request.user, generation.params.get("custom_reference_id"))
    return render_viewer(request, ctx)


def _style_name(style_id):
    if not style_id:
        return ""
    return Style.objects.filter(provider_id=style_id).values_list("name", flat=True).first() or style_id


def _character_name(user, provider_id):
    if not provider_id:
        return ""
    character = Character.objects.for_user(user).filter(provider_id=provider_id).first()
    return character.name if character else "a Soul ID character"


# A card's menu, hide and delete, one card at a time.


@login_required
@found(_get_generation_for_member)
@require_GET
def generation_menu(request, generation):
    """A card's menu, fetched when it is first opened: most menus never are, so the list does
    not carry 48 of them. (A generation's own page has its menu written out, without JavaScript.)"""
    return render(request, "generations/gallery.html#card-menu", {"generation": generation})



def card(request, generation, message=""):
    generation = (Generation.objects.with_credits().select_related("project")
                  .prefetch_related("outputs", "gallery_items__gallery").get(pk=generation.pk))
    sweeps.caption([generation], request.user)
    ctx = {"generation": generation, "card_message": message}
    return render(request, "generations/gallery.html#generation-card", ctx)


@login_required
@found(_get_own_generation)
@require_POST
def generation_hide(request, generation):
    """Hide a card from the gallery ("show hidden" brings it back), or show it again."""
    hidden = request.POST.get("hidden", "yes") != "no"
    removal.hide(generation, request.user, hidden)
    if request.htmx:
        return card(request, generation)
    messages.success(request, "Hidden: “Show hidden” brings it back." if hidden else "Shown again.")
    return redirect("gallery")


@login_required
@found(_get_deletable_generation)
@require_POST
def generation_delete(request, generation):
    refusal = removal.delete(generation, request.user)
    if request.htmx:
        if refusal:
            return card(request, generation, refusal)
        response = HttpResponse("")  # the card goes
        if request.htmx.current_url_abs_path == generation.get_absolute_url():
            response["HX-Redirect"] = reverse("gallery")  # its own page is gone
        return response
    if refusal:
        messages.error(request, f"Not deleted. {refusal}")
        return redirect(generation)
    messages.success(request, "Deleted. Its files are gone; what it cost stays in the ledger.")
    return redirect("gallery")


# Several cards at once.


def _selected(request):
    ids = []
    for value in request.POST.getlist("ids")[:MAX_SELECTED]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return list(Generation.objects.for_user(request.user).filter(pk__in=ids).select_related("project")
                .prefetch_related("outputs").order_by("-created_at"))


@login_required
@require_POST
def generations_bulk(request):
    """Act on the selected cards: add their images to a gallery, download them as one ZIP,
    hide or show them, or delete them. Ids the viewer may not see are left out, unanswered."""
    if not request.user.is_member_role:
        raise Http404
    chosen, action = _selected(request), request.POST.get("action", "")
    if action == "zip" and any(g.saved_outputs for g in chosen):
        finished = [g for g in chosen if g.saved_outputs]
        archive = bundles.build(bundles.generation_entries(finished), with_settings=True)
        name = f"higgsweb-{len(finished)}-generations-{timezone.localdate():%Y-%m-%d}.zip"
        return FileResponse(archive, as_attachment=True, filename=name, content_type="application/zip")
    if not chosen:
        outcome = ["Nothing selected: tick the cards first."]
    elif action == "add":
        outcome = _add(request, chosen)
    elif action in ("hide", "show"):
        outcome = _hide(request, chosen, hidden=action == "hide")
    elif action == "delete":
        outcome = _delete(request, chosen)
    elif action == "zip":
        outcome = ["Nothing to download: none of the selected has a saved result yet."]
    else:
        outcome = ["Choose what to do with the selection."]
    return _answer(request, outcome, changed=action in ("add", "hide", "show", "delete"))


def _add(request, chosen):
    gallery = Gallery.objects.for_team(request.user).filter(pk=request.POST.get("gallery") or None).first()
    if gallery is None:
        return ["Choose a gallery first."]
    elsewhere, unfinished, before = 0, 0, gallery.items.count()
    for generation in chosen:
        if generation.project_id != gallery.project_id:
            elsewhere += 1
        elif generation.status != Generation.Status.COMPLETED:
            unfinished += 1
        else:
            gallery.add(generation, by=request.user)
    added = gallery.items.count() - before
    outcome = [f"Added {added} item{'s' if added != 1 else ''} to “{gallery.name}”."]
    if elsewhere:
        outcome.append(f"{elsewhere} left out: from another project than the gallery’s ({gallery.project}).")
    if unfinished:
        outcome.append(f"{unfinished} left out: not finished.")
    return outcome


def _hide(request, chosen, hidden):
    done = sum(removal.hide(generation, request.user, hidden) for generation in chosen)
    outcome = [f"{'Hid' if hidden else 'Showed again'} {done} generation{'s' if done != 1 else ''}."]
    if done < len(chosen):
        outcome.append(f"{len(chosen) - done} left out: only their makers can hide them.")
    return outcome


def _delete(request, chosen):
    refusals = [(generation, removal.delete(generation, request.user)) for generation in chosen]
    refused = [(generation, why) for generation, why in refusals if why]
    done = len(chosen) - len(refused)
    outcome = [f"Deleted {done} generation{'s' if done != 1 else ''}."]
    outcome += [f"Kept “{generation.prompt[:40] or generation.model_id}”: {why}" for generation, why in refused]
    return outcome


def _answer(request, outcome, changed):
    if request.htmx:
        response = render(request, "generations/selection.html#bulk-status", {"outcome": outcome})
        return trigger_client_event(response, "generationsChanged") if changed else response
    for line in outcome:
        messages.info(request, line)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("gallery")
    return redirect(target)


def bulk_galleries(user):
    """The galleries the bulk bar can add to: the team's, by project, as {pk, name, project}."""
    galleries = compiled.rows(("bulk-galleries", user.pk, user.role), lambda: Gallery.objects.for_team(user)
                              .order_by("project__name", "name").values_list("pk", "name", "project__name"))
    return [{"pk": pk, "name": name, "project": project} for pk, name, project in galleries]
