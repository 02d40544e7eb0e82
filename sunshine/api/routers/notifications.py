"""API v1 endpoints of the notifications capability (added to the API in sunshine/api/api.py): the
signed-in staff member's in-app inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from sunshine.api.common import json_body
from sunshine.applications import access
from sunshine.notifications import selectors, services

router = Router(tags=["notifications"])


class InboxFilters(Schema):
    unread: bool = False
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(30, ge=1, le=100)


class InboxMessage(Schema):
    id: int
    template: str
    title: str
    body: str
    application: str | None
    created_at: datetime
    read_at: datetime | None


class InboxPage(Schema):
    unread: int
    page: int
    page_size: int
    results: list[InboxMessage]


class MarkReadIn(Schema):
    # The ids to mark read; omitted or null: every unread message of the caller.
    # Ids are database keys: outside 1..2^63-1 they are invalid input (422), not a 500 from the
    # database driver (found by the fuzz test).
    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(None, max_length=500)


class MarkReadOut(Schema):
    marked: int
    unread: int


@router.get("/inbox", response=InboxPage)
def inbox(request: HttpRequest, filters: Query[InboxFilters]) -> dict[str, Any]:
    """The caller's inbox, newest first, with the unread count."""
    user = request.auth  # type: ignore[attr-defined]
    access.require_role(user, access.STAFF_ROLES)
    rows = selectors.inbox_page(
        user, unread_only=filters.unread, offset=(filters.page - 1) * filters.page_size, limit=filters.page_size
    )
    return {
        "unread": selectors.unread_count(user),
        "page": filters.page,
        "page_size": filters.page_size,
        "results": [
            {
                "id": m.pk,
                "template": m.template,
                "title": m.title,
                "body": m.body,
                "application": m.application.number if m.application else None,
                "created_at": m.created_at,
                "read_at": m.read_at,
            }
            for m in rows
        ],
    }


@router.post("/inbox/read", response=MarkReadOut)
def mark_read(request: HttpRequest, body: MarkReadIn) -> dict[str, int]:
    """Mark the given messages (or all) read; ids of other people's messages change nothing."""
    json_body(request)  # a body that is not a JSON object is 400, as everywhere
    user = request.auth  # type: ignore[attr-defined]
    access.require_role(user, access.STAFF_ROLES)
    marked = services.mark_read(user, body.ids)
    return {"marked": marked, "unread": selectors.unread_count(user)}
