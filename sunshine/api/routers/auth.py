"""API v1: sign-in for API clients (``POST /api/v1/auth/token``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from sunshine.accounts.services import SecondStep, Throttled, issue_token
from sunshine.api import schemas
from sunshine.api.common import client_ip
from sunshine.api.errors import ApiError

# Operation ids are fixed (API v1: add, never rename). These operations were first defined in
# sunshine/api/api.py, whose module name ninja puts in the default id, so they keep that id here.

router = Router(tags=["auth"])


_SECOND_STEP = {
    "otp_required": lambda: _("This account uses two-step sign-in: send the 6-digit code as otp."),
    "invalid_otp": lambda: _("Wrong code. Enter the 6 digits your authenticator app shows now."),
    "otp_enrolment_required": lambda: _(
        "Your role requires two-step sign-in: set it up in the workbench before using the API."
    ),
}


@router.post(
    "/token",
    auth=None,
    response={200: schemas.TokenOut},
    operation_id="sunshine_api_api_token",
)
def token(request: HttpRequest, payload: schemas.TokenIn) -> dict[str, Any]:
    otp = payload.otp
    try:
        issued = issue_token(payload.username, payload.password, client_ip(request), request, otp=otp or None)
    except Throttled as exc:
        raise ApiError(
            429,
            "throttled",
            _("Too many failed sign-ins; try again later."),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except SecondStep as exc:
        raise ApiError(401, exc.code, _SECOND_STEP[exc.code]()) from None
    if issued is None:
        raise ApiError(401, "invalid_credentials", _("Wrong username or password."))
    raw, expires = issued
    return {"token": raw, "expires_at": expires}
