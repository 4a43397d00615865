"""Galleries: the team curates and shares them; client accounts and share-link visitors
look, download and answer. Every URL's object is looked up for the viewer first (404 for
what they may not see), then the method is checked."""

import secrets
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from generations import bundles, cards, feed
from generations.forms import (
    AddToGalleryForm,
    FeedbackForm,
    GalleryForm,
    LinkPasswordForm,
    ShareLinkForm,
    VisitorNameForm,
)
from generations.models import Feedback, Gallery, GalleryItem, Generation, LinkVisit, Output, ShareLink
from higgsweb.access import found
from higgsweb.models import Notification
from higgsweb.notify import notify

Event = LinkVisit.Event


# Lookups: one per kind of viewer and object, each a 404 for anything the viewer may not see.


def _get_gallery_for_user(request, pk):
    return get_object_or_404(Gallery.objects.for_user(request.user).select_related("project"), pk=pk)


def _get_gallery_for_team(request, pk):
    return get_object_or_404(Gallery.objects.for_team(request.user).select_related("project"), pk=pk)


def _get_item_for_team(request, pk, item):
    items = GalleryItem.objects.select_related("gallery", "generation")
    return get_object_or_404(items, gallery__in=Gallery.objects.for_team(request.user), gallery=pk, pk=item)


def _get_item_for_user(request, pk, item):
    """An item the viewer may look at: any of a team gallery's, or a shared gallery's finished ones."""
    if request.user.is_member_role:
        return _get_item_for_team(request, pk, item)
    return _get_item_for_client(request, pk, item)


def _get_item_for_client(request, pk, item):
    """An item a client account may answer on: finished, in a gallery shared with them."""
    if not request.user.is_client_role:
        raise Http404
    gallery = _get_gallery_for_user(request, pk)
    return get_object_or_404(gallery.visible_items(), pk=item)


def _get_link_for_team(request, pk, link):
    links = ShareLink.objects.select_related("gallery")
    return get_object_or_404(links, gallery__in=Gallery.objects.for_team(request.user), gallery=pk, pk=link)


def _get_generation_for_team(request, pk):
    if not request.user.is_member_role:
        raise Http404
    return get_object_or_404(Generation.objects.for_user(request.user).select_related("project"), pk=pk)


def _get_item_in_link(request, item):
    return get_object_or_404(request.share_link.gallery.visible_items(), pk=item)


def _get_output_in_link(request, pk):
    outputs = Output.objects.in_items(request.share_link.gallery.visible_items()).select_related("generation")
    return get_object_or_404(outputs.filter(archived_at__isnull=False).exclude(file=""), pk=pk)


class Viewer:
    """How one kind of viewer sees a gallery's items: which URLs serve the media, whether
    originals may be downloaded, whether prompts are shown, and who their answers are from.
    Team: everything. Client accounts: originals, no prompts, settings or costs. Link
    visitors: what the link allows; a video or audio original always streams for viewing
    (it cannot be played otherwise), but only a link with downloads on offers it as a file."""

    def __init__(self, request, link=None):
        self.request, self.link, user = request, link, request.user
        self.is_team = link is None and user.is_member_role
        self.show_settings = self.is_team or bool(link and link.show_settings)
        self.allow_downloads = link.allow_downloads if link else True
        if link is None:
            self.author_key, self.name = f"user:{user.pk}", user.get_full_name() or user.get_username()
        else:
            visitor = request.session.get("share_visitor", "")
            self.author_key = f"visitor:{visitor}" if visitor else ""
            self.name = request.session.get("share_name", "")

    def _media_url(self, variant, output):
        if self.link:
            return reverse(f"share-{variant}", args=[self.link.token, output.pk])
        return reverse(f"output-{variant}", args=[output.pk])

    def thumb_url(self, output):
        return self._media_url("thumb", output)

    def file_url(self, output):
        if self.allow_downloads or output.kind != Output.Kind.IMAGE:
            return self._media_url("file", output)
        return None

    def download_url(self, output):
        return self.file_url(output) + "?download=1" if self.allow_downloads else None

    def feedback_url(self, item):
        if self.link:
            return reverse("share-feedback", args=[self.link.token, item.pk])
        return reverse("gallery-item-feedback", args=[item.gallery_id, item.pk])

    def zip_url(self, gallery):
        if not self.allow_downloads:
            return None
        return reverse("share-zip", args=[self.link.token]) if self.link else reverse("gallery-zip", args=[gallery.pk])

    def view_url(self, item):
        if self.link:
            return reverse("share-item-view", args=[self.link.token, item.pk])
        return reverse("gallery-item-view", args=[item.gallery_id, item.pk])

    def entry(self, item, feedback=None, form=None):
        outputs = [{"output": o, "thumb": self.thumb_url(o), "file": self.file_url(o), "download": self.download_url(o)}
                   for o in item.files]
        return {"item": item, "generation": item.generation, "outputs": outputs, "mine": feedback,
                "name": item.label(self.show_settings), "view_url": self.view_url(item),
                "feedback_url": self.feedback_url(item), "form": form or FeedbackForm()}

    def entries(self, items):
        items = list(items)
        mine = {}
        if self.author_key:
            answers = Feedback.objects.filter(item__in=items, author_key=self.author_key)
            mine = {feedback.item_id: feedback for feedback in answers}
        return [self.entry(item, mine.get(item.pk)) for item in items]


def _viewer_page(request, gallery, viewer, status=200, **extra):
    since = timezone.now()  # before the items are read: what is added after it, the feed brings
    items = list(gallery.visible_items())
    ctx = {"gallery": gallery, "viewer": viewer, "entries": viewer.entries(items),
           "zip_url": viewer.zip_url(gallery), "link": viewer.link, **extra}
    if viewer.link is None:  # a client account's page takes in items as the team adds them
        ctx |= {"feed_interval": feed.INTERVAL, **feed.gallery_page_cursor(since, items)}
    return render(request, "galleries/viewer.html", ctx, status=status)


def _viewer_item(request, viewer, item, form=None):
    feedback = Feedback.objects.filter(item=item, author_key=viewer.author_key).first() if viewer.author_key else None
    ctx = {"entry": viewer.entry(item, feedback, form), "viewer": viewer}
    return render(request, "galleries/viewer.html#viewer-item", ctx)


# The team's pages, and client accounts' view of what is shared with them.


def _index(request, form=None):
    galleries = (Gallery.objects.for_user(request.user).select_related("project")
                 .annotate(item_count=Count("items", distinct=True)))
    if request.user.is_member_role:
        changes = Q(items__feedback__verdict=Feedback.Verdict.CHANGES)
        galleries = galleries.annotate(changes=Count("items__feedback", filter=changes, distinct=True),
                                       live_links=Count("links", filter=Q(links__revoked_at__isnull=True),
                                                        distinct=True))
        form = form or GalleryForm(user=request.user)
    return render(request, "galleries/index.html", {"galleries": galleries, "form": form})


@login_required
@require_GET
def gallery_index(request):
    return _index(request)


@login_required
@require_POST
def gallery_create(request):
    if not request.user.is_member_role:
        raise Http404
    form = GalleryForm(request.POST, user=request.user)
    if not form.is_valid():
        return _index(request, form)
    gallery = form.save(commit=False)
    gallery.created_by = request.user
    gallery.save()
    form.save_m2m()
    _tell_new_clients(gallery, gallery.clients.all())
    messages.success(request, f"“{gallery.name}” created. Add work to it from the cards in the studio's gallery.")
    return redirect(gallery)


def _team_items(gallery):
    return gallery.items.select_related("generation", "output").prefetch_related("generation__outputs", "feedback")


def _team_page(request, gallery, status=200, **forms):
    since = timezone.now()
    items = list(_team_items(gallery))
    links = gallery.links.annotate(visit_count=Count("visits"))
    ctx = {"gallery": gallery, "items": items, "links": links, "untitled": sum(not item.title for item in items),
           "form": forms.get("form") or GalleryForm(instance=gallery, user=request.user),
           "link_form": forms.get("link_form") or ShareLinkForm(), "created_link": forms.get("created_link"),
           "feed_interval": feed.INTERVAL, **feed.gallery_page_cursor(since, items)}
    return render(request, "galleries/team.html", ctx, status=status)


@login_required
@found(_get_gallery_for_user)
@require_GET
def gallery_feed(request, gallery):
    """A gallery page's live feed: items added since its cursor (?since=<time>&seen=<item ids>),
    else 204. The team gets its list of items redrawn (their numbers and order buttons follow);
    a client gets the new finished items added at the end, leaving what they are typing alone."""
    since = feed.moment_of(request.GET.get("since"))
    if since is None:
        return HttpResponseBadRequest("since: a feed cursor")
    team = request.user.is_member_role
    items = gallery.items.all() if team else gallery.visible_items()
    found, cursor = feed.new_gallery_items(items, since, feed.seen_in(request))
    if not found:
        return HttpResponse(status=204)
    ctx = {"gallery": gallery, "feed_interval": feed.INTERVAL, "oob": True, **cursor}
    if team:
        items = list(_team_items(gallery))
        ctx |= {"items": items, "untitled": sum(not item.title for item in items)}
        return render(request, "galleries/team.html#gallery-feed-update", ctx)
    viewer = Viewer(request)
    ctx |= {"viewer": viewer, "entries": viewer.entries(items.filter(pk__in=found))}
    return render(request, "galleries/viewer.html#gallery-feed-update", ctx)


@login_required
@found(_get_gallery_for_user)
@require_GET
def gallery_detail(request, gallery):
    if request.user.is_member_role:
        return _team_page(request, gallery)
    return _viewer_page(request, gallery, Viewer(request))


@login_required
@found(_get_gallery_for_team)
@require_POST
def gallery_edit(request, gallery):
    before = set(gallery.clients.values_list("pk", flat=True))
    form = GalleryForm(request.POST, instance=gallery, user=request.user)
    if not form.is_valid():
        return _team_page(request, gallery, form=form)
    form.save()
    _tell_new_clients(gallery, gallery.clients.exclude(pk__in=before))
    messages.success(request, "Saved.")
    return redirect(gallery)


def _tell_new_clients(gallery, clients):
    for client in clients:
        notify(client, Notification.Kind.SHARED, f"“{gallery.name}” was shared with you.", gallery.get_absolute_url())


@login_required
@found(_get_gallery_for_team)
@require_POST
def gallery_delete(request, gallery):
    gallery.delete()
    messages.success(request, f"“{gallery.name}” deleted; its share links stopped working. The work itself is kept.")
    return redirect("gallery-index")


def _items_fragment(request, gallery):
    if not request.htmx:
        return redirect(reverse("gallery-detail", args=[gallery.pk]) + "#items")
    items = list(_team_items(gallery))
    ctx = {"gallery": gallery, "items": items, "untitled": sum(not item.title for item in items)}
    return render(request, "galleries/team.html#gallery-items", ctx)


@login_required
@found(_get_item_for_team, "pk", "item")
@require_POST
def gallery_item_move(request, item):
    direction = request.POST.get("direction")
    if direction in ("up", "down"):
        to = item.gallery.items.filter(position__lt=item.position).count() + (-1 if direction == "up" else 1)
    else:
        try:
            to = int(request.POST.get("position", "")) - 1
        except ValueError:
            messages.error(request, "Give the new position as a number.")
            return _items_fragment(request, item.gallery)
    item.gallery.move(item, to)
    return _items_fragment(request, item.gallery)


@login_required
@found(_get_item_for_team, "pk", "item")
@require_POST
def gallery_item_remove(request, item):
    item.delete()
    item.gallery.renumber()
    return _items_fragment(request, item.gallery)


@login_required
@found(_get_item_for_team, "pk", "item")
@require_POST
def gallery_item_title(request, item):
    """The team names an item: what clients, share links and the ZIP call it."""
    item.title = " ".join(request.POST.get("title", "").split())[:GalleryItem._meta.get_field("title").max_length]
    item.save(update_fields=["title"])
    if request.htmx:
        return render(request, "galleries/team.html#item-title", {"item": item, "gallery": item.gallery, "saved": True})
    return _items_fragment(request, item.gallery)


@login_required
@found(_get_generation_for_team)
@require_POST
def generation_galleries(request, generation):
    """Add a card's generation, or one of its images, to one of its project's galleries, or
    take it out. From the viewer (target #viewer-galleries) the answer is that image's list of
    galleries; from a card, the card."""
    form = AddToGalleryForm(request.POST, user=request.user, generation=generation)
    if form.is_valid():
        gallery, output = form.cleaned_data["gallery"], form.cleaned_data["output"]
        if request.POST.get("action") == "remove":
            items = gallery.items.filter(generation=generation)
            (items.filter(output=output) if output else items).delete()
            gallery.renumber()
        else:
            try:
                gallery.add(generation, by=request.user, output=output)
            except ValueError as exc:
                messages.error(request, str(exc))
    if request.htmx and request.htmx.target == "viewer-galleries" and form.is_valid() and form.cleaned_data["output"]:
        output = form.cleaned_data["output"]
        return render(request, "generations/viewer.html#viewer-galleries", cards.viewer_galleries(request, output))
    if request.htmx:
        return cards.card(request, generation)
    return redirect("gallery")


def _item_viewer(request, viewer, item, back_url):
    """One gallery item in the viewer, as this viewer may see it: the prompt and settings only
    where they may read them, never costs."""
    entry = viewer.entry(item)
    if not entry["outputs"]:
        raise Http404("Not saved yet")
    shown = entry["outputs"][0]
    ctx = {"team": False, "show_settings": viewer.show_settings, "generation": item.generation,
           "output": shown["output"], "key": f"i{item.pk}", "title": entry["name"], "place": item.gallery.name,
           "media": cards.media(shown["output"], shown["file"], shown["thumb"], shown["download"]),
           "back_url": back_url + f"#item-{item.pk}"}
    return cards.render_viewer(request, ctx)


@login_required
@found(_get_item_for_user, "pk", "item")
@require_GET
def gallery_item_view(request, item):
    return _item_viewer(request, Viewer(request), item, item.gallery.get_absolute_url())


@login_required
@found(_get_gallery_for_user)
@require_GET
def gallery_zip(request, gallery):
    """Team: originals and the CSV of settings. Client accounts: originals only."""
    team = request.user.is_member_role
    archive = bundles.build(bundles.gallery_entries(gallery.visible_items(), team), with_settings=team)
    return FileResponse(archive, as_attachment=True, filename=f"{slugify(gallery.name) or 'gallery'}.zip",
                        content_type="application/zip")


@login_required
@found(_get_item_for_client, "pk", "item")
@require_POST
def gallery_item_feedback(request, item):
    viewer = Viewer(request)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        Feedback.objects.give(item, form.cleaned_data["action"], author_key=viewer.author_key, name=viewer.name,
                              comment=form.cleaned_data["comment"], user=request.user)
        form = None
    if request.htmx:
        return _viewer_item(request, viewer, item, form)
    return redirect(reverse("gallery-detail", args=[item.gallery_id]) + f"#item-{item.pk}")


@login_required
@require_GET
def feedback_list(request):
    if not request.user.is_member_role:
        raise Http404
    answers = (Feedback.objects.for_team(request.user)
               .select_related("item__gallery__project", "item__generation", "item__output", "user", "link")
               .prefetch_related("item__generation__outputs"))
    show = request.GET.get("show", "")
    if show in (Feedback.Verdict.APPROVED, Feedback.Verdict.CHANGES):
        answers = answers.filter(verdict=show)
    elif show == "favourite":
        answers = answers.filter(favourite=True)
    return render(request, "galleries/feedback.html", {"answers": answers[:300], "show": show})


@login_required
@found(_get_gallery_for_team)
@require_POST
def link_create(request, gallery):
    form = ShareLinkForm(request.POST, instance=ShareLink(gallery=gallery, created_by=request.user))
    if not form.is_valid():
        return _team_page(request, gallery, link_form=form)
    link = form.save()
    messages.success(request, f"Share link made: {link.public_url}")
    return redirect(reverse("gallery-detail", args=[gallery.pk]) + "#links")


@login_required
@found(_get_link_for_team, "pk", "link")
@require_http_methods(["GET", "POST"])
def link_detail(request, link):
    """A link's settings (editable) and its visit log."""
    form = ShareLinkForm(request.POST or None, instance=link)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Link settings saved.")
        return redirect("gallery-link", link.gallery_id, link.pk)
    ctx = {"link": link, "gallery": link.gallery, "form": form, "visits": link.visits.all()[:500]}
    return render(request, "galleries/link.html", ctx)


@login_required
@found(_get_link_for_team, "pk", "link")
@require_POST
def link_revoke(request, link):
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, f"“{link}” revoked: it now shows visitors that the link no longer works.")
    return redirect(reverse("gallery-detail", args=[link.gallery_id]) + "#links")


# Share links: no account. The token is the key; a password, if set, is asked once per browser.


def _unlocked(request, link):
    if not link.has_password:
        return True
    remembered = request.session.get(f"share_unlock_{link.pk}", "")
    return secrets.compare_digest(remembered.encode(), link.unlock_key().encode())


def share_link(view=None, *, locked_ok=False):
    """Resolve the token: 404 if unknown, a clear "no longer works" page (410) if expired or
    revoked, and back to the password form while a protected link is locked."""
    def decorator(view):
        @wraps(view)
        def wrapper(request, token, **kwargs):
            link = ShareLink.objects.by_token(token)
            if link is None:
                raise Http404
            if not link.is_live:
                link.record(Event.REFUSED, request, detail=link.state)
                return render(request, "galleries/closed.html", {"link": link}, status=410)
            if not locked_ok and not _unlocked(request, link):
                return redirect(link)
            request.share_link = link
            return view(request, link, **kwargs)
        return wrapper
    return decorator(view) if view else decorator


@share_link(locked_ok=True)
@require_http_methods(["GET", "POST"])
def share(request, link):
    if _unlocked(request, link):
        if request.method == "POST":
            return redirect(link)
        link.record(Event.VIEW, request)
        return _viewer_page(request, link.gallery, Viewer(request, link), name_form=VisitorNameForm())
    form = LinkPasswordForm(request.POST or None)
    if request.method == "GET":
        return render(request, "galleries/password.html", {"form": form, "link": link})
    address = request.META.get("REMOTE_ADDR")
    if link.too_many_tries(address):
        link.record(Event.LOCKED, request)
        form.add_error(None, "Too many wrong passwords. Wait 15 minutes, then try again.")
        return render(request, "galleries/password.html", {"form": form, "link": link}, status=429)
    if form.is_valid() and link.check_password(form.cleaned_data["password"]):
        request.session[f"share_unlock_{link.pk}"] = link.unlock_key()
        link.record(Event.UNLOCK, request)
        return redirect(link)
    link.record(Event.WRONG_PASSWORD, request)
    form.add_error("password", "That is not the password for this link.")
    return render(request, "galleries/password.html", {"form": form, "link": link}, status=403)


@share_link
@require_POST
def share_name(request, link):
    form = VisitorNameForm(request.POST)
    if not form.is_valid():
        viewer = Viewer(request, link)
        return _viewer_page(request, link.gallery, viewer, name_form=form)
    request.session["share_name"] = form.cleaned_data["name"]
    request.session.setdefault("share_visitor", secrets.token_hex(12))
    return redirect(link)


@share_link
@found(_get_item_in_link, "item")
@require_POST
def share_feedback(request, link, item):
    viewer = Viewer(request, link)
    form = FeedbackForm(request.POST)
    if not viewer.name or not viewer.author_key:
        form.is_valid()
        form.add_error(None, "Give your name at the top of the page first.")
    elif form.is_valid():
        action = form.cleaned_data["action"]
        Feedback.objects.give(item, action, author_key=viewer.author_key, name=viewer.name,
                              comment=form.cleaned_data["comment"], link=link)
        link.record(Event.FEEDBACK, request,
                    detail=f"{viewer.name}: {action} on item {item.position + 1}, “{item.team_label}”")
        form = None
    if request.htmx:
        return _viewer_item(request, viewer, item, form)
    return redirect(link.get_absolute_url() + f"#item-{item.pk}")


@share_link
@found(_get_output_in_link)
@require_GET
def share_file(request, link, output, variant="file"):
    viewer = Viewer(request, link)
    download = bool(request.GET.get("download"))
    if variant == "thumb":
        stored, content_type = output.thumbnail, "image/webp"
    elif viewer.file_url(output) and (viewer.allow_downloads or not download):
        stored, content_type = output.file, output.content_type
    else:
        raise Http404
    if not stored:
        raise Http404
    response = FileResponse(stored.open("rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=600"
    if download and variant != "thumb":
        link.record(Event.DOWNLOAD, request, detail=f"file {output.pk}")
        response["Content-Disposition"] = f'attachment; filename="{output.pk}.{stored.name.rsplit(".", 1)[-1]}"'
    return response


@share_link
@found(_get_item_in_link, "item")
@require_GET
def share_item_view(request, link, item):
    return _item_viewer(request, Viewer(request, link), item, link.get_absolute_url())


@share_link
@require_GET
def share_zip(request, link):
    if not link.allow_downloads:
        raise Http404
    link.record(Event.ZIP, request)
    entries = bundles.gallery_entries(link.gallery.visible_items(), link.show_settings)
    archive = bundles.build(entries, with_settings=link.show_settings)
    return FileResponse(archive, as_attachment=True, filename=f"{slugify(link.gallery.name) or 'gallery'}.zip",
                        content_type="application/zip")
