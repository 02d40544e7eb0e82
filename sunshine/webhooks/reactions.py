"""The webhooks' reaction to the case engine (``SUNSHINE_EVENT_REACTIONS``, last in the list):
publish a change's events in the feed and owe them to the matching subscriptions (``feed.py``).
Set-based, convergent (an application's earlier events are published first, whoever gets there
first), keyed by event (one feed item per event, one delivery per subscription and item), and
inside the database: the HTTP calls are the workers' (``delivery.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from sunshine.applications.models import Event, StageInstance
from sunshine.webhooks.feed import PUBLISHED, publish


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    publish(events)


on_events.event_types = frozenset(PUBLISHED)  # type: ignore[attr-defined]
