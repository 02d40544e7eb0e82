"""Customer and staff notifications for case-engine events, written by a reaction (run through the outbox).

intake → customer ``accepted`` (number, manager, limits) and staff ``assigned`` to the manager;
stage_completed → ``stage_completed``, or ``defects`` (一次性告知) when a review/inspection failed,
or ``connected`` for the connection stage; paused/resumed → ``paused``/``resumed`` with the reason;
reassigned → customer ``manager_changed`` naming the new manager and staff ``assigned`` to them.
Keys are ``event:<id>:<template>``, so a replayed reaction never sends twice. Other event types
(a calendar re-projection passes thousands) are dropped in one pass without a query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sunshine.accounts.models import User
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event, PauseReason, StageInstance
from sunshine.applications.outbox import change_of
from sunshine.notifications.models import Message
from sunshine.processes.models import Owner, StageTemplate

TYPES = {
    EventType.INTAKE,
    EventType.STAGE_COMPLETED,
    EventType.STAGE_STARTED,
    EventType.PAUSED,
    EventType.RESUMED,
    EventType.REASSIGNED,
}
CONNECTION = "connection"


def zh_date(value: str | None) -> str:
    if not value:
        return ""
    d = date.fromisoformat(value)
    return f"{d.year}年{d.month}月{d.day}日"


def limits_text(stages: Sequence[StageInstance]) -> str:
    """``受理1、现场勘查2、装表接电2，合计5个工作日`` from the utility stages' copied limits."""
    parts: list[str] = []
    total = 0
    for s in sorted(stages, key=lambda s: s.seq):
        if s.owner != Owner.UTILITY or s.time_limit_days is None:
            continue
        optional = "（如需）" if s.template.optional else ""
        parts.append(f"{s.template.name_zh}{s.time_limit_days}{optional}")
        total += s.time_limit_days
    if not parts:
        return ""
    return f"{'、'.join(parts)}，合计{total}个工作日"


class _Names:
    """Chinese stage names by (process, code): from the stages at hand, else one query."""

    def __init__(self, stages: Sequence[StageInstance]) -> None:
        self.names: dict[tuple[int, str], str] = {}
        for s in stages:
            if StageInstance.template.is_cached(s):
                self.names[(s.template.process_id, s.code)] = s.template.name_zh

    def need(self, pairs: set[tuple[int, str]]) -> None:
        missing = pairs - self.names.keys()
        if missing:
            rows = StageTemplate.objects.filter(
                process_id__in={p for p, _ in missing}, code__in={c for _, c in missing}
            ).values_list("process_id", "code", "name_zh")
            self.names.update({(p, c): n for p, c, n in rows})

    def get(self, app: Application, code: str | None) -> str:
        return self.names.get((app.process_id, code or ""), code or "")


def on_events(events: Sequence[Event], stages: Sequence[StageInstance]) -> None:
    relevant = [e for e in events if e.type in TYPES]
    if not relevant:
        return
    from sunshine.notifications.services import customer_message, staff_messages, write_messages

    apps = _applications(relevant)
    names = _Names(stages)
    names.need({(apps[e.application_id].process_id, e.stage) for e in relevant if e.stage})
    # A change's events together (a worker may pass several changes of one application at once).
    by_change: dict[tuple[int, int | None], list[Event]] = defaultdict(list)
    for e in relevant:
        by_change[(e.application_id, change_of(e))].append(e)
    stages_of: dict[int, list[StageInstance]] = defaultdict(list)
    for s in stages:
        stages_of[s.application_id].append(s)
    managers = _managers(relevant, apps)
    rows: list[Message | None] = []  # every notice of these events, written by one INSERT

    for (app_id, _change), app_events in by_change.items():
        app = apps[app_id]
        has_intake = any(e.type == EventType.INTAKE for e in app_events)
        for i, e in enumerate(app_events):
            key = f"event:{e.pk}"
            if e.type == EventType.INTAKE:
                rows.append(
                    customer_message(app, "accepted", {"limits": limits_text(stages_of[app_id])}, key=f"{key}:accepted")
                )
                manager = managers.get(e.data.get("customer_manager") or "")
                if manager is not None:
                    rows += staff_messages([manager], "assigned", {}, application=app, key=f"{key}:assigned")
            elif e.type == EventType.STAGE_COMPLETED and not has_intake:
                rows.append(_stage_completed(app, e, app_events[i + 1 :], names, key))
            elif e.type == EventType.PAUSED:
                reason = e.data.get("reason") or ""
                code = e.data.get("reason_code") or ""
                label = str(PauseReason(code).label) if code in PauseReason.values else ""
                rows.append(
                    customer_message(
                        app,
                        "paused",
                        {"reason": reason, "reason_label": label, "stage_name": names.get(app, e.stage)},
                        key=f"{key}:paused",
                    )
                )
            elif e.type == EventType.RESUMED:
                rows.append(
                    customer_message(
                        app,
                        "resumed",
                        {"stage_name": names.get(app, e.stage), "deadline": zh_date(e.data.get("deadline"))},
                        key=f"{key}:resumed",
                    )
                )
            elif e.type == EventType.REASSIGNED and e.data.get("to") in managers:
                # The customer hears whom they deal with now (name and the published work phone).
                rows.append(customer_message(app, "manager_changed", {}, key=f"{key}:manager_changed"))
                rows += staff_messages(
                    [managers[e.data["to"]]],
                    "assigned",
                    {"reason": e.data.get("reason") or ""},
                    application=app,
                    key=f"{key}:assigned",
                )
    write_messages([row for row in rows if row is not None])


def _stage_completed(app: Application, e: Event, later: Sequence[Event], names: _Names, key: str) -> Message | None:
    from sunshine.notifications.services import customer_message

    stage_name = names.get(app, e.stage)
    if e.data.get("outcome") == "failed":
        defects = [str(d) for d in e.data.get("defects") or []]
        text = "；".join(f"{n}. {d}" for n, d in enumerate(defects, start=1))
        return customer_message(app, "defects", {"stage_name": stage_name, "defects": text}, key=f"{key}:defects")
    if e.stage == CONNECTION:
        return customer_message(app, "connected", {"stage_name": stage_name}, key=f"{key}:connected")
    started = next((x for x in later if x.type == EventType.STAGE_STARTED), None)
    context: dict[str, Any] = {"stage_name": stage_name}
    if started is not None:
        context["next_stage_name"] = names.get(app, started.stage)
        context["next_deadline"] = zh_date(started.data.get("deadline"))
    return customer_message(app, "stage_completed", context, key=f"{key}:stage_completed")


def _managers(events: Sequence[Event], apps: dict[int, Application]) -> dict[str, User]:
    """The managers the events name (assigned at intake, or the new one of a reassignment) by
    username: the reaction may run after later changes, so the event says who, not the row."""
    names = {e.data.get("customer_manager") for e in events if e.type == EventType.INTAKE}
    names |= {e.data.get("to") for e in events if e.type == EventType.REASSIGNED}
    names.discard(None)
    found = {a.customer_manager.username: a.customer_manager for a in apps.values() if a.customer_manager is not None}
    missing = names - found.keys()
    if missing:
        found.update({u.username: u for u in User.objects.filter(username__in=missing)})
    return {name: found[name] for name in names if name in found}


def _applications(events: Sequence[Event]) -> dict[int, Application]:
    """The events' applications with their managers, reusing the objects the engine attached."""
    found: dict[int, Application] = {}
    for e in events:
        if Event.application.is_cached(e):
            found[e.application_id] = e.application
    missing = {e.application_id for e in events} - found.keys()
    if missing:
        found.update(Application.objects.select_related("customer_manager").in_bulk(list(missing)))
    for app in found.values():
        if app.customer_manager_id and not Application.customer_manager.is_cached(app):
            app.customer_manager = User.objects.get(pk=app.customer_manager_id)
    return found


on_events.event_types = frozenset(TYPES)  # type: ignore[attr-defined]
