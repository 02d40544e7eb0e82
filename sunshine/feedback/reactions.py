"""Reaction to case-engine events (see sunshine/applications/reactions.py), run through the outbox.

A ``completed`` event means the application is connected (its last stage finished): schedule
its follow-up call (回访). Set-based: one query for the applications that already have one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sunshine.applications.events import EventType
from sunshine.applications.models import Event, StageInstance


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    # each application's own moment of connection (a worker may pass many changes at once)
    connected = {e.application_id: e.at for e in events if e.type == EventType.COMPLETED}
    if not connected:
        return
    from sunshine.feedback.services import schedule_followups

    schedule_followups(list(connected), at=max(connected.values()), at_of=connected)


on_events.event_types = frozenset({EventType.COMPLETED})  # type: ignore[attr-defined]
