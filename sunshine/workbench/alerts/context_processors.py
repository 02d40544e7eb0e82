"""The unread count of the staff inbox, shown in the navigation of every staff page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from sunshine.applications import access


def inbox(request: HttpRequest) -> dict[str, Any]:
    """``inbox_unread``: one COUNT, run only when a page shows it (and only for staff)."""
    user = getattr(request, "user", None)
    if not access.is_staff_user(user):
        return {}
    from sunshine.notifications.selectors import unread_count

    return {"inbox_unread": SimpleLazyObject(lambda: unread_count(user))}  # type: ignore[arg-type]
