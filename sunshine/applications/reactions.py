"""What other domain apps do when events are recorded: the reactions.

The case engine does not import the apps that react to it (supervision, notifications,
feedback, ...): they are named, in order, by ``settings.SUNSHINE_EVENT_REACTIONS``. Each entry is
the dotted path of a function ``on_events(events, stages) -> None`` where ``events`` are the
Event rows of one change (with primary keys, oldest first) and ``stages`` the StageInstance rows
the same change created or updated.

A function may say what it reacts to, so that a change nobody reacts to writes no outbox entry:
``on_events.event_types`` (a set of ``EventType``) and ``on_events.reacts_to_stages`` (True: any
changed stage). A function without them is given every change.

Reactions run through the transactional outbox (``outbox.py``): after the change commits, in a
worker, each in a savepoint of its own, exactly once per change. They must be

- **idempotent per change in effect** and **convergent**: two changes of one application may be
  reacted to out of order by two workers, so a reaction reads the current state of the rows it
  keeps in step (the stage rows it is given are read again by the worker) and keys what it
  writes by event (``event:<id>:…``);
- **set-based**: a calendar re-projection passes thousands of events and stages at once;
- **inside the database**: work that talks to the outside world is written as rows that a worker
  delivers (the message table), never done here.

``outbox.in_change()`` is True when a reaction runs in the transaction of the change itself
(eager mode): only then may it rely on hints drawn from the events (a stage started by them has
no rows of its own yet).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from sunshine.applications.models import Event, StageInstance

Reaction = Callable[[Sequence[Event], Sequence[StageInstance]], None]


@cache
def reactions() -> tuple[tuple[str, Reaction], ...]:
    """(dotted path, function) of every configured reaction, in order."""
    return tuple((path, import_string(path)) for path in getattr(settings, "SUNSHINE_EVENT_REACTIONS", []))


def interested(reaction: Reaction, events: Sequence[Event], stages: Sequence[StageInstance]) -> bool:
    """Whether ``reaction`` has anything to do with this change (see the module's docstring)."""
    types = getattr(reaction, "event_types", None)
    if types is None:
        return True
    if stages and getattr(reaction, "reacts_to_stages", False):
        return True
    return any(e.type in types for e in events)


def anyone_interested(events: Sequence[Event], stages: Sequence[StageInstance]) -> bool:
    return any(interested(fn, events, stages) for _path, fn in reactions())
