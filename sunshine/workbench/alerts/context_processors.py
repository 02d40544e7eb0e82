"""The unread count of the staff inbox, shown in the navigation of every staff page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def inbox(request: HttpRequest) -> dict[str, Any]:
    return {}
