"""Reaction to case-engine events (see sunshine/applications/reactions.py), run through the outbox.

Every change of a stage's clock reaches here with the stages it touched: a stage that starts
gets its rung moments, a pause suspends them (the unfired ones are dropped), a resume or a
calendar re-projection moves them to the new deadline, a completion or skip drops them, and a
cancellation drops those of the whole application (its stage is left in progress).
"""

from __future__ import annotations

from collections.abc import Sequence

from sunshine.applications.events import CLOSING_TYPES, EventType
from sunshine.applications.models import Event, StageInstance
from sunshine.applications.outbox import in_change
from sunshine.supervision.moments import sync_stages


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    closed = {e.application_id for e in events if e.type in CLOSING_TYPES}
    if not (stages or closed):
        return
    if not in_change():
        # After commit (a worker): the stages were read again and later changes of the same
        # application may have been reacted to first; keep the moments in step with the rows.
        sync_stages(stages, closed)
        return
    # In the change's own transaction: a stage whose start is among these events was pending (or
    # created) until now, so it has no moments to read or drop; an application whose intake is
    # among them is new.
    started = {(e.application_id, e.stage, e.round) for e in events if e.type == EventType.STAGE_STARTED}
    fresh = {s.pk for s in stages if (s.application_id, s.code, s.round) in started}
    new = {e.application_id for e in events if e.type == EventType.INTAKE}
    sync_stages(stages, closed, fresh=fresh, new_applications=new)


on_events.event_types = frozenset(CLOSING_TYPES)  # type: ignore[attr-defined]
on_events.reacts_to_stages = True  # type: ignore[attr-defined]
