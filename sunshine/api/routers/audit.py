"""API v1: the published daily fingerprints of the event log (added to the API in sunshine/api/api.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from sunshine.applications.audit import published_digests

router = Router(tags=["public"], auth=None)


class DigestOut(Schema):
    day: str
    events: int
    digest: str
    previous: str


@router.get("/public/audit-digests", response=list[DigestOut])
def audit_digests(request: HttpRequest) -> list[dict[str, Any]]:
    """The latest 60 daily digests, newest first (see docs/security.md)."""
    return [
        {"day": d.day.isoformat(), "events": d.events, "digest": d.digest, "previous": d.previous}
        for d in published_digests()
    ]
