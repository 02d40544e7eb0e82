"""API v1 endpoints of the portal capability (added to the API in sunshine/api/api.py): one-time SMS
codes and online application (网上办电), api-v1.md "Public"."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from sunshine.api import schemas
from sunshine.api.common import idempotency_key, json_body
from sunshine.api.errors import ApiError
from sunshine.portal.public import flows

router = Router(tags=["public"], auth=None)


class VerificationCodeIn(schemas.In):
    phone: str = Field(
        max_length=40,
        pattern=schemas.PHONE_PATTERN,
        description="a mainland mobile number; +86, blanks and dashes are ignored",
    )
    purpose: Literal["apply", "complaint"] = "apply"


class VerificationCodeOut(Schema):
    phone: str  # masked: 138****8000
    expires_in: int  # seconds
    resend_after: int  # seconds


class PublicIntakeIn(schemas.IntakeIn):
    """The intake body of an online application: the channel is always ``online`` and only staff
    mark a key project."""

    channel: Literal["online"] = "online"
    key_project: Literal[False] = False
    verification_code: str = Field(
        min_length=1,
        max_length=16,
        pattern=schemas.NON_BLANK,
        description="the 6-digit code sent by SMS to customer.phone; a wrong or spent code is 422",
    )


class PublicApplicationOut(Schema):
    number: str
    progress: schemas.PublicProgress


def _ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _throttled(exc: flows.Refused) -> ApiError:
    code = "throttled" if exc.status == 429 else "sms_unavailable"
    return ApiError(exc.status, code, exc.message, headers={"Retry-After": str(exc.retry_after or 60)})


@router.post(
    "/public/verification-codes",
    response={202: VerificationCodeOut},
    description="Errors: 422 (phone), 429 ``throttled`` (per phone, per client), 503 ``sms_unavailable``.",
)
def send_verification_code(request: HttpRequest, payload: VerificationCodeIn) -> Status:
    """Send a one-time code by SMS to a mainland mobile number; throttled per phone and per client."""
    try:
        sent = flows.send_code(payload.phone, client_ip=_ip(request), purpose=payload.purpose)
    except flows.Refused as exc:
        raise _throttled(exc) from None
    return Status(202, {"phone": sent.masked_phone, "expires_in": sent.expires_in, "resend_after": sent.resend_after})


@router.post(
    "/public/applications",
    response={201: PublicApplicationOut},
)
def apply_online(request: HttpRequest, payload: PublicIntakeIn) -> Status:
    """网上办电: the intake body plus ``verification_code``; the channel is ``online``. An
    ``Idempotency-Key`` header makes a retry return the first answer (no second application)."""
    body = json_body(request)  # as sent: the idempotency fingerprint is of the body itself
    key = idempotency_key(request)
    try:
        app = flows.apply_online(body, client_ip=_ip(request), idempotency_key=key, today=timezone.localdate())
    except flows.Refused as exc:
        raise _throttled(exc) from None
    from sunshine.applications import selectors

    return Status(201, {"number": app.number, "progress": selectors.public_progress(app)})
