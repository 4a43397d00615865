"""The JSON API for scripts: personal access tokens, the same validation and permissions as the pages."""

import json
from functools import wraps

from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from generations import catalogue, pipeline, pricing
from generations.models import ApiToken, Generation, Output
from higgsweb import ledger
from higgsweb.models import Project


def _errors(errors, status=400):
    return JsonResponse({"errors": errors}, status=status)


def token_required(view):
    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        user = ApiToken.objects.user_for(raw.strip()) if scheme.lower() == "bearer" and raw.strip() else None
        if user is None:
            return _errors({"__all__": ["A valid personal access token is required (Authorization: Bearer …)."]},
                           401)
        request.user = user
        return view(request, *args, **kwargs)
    return wrapper


def _not_found():
    return _errors({"__all__": ["Not found."]}, 404)


def visible(model):
    """Like higgsweb.access.found for the API: the object the URL names, looked up for the
    token's user before the method is checked, or a JSON 404."""
    def decorator(view):
        @wraps(view)
        def wrapper(request, pk):
            if model is Output:
                qs = Output.objects.for_user(request.user)
            else:
                qs = Generation.objects.for_user(request.user).outputs_for(request.user)
            obj = qs.filter(pk=pk).first()
            return _not_found() if obj is None else view(request, obj)
        return wrapper
    return decorator


def describe(request, generation):
    outputs = [{"kind": o.kind, "url": request.build_absolute_uri(reverse("api-output", args=[o.pk])),
                "archived": o.is_archived} for o in generation.outputs.all()]
    body = {"id": str(generation.pk), "model": generation.model_id, "status": generation.status,
            "outputs": outputs, "created_at": generation.created_at.isoformat()}
    if request.user.is_client_role:  # prompts, settings, costs and projects stay with the team
        return body
    estimate = pricing.estimate_credits(generation.model_id, generation.params)
    charged = ledger.net(generation=generation)  # held while running; the final charge, or 0 once refunded
    return body | {"project": generation.project_id, "error": generation.error,
                   "field_errors": generation.field_errors, "params": generation.params, "credits": str(charged),
                   "usd": str(pricing.credits_to_usd(charged)), "estimate": str(estimate)}


@require_GET
@token_required
def models(request):
    return JsonResponse({"models": [model.describe() for model in catalogue.all_models()]})


@require_POST
@token_required
def generation_create(request):
    if not request.user.is_member_role:
        return _errors({"__all__": ["Clients cannot start generations."]}, 403)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _errors({"__all__": ["The body is not valid JSON."]})
    if not isinstance(body, dict):
        return _errors({"__all__": ["Expected a JSON object."]})
    model = catalogue.get(str(body.get("model", "")))
    if model is None:
        return _errors({"model": ["Unknown model. GET /api/models lists them."]})
    project = _project(request.user, body.get("project"))
    errors = model.validate(body.get("params", {}))
    if project is None:
        errors["project"] = ["Unknown or archived project."]
    if errors:
        return _errors(errors)
    generation = pipeline.start(owner=request.user, project=project, model_id=model.id, params=body["params"])
    return JsonResponse({"id": str(generation.pk), "status": generation.status,
                         "url": request.build_absolute_uri(reverse("api-generation", args=[generation.pk]))},
                        status=201)


def _project(user, value):
    projects = Project.objects.for_user(user).active()
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return projects.filter(pk=int(value)).first()
    if isinstance(value, str) and value:
        return projects.filter(name=value).first()
    return None


@token_required
@visible(Generation)
@require_GET
def generation_detail(request, generation):
    return JsonResponse(describe(request, generation))


@token_required
@visible(Generation)
@require_POST
def generation_cancel(request, generation):
    if not request.user.is_member_role:
        return _not_found()
    outcome = pipeline.request_cancel(generation)
    if outcome is pipeline.Cancel.REFUSED:
        message = generation.notice or f"A {generation.get_status_display().lower()} generation cannot be canceled."
        return _errors({"status": [message]}, 409)
    # 202: the provider is being asked; GET the generation to see its answer.
    return JsonResponse(describe(request, generation), status=200 if outcome is pipeline.Cancel.CANCELED else 202)


@token_required
@visible(Output)
@require_GET
def output_file(request, output):
    if not output.is_archived:
        return _not_found()
    response = FileResponse(output.file.open("rb"), content_type=output.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
