"""API v1 endpoints of the portal capability (added to the API in sunshine/api/api.py): one-time SMS
codes and online application (网上办电), api-v1.md "Public"."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from sunshine.api import schemas
from sunshine.api.common import idempotency_key, json_body
from sunshine.api.errors import ApiError
from sunshine.portal.public import flows

router = Router(tags=["public"], auth=None)


class VerificationCodeIn(Schema):
    phone: str
    purpose: Literal["apply", "complaint"] = "apply"


class VerificationCodeOut(Schema):
    phone: str  # masked: 138****8000
    expires_in: int  # seconds
    resend_after: int  # seconds


class PublicIntakeIn(schemas.IntakeIn):
    verification_code: str


class PublicApplicationOut(Schema):
    number: str
    progress: schemas.PublicProgress


def _ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _throttled(exc: flows.Refused) -> ApiError:
    code = "throttled" if exc.status == 429 else "sms_unavailable"
    return ApiError(exc.status, code, exc.message, headers={"Retry-After": str(exc.retry_after or 60)})


def _body(request: HttpRequest) -> dict[str, Any]:
    return json_body(request)


@router.post(
    "/public/verification-codes",
    response={202: VerificationCodeOut},
    description="Errors: 422 (phone), 429 ``throttled`` (per phone, per client), 503 ``sms_unavailable``.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.inline(VerificationCodeIn)}},
        }
    },
)
def send_verification_code(request: HttpRequest) -> Status:
    """Send a one-time code by SMS to a mainland mobile number; throttled per phone and per client."""
    body = _body(request)
    phone = body.get("phone")
    purpose = body.get("purpose", "apply")
    if purpose not in ("apply", "complaint"):
        from sunshine.errors import ValidationFailed

        raise ValidationFailed({"purpose": [_("Choose one of: %(allowed)s.") % {"allowed": "apply, complaint"}]})
    try:
        sent = flows.send_code(phone if isinstance(phone, str) else "", client_ip=_ip(request), purpose=purpose)
    except flows.Refused as exc:
        raise _throttled(exc) from None
    return Status(202, {"phone": sent.masked_phone, "expires_in": sent.expires_in, "resend_after": sent.resend_after})


@router.post(
    "/public/applications",
    response={201: PublicApplicationOut},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schemas.inline(PublicIntakeIn)}},
        }
    },
)
def apply_online(request: HttpRequest) -> Status:
    """网上办电: the intake body plus ``verification_code``; the channel is ``online``. An
    ``Idempotency-Key`` header makes a retry return the first answer (no second application)."""
    body = _body(request)
    key = idempotency_key(request)
    try:
        app = flows.apply_online(body, client_ip=_ip(request), idempotency_key=key, today=timezone.localdate())
    except flows.Refused as exc:
        raise _throttled(exc) from None
    from sunshine.applications import selectors

    return Status(201, {"number": app.number, "progress": selectors.public_progress(app)})
