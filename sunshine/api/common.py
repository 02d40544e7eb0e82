"""Helpers every API router shares: the request body, path numbers, free text, the caller.

This module sits below the routers and below ``sunshine/api/api.py`` (which builds the
``NinjaAPI`` and adds the routers): a router imports from here, never from the module that
includes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from sunshine.accounts.models import User
from sunshine.api.errors import ApiError
from sunshine.applications import validation
from sunshine.errors import NotFound, ValidationFailed


def json_body(request: HttpRequest, parsed: Any = None) -> dict[str, Any]:
    """The request's JSON object; ``parsed``: the body already parsed from ``request.body`` by
    ``json.loads`` (the API's parser), not parsed again."""
    if not request.body:
        return {}
    if parsed is not None:
        body = parsed
    else:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            # RecursionError: absurdly deep nesting is bad input too, never a 500.
            raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", _("The request body must be a JSON object."))
    errors: dict[str, list[str]] = {}
    reject_nul(body, "", errors)
    if errors:
        raise ValidationFailed(errors)
    return body


def safe_number(number: str, public: bool = False) -> str:
    """A path ``number`` that cannot be one (NUL, absurd length) is simply not found."""
    if "\x00" in number or len(number) > 40:
        if public:
            raise ApiError(
                404, "application_not_found", _("No application matches this number and phone number ending.")
            )
        raise NotFound(_("No application with this number."), "application_not_found")
    return number


def reject_nul(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            errors.setdefault(path or "body", []).append(_("This value is not valid."))
    elif isinstance(value, dict):
        for k, v in value.items():
            reject_nul(v, f"{path}.{k}" if path else str(k), errors)
    elif isinstance(value, list):
        for v in value:
            reject_nul(v, path, errors)


IDEMPOTENCY_KEY_MAX = validation.IDEMPOTENCY_KEY_MAX  # the column's length (IdempotencyRecord.key)


def idempotency_key(request: HttpRequest) -> str | None:
    """The ``Idempotency-Key`` header, or None. A key longer than the stored column is refused
    (422) rather than cut: two keys sharing their first 200 characters must not replay each other."""
    # META's key, which ``request.headers["Idempotency-Key"]`` reads (without building the whole
    # ``HttpHeaders`` of the request from META first).
    return validation.check_idempotency_key(request.META.get("HTTP_IDEMPOTENCY_KEY", ""), field="Idempotency-Key")


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def staff(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined]


def roles(names: Iterable[str]) -> set[str]:
    return set(names)
