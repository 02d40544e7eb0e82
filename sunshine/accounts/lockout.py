"""What a client locked out by django-axes (too many failed sign-ins) is told."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """API callers get the contract's error body: the failure that triggered the lock keeps its
    own answer (401), later attempts get 429. People get a page in their language."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME * 3600))
    if request.path.startswith("/api/"):
        if original_response is not None:
            return original_response
        body = {"code": "throttled", "message": _("Too many attempts; try again later.")}
        return JsonResponse(body, status=429, headers={"Retry-After": retry_after})
    minutes = int(settings.AXES_COOLOFF_TIME * 60)
    response = render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = retry_after
    return response
