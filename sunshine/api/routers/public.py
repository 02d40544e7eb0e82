"""API v1: the public progress look-up and the time limits in force."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import get_language
from ninja import Router, Schema
from pydantic import Field

from sunshine.api import schemas
from sunshine.api.common import client_ip, safe_number
from sunshine.api.errors import ApiError, render
from sunshine.applications import progress, selectors
from sunshine.portal.public import flows
from sunshine.portal.public.messages import not_found_message
from sunshine.processes.selectors import processes_in_force

log = logging.getLogger(__name__)

# Operation ids are fixed (API v1: add, never rename). These operations were first defined in
# sunshine/api/api.py, whose module name ninja puts in the default id, so they keep that id here.

router = Router(tags=["public"], auth=None)


def progress_of(request: HttpRequest, number: str, phone_tail: str) -> HttpResponse:
    """The look-up's answer (the GET below, its POST twin, and ``sunshine/api/fast.py``)."""
    try:
        found = flows.lookup(safe_number(number, public=True), phone_tail, client_ip=client_ip(request))
    except flows.Refused as exc:
        raise ApiError(429, "throttled", exc.message, headers={"Retry-After": str(exc.retry_after or 60)}) from None
    if found is None:
        raise ApiError(404, "application_not_found", not_found_message())
    return progress_answer(request, found)


def progress_answer(request: HttpRequest, found: progress.Found) -> HttpResponse:
    """The look-up's answer for an application the caller has proved they may see: the JSON body
    kept per version (sunshine/applications/progress.py, shared by the web processes) with that
    version as its ETag, or ``304 Not Modified`` to a GET that already holds it
    (``If-None-Match``; a POST always gets the body)."""
    today = timezone.localdate()
    version = progress.version(found, today, get_language() or settings.LANGUAGE_CODE)
    etag = f'"{version}"'
    held = request.META.get("HTTP_IF_NONE_MATCH")
    if held and request.method in ("GET", "HEAD") and etag in parse_etags(held):
        response: HttpResponse = HttpResponseNotModified()
    else:
        body = progress.answer(_kind(), version, lambda: _progress_body(found, today), shared=True)
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["ETag"] = etag
    # The answer is the applicant's own: no shared cache may keep it; a browser asks again each time.
    response["Cache-Control"] = "private, no-cache"
    return response


@cache
def _kind() -> str:
    """The kept body's kind: its format's fingerprint (the response schema), so that processes of
    a release that changes the body never take one of an older release from the shared cache."""
    schema = json.dumps(schemas.PublicProgress.model_json_schema(), sort_keys=True)
    return "api-" + hashlib.sha256(schema.encode()).hexdigest()[:12]


def _progress_body(found: progress.Found, today: date) -> bytes:
    """The body ninja would send for ``selectors.public_progress``: its dict already has the keys
    of ``schemas.PublicProgress`` in their order with their types, so it is rendered by the API's
    renderer as it is (tests/test_lookup_cache.py: the same bytes as the schema-validated body)."""
    app, stages, pauses = progress.parts(found)
    return render(selectors.public_progress(app, today, stages=stages, pauses=pauses)).encode()


@router.get(
    "/applications/{number}",
    response=schemas.PublicProgress,
    operation_id="sunshine_api_api_public_progress",
    description="Kept for API v1 clients. Prefer ``POST /public/applications/{number}/progress``: "
    "a phone ending in the query string lands in access logs.",
)
def public_progress(request: HttpRequest, number: str, phone_tail: str = "") -> HttpResponse:
    return progress_of(request, number, phone_tail)


class ProgressLookupIn(Schema):
    phone_tail: str = Field(min_length=4, max_length=4, pattern=r"^[0-9]{4}$", description="last 4 digits of the phone")


@router.post("/applications/{number}/progress", response=schemas.PublicProgress)
def public_progress_lookup(request: HttpRequest, number: str, body: ProgressLookupIn) -> HttpResponse:
    """The progress look-up with the phone ending in the body, never in the URL. Wrong pair or
    unknown number → ``404``; too many attempts from the client, or too many wrong endings for
    the number (it is then locked for a while) → ``429``."""
    return progress_of(request, number, body.phone_tail)


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
