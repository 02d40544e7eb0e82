"""Reaction to case-engine events (see sunshine/applications/reactions.py); runs in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sunshine.applications.models import Event, StageInstance


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    return None
