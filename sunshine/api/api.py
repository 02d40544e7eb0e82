"""API v1 (api-v1.md): builds the ``NinjaAPI``, its error handlers, and adds every router.

Thin views live in ``sunshine/api/routers/`` (parse, load with an access check, call a service,
render); the helpers they share are in ``sunshine/api/common.py`` and the callers' identities in
``sunshine/api/auth.py``. Nothing below imports this module back.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
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
)
from sunshine.errors import DomainError, ValidationFailed

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
    422: "Invalid fields (validation_error, with fields).",
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
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header", "payload")]
        fields.setdefault(".".join(loc) or "body", []).append(_pydantic_message(err))
    return error_response(422, "validation_error", _("Some fields are not valid."), fields)


def _pydantic_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
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
for _module in (portal, directory, supervision, notifications, feedback, evaluation, reports, audit):
    api.add_router("/", _module.router)
