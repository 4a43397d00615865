"""The JSON API for scripts: personal access tokens, the same validation and permissions as the pages."""

import json
import math
from functools import wraps
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import FileResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from generations import catalogue, idempotency, pipeline, pricing, references, routing
from generations.models import ApiToken, Generation, Output
from higgsweb import ledger
from higgsweb.ledger import BudgetExceeded
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


# What a body may be: JSON in UTF-8, an object, at most this large. Generation bodies are a
# model id, a project and the parameters, far below the limit.
MAX_BODY = 1024 * 1024
FIELDS = ("model", "project", "params")


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text):
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def read_json(request):
    """(body, None) for a POST whose body is a JSON object, else (None, the 4xx answer)."""
    if request.content_type != "application/json":
        return None, _errors({"__all__": ["Send the body as JSON, with Content-Type: application/json."]}, 415)
    if request.content_params.get("charset", "utf-8").lower().replace("-", "") != "utf8":
        return None, _errors({"__all__": ["Send the JSON in UTF-8."]}, 415)
    too_large = _errors({"__all__": [f"The body is larger than {MAX_BODY // 1024} KB."]}, 413)
    try:
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY:
            return None, too_large
        raw = request.body
    except (ValueError, RequestDataTooBig):
        return None, too_large
    if len(raw) > MAX_BODY:
        return None, too_large
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite)
    except UnicodeDecodeError:
        return None, _errors({"__all__": ["The body is not UTF-8."]})
    except RecursionError:
        return None, _errors({"__all__": [f"The body is nested too deeply (more than {catalogue.MAX_DEPTH} "
                                          "levels)."]})
    except ValueError as exc:
        return None, _errors({"__all__": [f"The body is not valid JSON: {exc}."]})
    if not isinstance(body, dict):
        return None, _errors({"__all__": ["Expected a JSON object."]})
    if _deeper_than(body, catalogue.MAX_DEPTH):
        return None, _errors({"__all__": [f"The body is nested too deeply (more than {catalogue.MAX_DEPTH} "
                                          "levels)."]})
    return body, None


def _deeper_than(value, limit):
    """Whether lists and objects nest more than `limit` levels (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _shape_errors(body):
    errors = {name: ["Unknown field: a generation takes " + ", ".join(FIELDS) + "."]
              for name in body if name not in FIELDS}
    if not isinstance(body.get("model"), str) or not body["model"]:
        errors["model"] = ["Give the model's id as a string. GET /api/models lists them."]
    elif problem := catalogue.unusable(body["model"]):
        errors["model"] = [problem]
    if isinstance(body.get("project"), str) and (problem := catalogue.unusable(body["project"])):
        errors["project"] = [problem]
    return errors


def _over_budget(exc):
    budget = exc.budget
    return JsonResponse({"errors": {"budget": [str(exc)]},
                         "budget": {"scope": budget.scope, "needed": str(exc.cost), "remaining": str(exc.remaining),
                                    "hard_limit": str(budget.hard_limit)}}, status=402)


def _started(request, generation, status, **headers):
    response = JsonResponse({"id": str(generation.pk), "status": generation.status,
                             "url": request.build_absolute_uri(reverse("api-generation", args=[generation.pk]))},
                            status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _replay(request, earlier, fingerprint):
    """The answer to a request whose Idempotency-Key an earlier request already used."""
    if earlier.fingerprint != fingerprint:
        return _errors({"Idempotency-Key": ["This key was already used for a different request. Use a new key "
                                            "for a new request, or send exactly the same body to get its answer."]},
                       422)
    return _started(request, earlier.generation, 200, **{"Idempotent-Replayed": "true"})


@require_POST
@token_required
def generation_create(request):
    if not request.user.is_member_role:
        return _errors({"__all__": ["Clients cannot start generations."]}, 403)
    body, refused = read_json(request)
    if refused:
        return refused
    key = request.headers.get("Idempotency-Key")
    if key is not None and (problem := idempotency.key_problem(key)):
        return _errors({"Idempotency-Key": [problem]})
    fingerprint = idempotency.fingerprint(body)
    if key and (earlier := idempotency.earlier(request.user, idempotency.API, key)):
        return _replay(request, earlier, fingerprint)
    model, project, params, errors = _checked(request, body)
    if errors:
        return _errors(errors)
    try:
        with transaction.atomic():
            claim = idempotency.claim(request.user, idempotency.API, key, fingerprint) if key else None
            if claim is not None and claim.generation_id:  # a request with this key committed meanwhile
                return _replay(request, claim, fingerprint)
            generation = pipeline.start(owner=request.user, project=project, model_id=model.id, params=params)
            idempotency.record(claim, generation)
    except BudgetExceeded as exc:  # nothing was created or charged, and the key stays unused
        return _over_budget(exc)
    return _started(request, generation, 201)


def _checked(request, body):
    """(model, project, params, {}) ready to start, or (…, {field: [messages]}): the body's
    shape, the model's own rules, and what its parameters name (as the studio offers it)."""
    errors = _shape_errors(body)
    model = None if errors else catalogue.get(body["model"])
    if model is None:
        return None, None, None, errors or {"model": ["Unknown model. GET /api/models lists them."]}
    project = _project(request.user, body.get("project"))
    params = body.get("params", {})
    errors = model.validate(params)
    if project is None:
        errors["project"] = ["Unknown or archived project."]
    origins = [settings.PUBLIC_BASE_URL, request.build_absolute_uri("/")]
    if not errors:
        errors = references.check(request.user, model, params, origins)
    if not errors:
        errors = routing.problems(model, params)
    if errors:
        return model, project, params, errors
    return model, project, references.hand_over(request.user, model, params, origins), {}


def _project(user, value):
    projects = Project.objects.for_user(user).active()
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return projects.filter(pk=value).first() if 0 < value < 2 ** 63 else None
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


class JsonErrorsMiddleware:
    """Under /api/, every answer is JSON, errors included: an unknown route or method, a body
    Django itself refuses, or a failure on our side is sent as {"errors": {"__all__": [...]}}
    with its status, instead of an HTML page a script cannot read."""

    MESSAGES = {
        400: "Bad request.",
        404: "Not found. The API's routes are GET /api/models, POST /api/generations, GET /api/generations/ID, "
             "POST /api/generations/ID/cancel and GET /api/outputs/ID.",
        413: f"The body is larger than {MAX_BODY // 1024} KB.",
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith("/api/") or response.status_code < 400 \
                or response.get("Content-Type", "").startswith("application/json"):
            return response
        return self.as_json(request, response)

    def as_json(self, request, response):
        status = response.status_code
        if status == 405:
            message = f"{request.method} is not allowed here; use {response.get('Allow', 'another method')}."
        elif status >= 500:
            message = ("Something went wrong on our side. If it happens again, quote the request id "
                       f"{getattr(request, 'request_id', '')}.")
        else:
            message = self.MESSAGES.get(status) or HTTPStatus(status).phrase + "."
        answer = _errors({"__all__": [message]}, status)
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        add_never_cache_headers(answer)
        return answer
