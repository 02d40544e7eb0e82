"""Flash messages shown once: a message equal to one already waiting (same level, same text) is
not added again. A view that redirects to a page adding the same notice (the admin's calendar
warning on the changelist of a POST and again on the page it redirects to), or a message added
on two paths of one request, would otherwise show the same line twice."""

from __future__ import annotations

from typing import Any

from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.fallback import FallbackStorage


class OnceStorage(FallbackStorage):
    def add(self, level: int, message: Any, extra_tags: str | None = "") -> None:
        if message and Message(int(level), message, extra_tags=extra_tags or "") in self:
            return
        super().add(level, message, extra_tags)
