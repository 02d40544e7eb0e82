"""Gives every error under /api/ the contract's JSON body, even those Django answers itself
(unknown path 404, method not allowed 405, unhandled 500)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from sunshine.api.errors import default_message, error_response


class ApiErrorBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            # Every query parameter of the API is a single value (the OpenAPI document says so):
            # a repeated one is refused, never read as its last value.
            repeated = sorted(k for k in request.GET if len(request.GET.getlist(k)) > 1)
            if repeated:
                return error_response(
                    422,
                    "validation_error",
                    _("Some fields are not valid."),
                    {k: [_("This value is not valid.")] for k in repeated},
                )
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json") and not response.streaming:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = None
            if isinstance(body, dict) and "code" in body and "message" in body:
                return response
        code, message = default_message(response.status_code)
        fixed = error_response(response.status_code, code, message)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                fixed[header] = response[header]
        return fixed

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return None
