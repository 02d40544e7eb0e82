"""Reaction to case-engine events (see sunshine/applications/reactions.py); runs in the same transaction.

Every change of a stage's clock reaches here with the stages it touched: a stage that starts
gets its rung moments, a pause suspends them (the unfired ones are dropped), a resume or a
calendar re-projection moves them to the new deadline, a completion or skip drops them, and a
cancellation drops those of the whole application (its stage is left in progress).
"""

from __future__ import annotations

from collections.abc import Sequence

from sunshine.applications.models import Event, StageInstance
from sunshine.supervision.moments import sync_stages


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    closed = {e.application_id for e in events if e.type in ("cancelled", "completed")}
    if stages or closed:
        sync_stages(stages, closed)
