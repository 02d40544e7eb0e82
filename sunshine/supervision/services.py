"""State changes of supervision: the deadline sweep, leader supervision (领导挂牌督办), the digest.

The sweep reads only the rung moments that are due (a partial index on ``due_at`` of the
unfired rows), so its cost grows with the due rungs, not with the open applications. It works
in batches, one transaction each: the batch's rows are locked with ``SKIP LOCKED`` (PostgreSQL)
so a concurrent sweep takes other rows, and each row is claimed with a conditional UPDATE
(``fired_at IS NULL``) whose row count must be 1, so a rung fires exactly once per stage
instance even with two sweeps at once. The claim, the timeline event and the message rows
commit together: a sweep that dies half-way leaves the rung to the next one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts import units
from sunshine.accounts.models import Role, User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event, StageStatus, Status
from sunshine.applications.outbox import drain
from sunshine.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from sunshine.supervision import rungs
from sunshine.supervision.models import LeaderSupervision, NoteKind, RungMoment, SupervisionNote
from sunshine.supervision.moments import sync_application

log = logging.getLogger(__name__)

__all__ = ["DomainError", "Fired", "add_note", "end_supervision", "send_digests", "sweep", "take_charge"]


# --- the sweep --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fired:
    """One rung fired by a sweep."""

    number: str
    stage: str
    round: int
    rung: str
    event: str
    template: str
    recipients: tuple[str, ...]
    due_at: datetime


class Leaders:
    """The active leaders by unit, read once per sweep batch when a rung names a leader; finds
    those a rung tells for one application by climbing the tree from its unit."""

    def __init__(self) -> None:
        self.tree = units.tree()
        self.by_unit: dict[int | None, list[User]] = {}
        for user in User.objects.filter(role=Role.LEADER, is_active=True).order_by("username"):
            self.by_unit.setdefault(user.unit_id, []).append(user)

    def nearest(self, unit_id: int | None) -> list[User]:
        """The leaders of ``unit_id``, or of the nearest unit above it that has any."""
        for ancestor in self.tree.ancestors(unit_id):
            if self.by_unit.get(ancestor):
                return self.by_unit[ancestor]
        return []

    def of_kind(self, unit_id: int | None, kind: str) -> list[User]:
        """The leaders of the unit of ``kind`` in ``unit_id``'s line (itself or above)."""
        for ancestor in self.tree.ancestors(unit_id):
            if self.tree.nodes[ancestor].kind == kind:
                return self.by_unit.get(ancestor, [])
        return []


def _recipients(
    rung: rungs.Rung, app: Application, supervision: LeaderSupervision | None, leaders: Leaders | None
) -> list[User]:
    people: list[User | None] = []
    key = app.key_project or supervision is not None
    for spec in rung.notify:
        who = rungs.recipient(spec)
        if who.key_only and not key:
            continue
        if who.who == "manager":
            people.append(app.customer_manager if app.customer_manager_id else None)
        elif who.who == "team_lead":
            people.append(app.area.team_lead if app.area_id and app.area else None)
        elif who.kind is not None:
            people.extend(leaders.of_kind(app.unit_id, who.kind) if leaders else [])
        elif supervision is not None:
            people.append(supervision.leader)
        else:
            people.extend(leaders.nearest(app.unit_id) if leaders else [])
    out: list[User] = []
    for user in people:
        if user is not None and user.is_active and all(u.pk != user.pk for u in out):
            out.append(user)
    return out


def _context(
    app: Application, moment: RungMoment, rung: rungs.Rung, supervision: LeaderSupervision | None
) -> dict[str, Any]:
    stage = moment.stage
    manager = app.customer_manager
    return {
        "number": app.number,
        "customer_name": app.customer_name,
        "address": app.address,
        "stage": stage.code,
        "stage_name": stage.template.name_zh,
        "round": stage.round,
        "deadline": moment.deadline.isoformat(),
        "rung": rung.code,
        "rung_label": rung.label,
        "offset": rung.offset,
        # working days left (before the deadline) or overdue (after it)
        "days": abs(rung.offset),
        "manager": manager.display_name if manager else "",
        "manager_phone": manager.work_phone if manager else "",
        "supervising_leader": supervision.leader.display_name if supervision else "",
    }


def _notifier() -> Any:
    from sunshine.notifications.services import notify_staff

    return notify_staff


def _claim(pks: list[int], now: datetime) -> set[int]:
    """Turn the unfired rows among ``pks`` into fired, in one statement; returns those this call
    turned (exactly one sweep fires a row, also where SELECT … FOR UPDATE is a no-op: SQLite)."""
    if not pks:
        return set()
    table = connection.ops.quote_name(RungMoment._meta.db_table)
    marks = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET fired_at = %s WHERE id IN ({marks}) AND fired_at IS NULL RETURNING id",  # noqa: S608
            [now, *pks],
        )
        return {row[0] for row in cursor.fetchall()}


def due_moments(now: datetime) -> QuerySet[RungMoment]:
    """The unfired moments due at ``now``, in firing order, with what firing them needs (served by
    the partial index ``rung_moment_unfired_due``)."""
    return (
        RungMoment.objects.filter(fired_at__isnull=True, due_at__lte=now)
        .select_related(
            "stage__template",
            "stage__application__customer_manager",
            "stage__application__area__team_lead",
        )
        .order_by("due_at", "id")
    )


def _sweep_batch(now: datetime, batch_size: int) -> tuple[list[Fired], int]:
    from sunshine.notifications.services import staff_messages, write_messages

    with transaction.atomic():
        rows = list(due_moments(now).select_for_update(skip_locked=True, of=("self",))[:batch_size])
        if not rows:
            return [], 0
        stale = [
            m.pk
            for m in rows
            if m.stage.status != StageStatus.IN_PROGRESS or m.stage.application.status != Status.IN_PROGRESS
        ]
        if stale:  # left behind by a change that bypassed the engine: never fire them
            RungMoment.objects.filter(pk__in=stale, fired_at__isnull=True).delete()
        due = [m for m in rows if m.pk not in set(stale)]
        supervisions = {
            s.application_id: s
            for s in LeaderSupervision.objects.filter(
                application_id__in={m.stage.application_id for m in due}, ended_at__isnull=True
            ).select_related("leader")
        }
        leaders: Leaders | None = None
        fired: list[Fired] = []
        events: list[Event] = []
        messages = []
        planned: list[tuple[RungMoment, rungs.Rung]] = []
        unknown: list[int] = []
        for moment in due:
            app = moment.stage.application
            plan = {r.code: r for r in rungs.rungs_for(app.category, app.pk in supervisions)}
            rung = plan.get(moment.rung_code) or rungs.rung_by_code(moment.rung_code)
            if rung is None:
                log.warning("rung %s of stage %s is no longer configured; dropped", moment.rung_code, moment.stage_id)
                unknown.append(moment.pk)
            else:
                planned.append((moment, rung))
        if unknown:
            RungMoment.objects.filter(pk__in=unknown, fired_at__isnull=True).delete()
        # The claim: exactly one sweep turns each row from unfired to fired.
        claimed = _claim([m.pk for m, _rung in planned], now)
        for moment, rung in planned:
            if moment.pk not in claimed:
                continue
            app = moment.stage.application
            supervision = supervisions.get(app.pk)
            if leaders is None and any(
                who.who == "leader" and (who.kind or supervision is None) for who in map(rungs.recipient, rung.notify)
            ):
                leaders = Leaders()
            people = _recipients(rung, app, supervision, leaders)
            usernames = tuple(u.username for u in people)
            events.append(
                ev.new(
                    app,
                    EventType(rung.event),
                    now,
                    None,
                    moment.stage,
                    rung=rung.code,
                    recipients=list(usernames),
                    template=rung.template,
                    deadline=moment.deadline.isoformat(),
                    due_at=timezone.localtime(moment.due_at).isoformat(),
                    supervised=supervision is not None,
                )
            )
            context = _context(app, moment, rung, supervision)
            for user in people:
                messages += staff_messages(
                    [user], rung.template, context, application=app, key=f"rung:{moment.pk}:{user.pk}"
                )
            fired.append(
                Fired(
                    app.number,
                    moment.stage.code,
                    moment.stage.round,
                    rung.code,
                    rung.event,
                    rung.template,
                    usernames,
                    moment.due_at,
                )
            )
        ev.record(events)
        write_messages(messages)
    return fired, len(rows)


def sweep(*, now: datetime | None = None, batch_size: int | None = None) -> list[Fired]:
    """Fire every rung whose moment has come; returns what fired (in moment order per batch).

    First the reactions already due are run (``outbox.drain``): a change committed before ``now``
    whose reactions a busy worker has not run yet has not written (or moved, or dropped) its rung
    moments, and the sweep must not miss, fire late or fire wrongly a rung because of that. The
    claim below still checks that the stage and its application are running."""
    now = now or timezone.now()
    size = batch_size or settings.SUNSHINE_SWEEP_BATCH
    drain(now=now, wait=True)
    fired: list[Fired] = []
    while True:
        batch, seen = _sweep_batch(now, size)
        fired.extend(batch)
        if seen < size:
            return fired


# --- leader supervision (领导挂牌督办) -----------------------------------------------------------


def _lock(number: str) -> Application:
    try:
        return Application.objects.select_for_update().get(number=number)
    except Application.DoesNotExist:
        raise NotFound(_("No application with this number."), "application_not_found") from None


def take_charge(number: str, actor: User, *, reason: str, target_date: date | None) -> LeaderSupervision:
    """A leader takes charge of an open project: its rungs tighten and escalate to them."""
    if actor.role != Role.LEADER:
        raise Forbidden(_("Only a leader can take charge of a project."))
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give the reason for supervising this project.")]
    elif len(reason) > 500:
        errors["reason"] = [_("Keep the reason under 500 characters.")]
    today = timezone.localdate()
    if target_date is None:
        errors["target_date"] = [_("Give the target date.")]
    elif target_date < today:
        errors["target_date"] = [_("The target date cannot be in the past.")]
    if errors:
        raise ValidationFailed(errors)
    assert target_date is not None
    with transaction.atomic():
        app = _lock(number)
        if not app.is_open:
            raise Conflict(_("Only an open application can be supervised."), "application_closed")
        current = LeaderSupervision.objects.filter(application=app, ended_at__isnull=True).first()
        if current is not None:
            raise Conflict(
                _("This project is already supervised by %(leader)s.") % {"leader": current.leader.display_name},
                "already_supervised",
            )
        now = timezone.now()
        supervision = LeaderSupervision.objects.create(
            application=app, leader=actor, reason=reason, target_date=target_date, started_at=now
        )
        ev.record(
            [
                ev.new(
                    app,
                    EventType.SUPERVISION_STARTED,
                    now,
                    actor,
                    leader=actor.username,
                    reason=reason,
                    target_date=target_date.isoformat(),
                )
            ]
        )
        sync_application(app.pk)
    return supervision


def _active(number: str, app: Application) -> LeaderSupervision:
    supervision = LeaderSupervision.objects.filter(application=app, ended_at__isnull=True).first()
    if supervision is None:
        raise NotFound(_("Project %(number)s is not under supervision.") % {"number": number}, "not_supervised")
    return supervision


def _require_supervisor(actor: User, supervision: LeaderSupervision) -> None:
    if actor.role == Role.ADMIN:
        return
    if actor.role != Role.LEADER or supervision.leader_id != actor.pk:
        raise Forbidden(_("Only the supervising leader can do this."))


def add_note(
    number: str, actor: User, *, text: str, kind: str = NoteKind.NOTE, reviewed_on: date | None = None
) -> SupervisionNote:
    """A supervision note, or a progress review dated ``reviewed_on``, by the supervising leader."""
    text = (text or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in NoteKind.values:
        errors["kind"] = [_("Choose a note or a progress review.")]
    if not text:
        errors["text"] = [_("Write the note.")]
    today = timezone.localdate()
    if kind == NoteKind.REVIEW:
        if reviewed_on is None:
            errors["reviewed_on"] = [_("Give the date of the review.")]
        elif reviewed_on > today:
            errors["reviewed_on"] = [_("The review date cannot be in the future.")]
    else:
        reviewed_on = None
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        app = _lock(number)
        supervision = _active(number, app)
        _require_supervisor(actor, supervision)
        now = timezone.now()
        note = SupervisionNote.objects.create(
            supervision=supervision, kind=kind, text=text, reviewed_on=reviewed_on, author=actor, at=now
        )
        data: dict[str, Any] = {"kind": kind, "text": text}
        if reviewed_on:
            data["reviewed_on"] = reviewed_on.isoformat()
        ev.record([ev.new(app, EventType.SUPERVISION_NOTE, now, actor, **data)])
    return note


def end_supervision(number: str, actor: User, *, note: str) -> LeaderSupervision:
    """The supervising leader (or an administrator) closes the supervision; normal rungs return."""
    note = (note or "").strip()
    if not note:
        raise ValidationFailed({"note": [_("Say why the supervision ends.")]})
    with transaction.atomic():
        app = _lock(number)
        supervision = _active(number, app)
        _require_supervisor(actor, supervision)
        now = timezone.now()
        supervision.ended_at, supervision.ended_by, supervision.end_note = now, actor, note[:500]
        supervision.save(update_fields=["ended_at", "ended_by", "end_note"])
        ev.record([ev.new(app, EventType.SUPERVISION_ENDED, now, actor, leader=supervision.leader.username, note=note)])
        sync_application(app.pk)
    return supervision


# --- the weekly digest -----------------------------------------------------------------------


def week_key(day: date) -> str:
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def send_digests(*, now: datetime | None = None) -> dict[str, int]:
    """Send each leader a summary of the projects they supervise; once per leader and ISO week
    (the notification key carries the week). Returns {username: messages newly queued}."""
    from sunshine.supervision.selectors import supervised_projects

    notify_staff = _notifier()

    now = now or timezone.now()
    today = timezone.localdate(now)
    week = week_key(today)
    by_leader: dict[int, list[dict[str, Any]]] = {}
    leaders: dict[int, User] = {}
    for row in supervised_projects(today=today):
        leaders[row.leader.pk] = row.leader
        by_leader.setdefault(row.leader.pk, []).append(
            {
                "number": row.number,
                "customer_name": row.customer_name,
                "stage": row.stage_name,
                "deadline": row.deadline.isoformat() if row.deadline else None,
                "overdue": row.overdue,
                "target_date": row.target_date.isoformat(),
                "last_review": row.last_review.isoformat() if row.last_review else None,
            }
        )
    sent: dict[str, int] = {}
    with transaction.atomic():
        for leader_id, projects in sorted(by_leader.items(), key=lambda item: leaders[item[0]].username):
            leader = leaders[leader_id]
            context = {
                "week": week,
                "count": len(projects),
                "overdue_count": sum(1 for p in projects if p["overdue"]),
                "projects": projects,
                "text": "；".join(
                    f"{p['number']} {p['customer_name']} {p['stage'] or ''} 期限{p['deadline'] or '-'}"
                    + ("（超期）" if p["overdue"] else "")
                    + f" 目标{p['target_date']}"
                    for p in projects
                ),
            }
            sent[leader.username] = notify_staff(
                [leader], "supervision_digest", context, key=f"digest:{leader.pk}:{week}"
            )
    return sent
