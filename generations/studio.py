"""The studio form and the gallery's filters as a gallery page draws them: built and rendered,
then kept in the cache while what they are drawn from stays the same.

A gallery page is opened far more often than anything its form shows changes: the models some
account can run, the projects, the member's ready characters, the styles and motion presets, the
newest results and uploads the image pickers offer. Each is read as a few columns and the lot
digested into the key, so a change to any of them draws the form afresh; nothing has to remember
to clear a stored copy. The viewer's CSRF token and the form's one-time submit token are put in
for each answer."""

import hashlib

from django.core.cache import cache
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from characters.models import Character
from generations import forms, references, webhook_mode
from generations.cards import CSRF_MARK
from higgsweb.compiled import rows
from higgsweb.models import Project

SUBMIT_MARK = "submit-token-of-the-answer"
SECONDS = 3600
# The studio's query parameters an unbound form is drawn from (see views._start_form); a form
# opened from a generation (?from=) carries that generation's settings and is drawn each time.
FORM_PARAMS = ("model", "project", "prompt", "start", "character")
FORM_TEMPLATE = "generations/studio.html#generation-form"
FILTERS_TEMPLATE = "generations/gallery.html#gallery-filters"


def _key(kind, parts):
    return f"{kind}:{hashlib.sha256(repr(parts).encode()).hexdigest()[:32]}"


def _kept(request, key, draw):
    html = cache.get(key) if key else None
    if html is None:
        html = draw()
        if key:
            cache.set(key, html, SECONDS)
    # The template escaped what it drew; the token is letters and digits.
    return html.replace(CSRF_MARK, get_token(request))


def _projects(request):
    """The user's active projects (pk, name), read once per request (the form and the filters)."""
    if not hasattr(request, "_studio_projects"):
        user = request.user
        request._studio_projects = rows(("projects", user.pk, user.role),
                                        lambda: Project.objects.for_user(user).active().values_list("pk", "name"))
    return request._studio_projects


def form_key(request, model, runnable):
    """What an unbound studio form for `model` is drawn from, as a cache key; None when the
    form has to be drawn each time."""
    user = request.user
    if request.GET.get("from") or not user.is_member_role:
        return None
    who = (user.pk, user.role, user.is_superuser)
    parts = [model.id, sorted(runnable), who, [request.GET.get(name, "") for name in FORM_PARAMS],
             _projects(request),
             rows(("characters", *who), lambda: Character.objects.for_user(user).ready().order_by("pk")
                   .values_list("pk", "name", "provider_id", "model_version", "thumbnail")),
             webhook_mode.for_account(None).short, timezone.get_current_timezone_name()]
    for param in model.params:
        if param.picker == "style":
            styles = references.styles(param).order_by("pk")
            parts.append(rows(("styles", param.style_version), lambda styles=styles: styles.values_list(
                "pk", "provider_id", "name", "description", "preview_url")))
        elif param.type == "motions":
            parts.append([(m.provider_id, m.name, m.description, m.preview_url) for m in references.motions()])
        elif param.is_upload and param.accept == "image":
            parts.append(rows(("outputs", user.pk), lambda: forms.recent_outputs(user).values_list("pk")))
            parts.append(rows(("uploads", user.pk), lambda: forms.recent_uploads(user).values_list("pk")))
            break  # every picker of the form offers the same recent images
    return _key("studio-form", parts)


def form_html(request, model, build, runnable):
    """The studio form's HTML for a gallery page (`runnable`: the model ids some account can
    run); `build(request)` makes the form when it is not kept."""
    def draw():
        form = build(request)
        form.fields["submit_token"].initial = SUBMIT_MARK
        return render_to_string(FORM_TEMPLATE, {"form": form, "csrf_token": CSRF_MARK}, request)

    html = _kept(request, form_key(request, model, runnable), draw)
    return mark_safe(html.replace(SUBMIT_MARK, forms.new_submit_token()))  # noqa: S308 (letters and digits)


def filters_html(request, filters):
    """The gallery's filter fields, drawn from the query and the user's projects."""
    parts = [sorted((name, request.GET.getlist(name)) for name in filters.fields), _projects(request)]
    key = _key("gallery-filters", parts)
    return mark_safe(_kept(request, key, lambda: render_to_string(FILTERS_TEMPLATE, {"filters": filters})))  # noqa: S308
