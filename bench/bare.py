"""The baselines: bare Django views that run the gallery's query and render its templates,
and a view that makes one write. BareMiddleware answers /_bench/ paths before any of the
app's middleware (sessions, auth, CSRF, htmx, lockouts, last-seen) runs, so the ratio
app ÷ bare is what the app adds on top of Django doing the same work."""

import json
import time
import uuid
from datetime import UTC, datetime

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, path, resolve

from generations.models import Generation, WebhookDelivery
from higgsweb.models import User

PAGE_SIZE = 48


class TimingMiddleware:
    """Outermost: the time Django spent on the request (every middleware and the view), in a
    Server-Timing header, so the figures do not depend on the HTTP server in front."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"django;dur={(time.perf_counter() - started) * 1000:.3f}"
        return response


class BareMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/_bench/"):
            return self.get_response(request)
        try:
            match = resolve(request.path_info, urlconf=__name__)
        except Resolver404:
            return HttpResponse(status=404)
        return match.func(request, *match.args, **match.kwargs)


def _user(request):
    request.user = User.objects.get(pk=request.GET["user"])  # templates ask the user's role
    return request.user


def gallery(request, part=""):
    """The gallery's first page: the same query (owner, newest first, 48, credits, outputs)
    and the same template, with no studio form, filters or page count."""
    user = _user(request)
    generations = list(Generation.objects.filter(owner=user).with_credits().select_related("project")
                       .prefetch_related("outputs")[:PAGE_SIZE])
    template = "generations/gallery.html" + (f"#{part}" if part else "")
    return render(request, template, {"generations": generations, "page": None, "filters": None, "form": None})


def card(request, pk):
    """One card as the gallery polls it; with ?seen, load the row and answer 'no change'."""
    user = _user(request)
    generation = Generation.objects.filter(owner=user).select_related("project").get(pk=pk)
    if "seen" in request.GET:
        return HttpResponse(status=204)
    return render(request, "generations/gallery.html#generation-card", {"generation": generation})


def feed(request):
    """An open gallery's "anything new?" poll: the member's generations newer than the cursor,
    and a 204 when there are none."""
    user = _user(request)
    since = datetime.fromtimestamp(int(request.GET["since"]) / 1_000_000, tz=UTC)
    if Generation.objects.filter(owner=user, created_at__gt=since).exists():
        return HttpResponse("new")
    return HttpResponse(status=204)


def write(request):
    """One INSERT per request: the floor for a webhook endpoint."""
    WebhookDelivery.objects.create(webhook_id=f"bare-{uuid.uuid4().hex}", payload=json.loads(request.body))
    return HttpResponse("ok")


def noop():
    """The no-op task of the worker drain."""


urlpatterns = [
    path("_bench/gallery/", gallery),
    path("_bench/gallery/list/", gallery, {"part": "generation-list"}),
    path("_bench/card/<uuid:pk>/", card),
    path("_bench/feed/", feed),
    path("_bench/write/", write),
]
