"""API v1 (api-v1.md): builds the ``NinjaAPI``, its error handlers, and adds every router.

Thin views live in ``sunshine/api/routers/`` (parse, load with an access check, call a service,
render); the helpers they share are in ``sunshine/api/common.py`` and the callers' identities in
``sunshine/api/auth.py``. Nothing below imports this module back.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from sunshine.api.auth import BearerAuth, session_auth
from sunshine.api.errors import ApiError, ApiRenderer, default_message, error_response
from sunshine.api.routers import (
    applications,
    audit,
    auth,
    directory,
    evaluation,
    feedback,
    notifications,
    portal,
    public,
    reports,
    supervision,
    units,
    webhooks,
)
from sunshine.applications.validation import validate_intake
from sunshine.errors import DomainError, ValidationFailed
from sunshine.portal.public import flows

log = logging.getLogger(__name__)

# The one error body of every error answer (api-v1.md, "Errors"; sunshine/api/errors.py).
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "minLength": 1},
        "message": {"type": "string", "minLength": 1},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "additionalProperties": False,
}
ERROR_DESCRIPTIONS = {
    400: "The body is not a JSON object (malformed_json).",
    401: "No valid token or session (unauthorized), or wrong credentials.",
    403: "The caller may not do this (forbidden).",
    404: "No such resource (not_found, application_not_found, …).",
    409: "The resource is not in a state that allows this (conflict, …).",
    422: "Invalid fields (validation_error, with fields), or a business rule the schema cannot state "
    "refused the request (e.g. an ID's check character, a contractor not qualified: its own code).",
    429: "Too many attempts (throttled), with Retry-After.",
    503: "The database or the SMS gateway is unavailable for a moment, with Retry-After.",
}
# Public operations that are throttled per client (or per number).
THROTTLED = {"/auth/token", "/public/applications/{number}", "/public/applications/{number}/progress"}
THROTTLED_PREFIXES = ("/public/verification-codes", "/public/applications")


class SunshineAPI(NinjaAPI):
    """The API whose OpenAPI document lists, for every operation, every error status it can
    answer with the one error body, so the document is the contract a client (and schemathesis)
    checks against."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_BODY
        prefix = path_prefix if path_prefix is not None else self.get_root_path(path_params or {})
        for path, operations in schema["paths"].items():
            short = "/" + path[len(prefix) :].lstrip("/") if path.startswith(prefix) else path
            for method, op in operations.items():
                for status in _error_statuses(short, method, op):
                    op["responses"].setdefault(
                        str(status),
                        {
                            "description": ERROR_DESCRIPTIONS[status],
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        },
                    )
        return schema


def _error_statuses(path: str, method: str, op: dict[str, Any]) -> list[int]:
    statuses = {422, 503}
    if method == "post":
        statuses.add(400)  # every POST reads a JSON body, if only an empty one
    if op.get("security"):
        statuses |= {401, 403}
    if "{" in path:
        statuses.add(404)
    if method == "post" and op.get("security"):
        statuses.add(409)
    if path in THROTTLED or (method == "post" and path.startswith(THROTTLED_PREFIXES)):
        statuses.add(429)
    if path == "/auth/token":
        statuses.add(401)
    return sorted(statuses)


api = SunshineAPI(
    title="阳光业扩服务平台 API",
    version="1",
    description="The HTTP API of the Sunshine new-connection platform (api-v1.md).",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=ApiRenderer(),
    auth=[BearerAuth(), session_auth],
    urls_namespace="api-v1",
)


# --- errors: one body for everything ---------------------------------------------------------


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _database_unavailable(request: HttpRequest, exc: Any) -> HttpResponse:
    """The database is restarting or unreachable: 503 with Retry-After; the client retries the
    same request (an intake with the same Idempotency-Key gets the application it may already have)."""
    from sunshine.ops.unavailable import unavailable_response

    return unavailable_response(request, exc)


api.add_exception_handler(OperationalError, _database_unavailable)
api.add_exception_handler(InterfaceError, _database_unavailable)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return error_response(exc.status, exc.code, exc.message)


@api.exception_handler(ValidationFailed)
def _validation_failed(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    return error_response(422, "validation_error", _("Some fields are not valid."), exc.fields)


@api.exception_handler(NinjaValidationError)
def _ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """A request that does not match its schema: the same body as every other 422, each field's
    messages in the caller's language. A body that is not a JSON object is ``400
    malformed_json``. The intake also reports, with the schema's, what its own rules find (an
    ID's check character, a capacity beyond its category), so every failing field comes at once
    with the intake's own messages."""
    if request.method == "POST" and request.body and not isinstance(_json_or_none(request.body), dict):
        return error_response(400, "malformed_json", _("The request body must be a JSON object."))
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header", "payload")]
        field = ".".join(loc) or "body"
        if field == "body" and err.get("type") in ("model_type", "model_attributes_type", "dict_type"):
            return error_response(400, "malformed_json", _("The request body must be a JSON object."))
        message = _pydantic_message(err, field)
        if message not in fields.get(field, []):
            fields.setdefault(field, []).append(message)
    fields.update(_rule_errors(request))
    return error_response(422, "validation_error", _("Some fields are not valid."), fields)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _rule_errors(request: HttpRequest) -> dict[str, list[str]]:
    """The intake's own field errors for the body of an intake (staff or online), else none."""
    path = request.path.rstrip("/")
    if request.method != "POST" or not path.endswith(("/api/v1/applications", "/api/v1/public/applications")):
        return {}
    body = _json_or_none(request.body)
    if not isinstance(body, dict):
        return {}
    today = timezone.localdate()
    if path.endswith("/public/applications"):
        return flows.online_errors(body, today)
    try:
        validate_intake(body, today)
    except ValidationFailed as exc:
        return exc.fields
    return {}


def _pattern_message(field: str) -> str:
    """What a text that does not match its field's pattern should have been."""
    last = field.rsplit(".", 1)[-1]
    if last == "phone":  # also for a phone that is not text at all
        return _("Enter an 11-digit mainland mobile number starting with 1.")
    if last == "address":
        return _("The address is too short: give the district, street and number (at least 5 characters).")
    if last == "period":
        return _("Enter a month as YYYY-MM or a quarter as YYYY-Qn.")
    if last == "id_number":
        return _("An ID number has 18 letters and digits.")
    return _("This value is not valid.")


def _pydantic_message(err: dict[str, Any], field: str = "") -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if field == "body" and kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("The request body must be a JSON object.")
    if kind == "missing":
        return _("This field is required.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"):
        return _("Enter a number.")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Must be at least %(limit)s.") % {"limit": ctx.get("ge", ctx.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return _("Must be at most %(limit)s.") % {"limit": ctx.get("le", ctx.get("lt"))}
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(allowed)s.") % {"allowed": ctx.get("expected", "")}
    if kind in ("bool_parsing", "bool_type"):
        return _("Enter true or false.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind == "string_type":
        return _pattern_message(field) if field.endswith("phone") else _("Enter text.")
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return _("This field is required.")
        return _("Too short: at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Too long: %(n)s characters at most.") % {"n": ctx.get("max_length")}
    if kind == "string_pattern_mismatch":
        value = err.get("input")
        if isinstance(value, str) and "\x00" not in value and not value.strip():
            return _("This field is required.")
        return _pattern_message(field)
    if kind == "list_type":
        return _("Give a list.")
    if kind == "too_long":
        return _("Too many: %(n)s at most.") % {"n": ctx.get("max_length")}
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _("Give an object.")
    return _("This value is not valid.")


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    code, message = default_message(401)
    return error_response(401, code, message, headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code, message = default_message(exc.status_code)
    if exc.status_code == 400:
        code, message = "malformed_json", _("The request body is not valid JSON.")
    return error_response(exc.status_code, code, message)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    code, message = default_message(404)
    return error_response(404, code, message)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("API error on %s %s", request.method, request.path)
    code, message = default_message(500)
    return error_response(500, code, message)


# --- routers ------------------------------------------------------------------------------------

api.add_router("/auth", auth.router)
api.add_router("/", applications.router)
api.add_router("/public", public.router)
# The routers of the other capabilities, each owned by its module; each names its own paths
# (public ones start with "/public/").
for _module in (portal, directory, supervision, notifications, feedback, evaluation, reports, audit, units, webhooks):
    api.add_router("/", _module.router)
