"""The uniform error body of api-v1.md and the JSON rendering of the API."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.renderers import BaseRenderer


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.headers = (
            status,
            code,
            message,
            fields,
            headers,
        )


class ApiEncoder(DjangoJSONEncoder):
    """Time stamps in the installation's time zone with offset; decimals as JSON numbers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The current time zone read once per answer (an encoder renders one body), not per time
        # stamp: ``timezone.localtime`` reads it from a context-local each time.
        self.tz = timezone.get_current_timezone()

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return o.astimezone(self.tz).isoformat() if o.utcoffset() is not None else o.isoformat()
        if isinstance(o, Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def render(data: Any) -> str:
    """The JSON text of an API answer's body (what ``ApiRenderer`` sends)."""
    return json.dumps(data, cls=ApiEncoder, ensure_ascii=False)


class ApiRenderer(BaseRenderer):
    media_type = "application/json"
    charset = "utf-8"

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return render(data)


#: The Content-Type of an API answer (ninja's ``NinjaAPI.get_content_type`` with ``ApiRenderer``).
CONTENT_TYPE = f"{ApiRenderer.media_type}; charset={ApiRenderer.charset}"


def error_response(
    status: int,
    code: str,
    message: str,
    fields: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    response = JsonResponse(body, status=status, encoder=ApiEncoder, json_dumps_params={"ensure_ascii": False})
    for k, v in (headers or {}).items():
        response[k] = v
    return response


def default_message(status: int) -> tuple[str, str]:
    return {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("unauthorized", _("Sign in first: send a valid bearer token.")),
        403: ("forbidden", _("You may not do this.")),
        404: ("not_found", _("Nothing was found at this address.")),
        405: ("method_not_allowed", _("This method is not allowed here.")),
        409: ("conflict", _("The request conflicts with the current state.")),
        413: ("payload_too_large", _("The request body is too large.")),
        415: ("unsupported_media_type", _("Send the body as JSON.")),
        422: ("validation_error", _("Some fields are not valid.")),
        429: ("throttled", _("Too many attempts; try again later.")),
        500: ("server_error", _("Something went wrong on our side; please try again.")),
        503: ("unavailable", _("The service is briefly unavailable; please try again.")),
    }.get(status, ("error", _("The request failed.")))
