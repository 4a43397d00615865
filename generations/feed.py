"""The live feed: what an open gallery asks every second, "anything new for me since this?".

Each open gallery (the studio's, a team gallery, a client's shared gallery) carries a hidden
element that polls its feed every second with a cursor: a time, and the ids already shown from
the LAG before it, in hidden inputs the poller includes. Nothing new is answered 204 (htmx keeps
polling, nothing is swapped) after one or two indexed queries; something new comes back as the
new cards, swapped in out of band at the top of the studio's list (or the end of a gallery), and
the inputs with the cursor moved on (the poller itself stays, so its cadence does not restart).
The cards then poll for their own changes as they always do (?seen=, 204, 286), so results
land through the same path however a card arrived.

A poll rather than a pushed stream: the web server is gunicorn's threaded workers, where a
stream holds one of a handful of threads for as long as a tab is open; bench/livefeed.py
measures what the poll costs per idle tab.

Who sees what is the galleries' rule: a member, their own work (from any tab) and what the
team put in galleries of their projects; an admin, everyone's; a client, the finished items of
a gallery shared with them."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from generations import sweeps
from generations.forms import GalleryFilterForm
from generations.models import Gallery, GalleryItem, Generation

# How often an open gallery asks (the template's trigger); new work shows within this plus a request.
INTERVAL = "1s"
# At most this many new cards in one answer; a burst larger than a page is a reload's worth.
MOST = 48
FILTER_FIELDS = ("q", "by_model", "by_status", "by_project", "character", "hidden")
# A job's time is set when it is created and it shows once its transaction commits, which can be
# after a later job's: each poll looks this far back before its cursor, and the cursor carries
# the (shortened) ids already shown from that stretch so they are not sent twice.
LAG = timedelta(seconds=30)
SHORT = 10  # hex digits of an id in the cursor; unique enough among a few seconds' jobs


def cursor(moment=None):
    """A point in time as the feed's cursor: whole microseconds since the epoch."""
    moment = moment or timezone.now()
    return str(int(moment.timestamp() * 1_000_000))


def moment_of(value):
    """A cursor back as the time it stands for, or None for anything else."""
    try:
        return datetime.fromtimestamp(int(value) / 1_000_000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def short(pk):
    return pk.hex[:SHORT]


def seen_since(moments, since, name=short):
    """The cursor's list of ids shown already: of `moments` ({id: time}), those within LAG of it,
    each as `name` gives it."""
    return ".".join(sorted(name(pk) for pk, moment in moments.items() if moment > since - LAG))


def seen_in(request):
    """The ids a feed request says its page shows already (its cursor's list)."""
    return set(request.GET.get("seen", "").split(".")[:MOST * 4])


def new_for_studio(user, since, filters, seen=frozenset()):
    """Ids of the generations that appeared in `user`'s studio gallery since the cursor (`since`,
    and the short ids `seen` of what the page already has from just before it): started (by them,
    or by anyone for an admin), or a teammate's work put in a gallery they can open. Returns (ids,
    the next cursor's time, its seen ids)."""
    visible = Generation.objects.live().matching(**filters)
    started = visible.filter(created_at__gt=since - LAG)
    if not user.is_admin_role:
        started = started.filter(owner=user)
    moments = dict(started.order_by("-created_at").values_list("pk", "created_at")[:MOST])
    if not user.is_admin_role:  # an admin's feed already has everyone's
        added = dict(GalleryItem.objects.filter(gallery__in=Gallery.objects.for_user(user), added_at__gt=since - LAG)
                     .exclude(generation__owner=user).values_list("generation_id", "added_at")[:MOST])
        if added:
            shown = set(visible.filter(pk__in=added.keys()).values_list("pk", flat=True))
            moments |= {pk: moment for pk, moment in added.items() if pk in shown and pk not in moments}
    found = {pk for pk in moments if short(pk) not in seen}
    newest = max([since, *moments.values()])
    return found, newest, seen_since(moments, newest)


def page_cursor(since, generations, user):
    """The feed cursor of a gallery page read at `since`: the time, and the ids of its cards the
    feed could bring again: those started in the stretch before it, and (for a member) teammates'
    work, which the feed brings by when it was put in a gallery. A job that commits late comes
    through the feed; these do not."""
    seen = {g.pk: since for g in generations if not user.is_admin_role and g.owner_id != user.pk}
    seen |= {g.pk: g.created_at for g in generations if g.created_at > since - LAG}
    return {"feed_since": cursor(since), "feed_seen": seen_since(seen, since)}


def _studio_filters(request):
    """The gallery's filters when the page has any (the form reads the user's projects; most
    polls carry none and skip it)."""
    if not any(request.GET.get(name) for name in FILTER_FIELDS):
        return {}
    return GalleryFilterForm(request.GET, user=request.user).filters()


@login_required
@require_GET
def studio_feed(request):
    if not request.user.is_member_role:
        raise Http404
    since = moment_of(request.GET.get("since"))
    if since is None:
        return HttpResponse(status=400)
    ids, newest, still_seen = new_for_studio(request.user, since, _studio_filters(request), seen_in(request))
    if not ids:
        return HttpResponse(status=204)
    generations = list(Generation.objects.filter(pk__in=ids).with_credits().select_related("project", "account")
                       .prefetch_related("outputs",
                                         Prefetch("gallery_items", GalleryItem.objects.select_related("gallery"))))
    generations.sort(key=lambda g: g.created_at, reverse=True)
    sweeps.caption(generations, request.user)
    ctx = {"generations": generations, "feed_since": cursor(newest), "feed_seen": still_seen}
    return render(request, "generations/gallery.html#feed-update", ctx)


# A gallery page's feed: the same cursor (a time, and the items already shown from the LAG before
# it), by when each item was added.


def gallery_page_cursor(since, items):
    """The feed cursor of a gallery page whose `items` were read at `since`."""
    added = {item.pk: item.added_at for item in items}
    return {"feed_since": cursor(since), "feed_seen": seen_since(added, since, str)}


def new_gallery_items(items, since, seen):
    """Ids of `items` (a gallery's, those the viewer sees) added since the cursor (`since`, and the
    item ids `seen` already from just before it), with the next cursor as template context."""
    recent = dict(items.filter(added_at__gt=since - LAG).order_by().values_list("pk", "added_at")[:MOST * 4])
    found = [pk for pk in recent if str(pk) not in seen]
    newest = max([since, *recent.values()])
    return found, {"feed_since": cursor(newest), "feed_seen": seen_since(recent, newest, str)}
