"""What other domain apps do, in the same transaction, when the case engine records events.

The case engine does not import the apps that react to it (supervision, notifications,
feedback, ...): they are named, in order, by ``settings.SUNSHINE_EVENT_REACTIONS``. Each entry is
the dotted path of a function ``on_events(events, stages) -> None`` where ``events`` are the
Event rows just inserted (with primary keys) and ``stages`` the StageInstance rows the same
change created or updated. A reaction runs inside the caller's transaction, so whatever it
writes (rung moments, outbox rows, follow-up tasks) commits or rolls back with the change. It
must be set-based: a calendar re-projection passes thousands of events and stages at once.
Work that talks to the outside world is enqueued with ``transaction.on_commit``, never done here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from sunshine.applications.models import Event, StageInstance

Reaction = Callable[[Sequence[Event], Sequence[StageInstance]], None]


@cache
def reactions() -> tuple[Reaction, ...]:
    return tuple(import_string(path) for path in getattr(settings, "SUNSHINE_EVENT_REACTIONS", []))


def react(events: Sequence[Event], stages: Sequence[StageInstance] = ()) -> None:
    """Let every configured reaction see ``events`` (inserted, with primary keys) and ``stages``;
    called by ``events.record`` inside the transaction."""
    for reaction in reactions():
        reaction(events, stages)
