"""API v1: the public progress look-up and the time limits in force."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from sunshine.api import schemas
from sunshine.api.common import client_ip, safe_number
from sunshine.api.errors import ApiError
from sunshine.applications import selectors
from sunshine.portal.public import flows
from sunshine.portal.public.messages import not_found_message
from sunshine.processes.selectors import processes_in_force

log = logging.getLogger(__name__)

# Operation ids are fixed (API v1: add, never rename). These operations were first defined in
# sunshine/api/api.py, whose module name ninja puts in the default id, so they keep that id here.

router = Router(tags=["public"], auth=None)


def _progress(request: HttpRequest, number: str, phone_tail: str) -> dict[str, Any]:
    try:
        app = flows.lookup(safe_number(number, public=True), phone_tail, client_ip=client_ip(request))
    except flows.Refused as exc:
        raise ApiError(429, "throttled", exc.message, headers={"Retry-After": str(exc.retry_after or 60)}) from None
    if app is None:
        raise ApiError(404, "application_not_found", not_found_message())
    return selectors.public_progress(app)


@router.get(
    "/applications/{number}",
    response=schemas.PublicProgress,
    operation_id="sunshine_api_api_public_progress",
    description="Kept for API v1 clients. Prefer ``POST /public/applications/{number}/progress``: "
    "a phone ending in the query string lands in access logs.",
)
def public_progress(request: HttpRequest, number: str, phone_tail: str = "") -> dict[str, Any]:
    return _progress(request, number, phone_tail)


class ProgressLookupIn(Schema):
    phone_tail: str = Field(min_length=4, max_length=4, pattern=r"^[0-9]{4}$", description="last 4 digits of the phone")


@router.post("/applications/{number}/progress", response=schemas.PublicProgress)
def public_progress_lookup(request: HttpRequest, number: str, body: ProgressLookupIn) -> dict[str, Any]:
    """The progress look-up with the phone ending in the body, never in the URL. Wrong pair or
    unknown number → ``404``; too many attempts from the client, or too many wrong endings for
    the number (it is then locked for a while) → ``429``."""
    return _progress(request, number, body.phone_tail)


@router.get("/time-limits", response=list[schemas.PublicProcess], operation_id="sunshine_api_api_time_limits")
def time_limits(request: HttpRequest) -> list[dict[str, Any]]:
    en = (request.LANGUAGE_CODE or "").startswith("en")
    out = []
    for p in sorted(processes_in_force(timezone.localdate()), key=lambda p: schemas.CATEGORY_ORDER[p.category]):
        out.append(
            {
                "category": p.category,
                "category_label": p.get_category_display(),
                "version": p.version,
                "effective_from": p.effective_from,
                "source": p.source_note,
                "end_to_end_limit_days": p.end_to_end_limit_days,
                "stages": [
                    {
                        "code": s.code,
                        "name": s.name_en if en else s.name_zh,
                        "owner": s.owner,
                        "time_limit_days": s.time_limit_days,
                        "optional": s.optional,
                    }
                    for s in p.stages.all()
                ],
            }
        )
    return out
