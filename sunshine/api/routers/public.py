"""API v1: the public progress look-up and the time limits in force."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router

from sunshine.accounts.services import Throttled, hit_limit, throttle_key
from sunshine.api import schemas
from sunshine.api.common import client_ip, safe_number
from sunshine.api.errors import ApiError
from sunshine.applications import selectors
from sunshine.applications.models import Application
from sunshine.processes.selectors import processes_in_force

log = logging.getLogger(__name__)

# Operation ids are fixed (API v1: add, never rename). These operations were first defined in
# sunshine/api/api.py, whose module name ninja puts in the default id, so they keep that id here.

router = Router(tags=["public"], auth=None)


@router.get("/applications/{number}", response=schemas.PublicProgress, operation_id="sunshine_api_api_public_progress")
def public_progress(request: HttpRequest, number: str, phone_tail: str = "") -> dict[str, Any]:
    try:
        hit_limit(
            throttle_key("public-lookup", client_ip(request)),
            settings.SUNSHINE_PUBLIC_LOOKUPS,
            settings.SUNSHINE_PUBLIC_LOOKUP_WINDOW_SECONDS,
        )
    except Throttled as exc:
        log.warning("public look-up throttled for %s", client_ip(request))
        raise ApiError(
            429,
            "throttled",
            _("Too many look-ups from this device; try again later."),
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    app = (
        Application.objects.select_related("customer_manager", "process")
        .filter(number=safe_number(number, public=True).strip().upper())
        .first()
    )
    tail = phone_tail.strip()
    if app is None or len(tail) != 4 or not app.contact_phone.endswith(tail):
        raise ApiError(404, "application_not_found", _("No application matches this number and phone number ending."))
    return selectors.public_progress(app)


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
