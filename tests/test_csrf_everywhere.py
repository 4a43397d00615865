"""Every route refuses a state-changing request that lacks a CSRF token, even from a
signed-in admin whose session cookie the browser would send along. The walk reads the URL
configuration, so routes added later are covered without touching this file.

The only exempt views: the provider's webhooks (verified by signature or secret instead) and
the JSON API, which accepts nothing but a Bearer token and ignores the session cookie."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from generations.models import ApiToken, Generation

UNSAFE_METHODS = ("post", "put", "patch", "delete")
EXEMPT = {
    # signed by the provider: Standard Webhooks, the v1 secret header, Pixazo's per-job token
    "webhook-higgsfield", "webhook-v1", "webhook-pixazo",
    # Bearer-token JSON API: a session cookie is never enough there (tested below)
    "api-models", "api-generations", "api-generation", "api-generation-cancel", "api-output",
}
SKIPPED_PREFIXES = ("admin/",)  # Django's admin protects its own forms


def fill(route):
    """A concrete path for a route, with made-up values for its arguments. CSRF is checked
    before the view runs, so the objects need not exist."""
    samples = {"int": "1", "uuid": str(uuid.uuid4()), "path": "a/b", "slug": "x-1", "str": "x1", None: "x1"}

    def value(match):
        return samples.get(match.group(1), "x1")
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", value, route)


def routes(patterns=None, prefix=""):
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            assert not route.startswith("^"), f"regex route {route!r}: give this walk a way to build its URL"
            yield route, entry


ALL_ROUTES = sorted(routes(), key=lambda item: item[0])
PROTECTED = [(route, entry) for route, entry in ALL_ROUTES if entry.name not in EXEMPT]


@pytest.fixture
def browser_like(admin_user):
    """A signed-in admin whose client holds the CSRF cookie, as a browser would, but sends no token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    client.get("/login/")
    assert "csrftoken" in client.cookies
    return client


def test_the_walk_finds_the_routes_that_change_state():
    names = {entry.name for _, entry in ALL_ROUTES}
    assert {"generation-create", "generation-cancel", "character-create", "login", "logout",
            "audit-resolve", "notifications-read", "webhook-higgsfield"} <= names
    assert len(PROTECTED) >= 30


@pytest.mark.parametrize("method", UNSAFE_METHODS)
@pytest.mark.parametrize(("route", "entry"), PROTECTED, ids=[route for route, _ in PROTECTED])
def test_a_request_without_a_csrf_token_is_refused(browser_like, route, entry, method):
    response = getattr(browser_like, method)(fill(route))
    assert response.status_code == 403, f"{method.upper()} {route} answered {response.status_code}"
    assert b"CSRF verification failed" in response.content


def test_the_same_request_with_the_token_gets_past_the_check(browser_like):
    token = browser_like.cookies["csrftoken"].value
    response = browser_like.post("/notifications/read/", headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_only_the_webhooks_and_the_token_api_are_exempt():
    exempt = {entry.name for _, entry in ALL_ROUTES if getattr(entry.callback, "csrf_exempt", False)}
    assert exempt == EXEMPT


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/api/generations"),
    ("post", "/api/generations/5f0c2a8e-1d3b-4c6e-9a7f-2b8d4e6f0a1c/cancel"),
    ("get", "/api/models"),
])
def test_the_api_ignores_the_session_cookie(browser_like, method, path):
    if method == "get":
        response = browser_like.get(path)
    else:
        response = browser_like.post(path, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert "personal access token" in response.json()["errors"]["__all__"][0]


def test_a_forged_api_post_riding_on_a_session_starts_nothing(alice, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    body = {"model": "higgsfield-ai/soul/standard", "project": project.pk, "params": {"prompt": "forged"}}
    assert client.post("/api/generations", body, content_type="application/json").status_code == 401
    assert not Generation.objects.exists()
    # With her token the same request is accepted: it was the missing token that refused it.
    raw = ApiToken.objects.issue(alice)[1]
    response = client.post("/api/generations", body, content_type="application/json",
                           headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 201
    assert Generation.objects.get().prompt == "forged"
