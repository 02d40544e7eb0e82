"""The case engine's rules, as pure functions of plain values: the stages a new application gets,
how a stage starts and when it is due, what completing, skipping or failing a stage leads to, and
what a pause adds. No database, no clock of its own: the caller passes the time and a calendar.

``services.py`` applies them to model rows inside its transactions; the synthetic data generator
(``sunshine/ops/synthetic.py``) applies them to plain records, so a generated history is the one
the services would have written. One copy of each rule: change it here and both follow. The
deadline formula itself is ``clock.deadline_on`` (api-v1.md, normative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, TypeVar

from sunshine.applications.clock import deadline_on
from sunshine.applications.models import Outcome, StageStatus
from sunshine.processes.models import Owner, StageTemplate


class Calendar(Protocol):
    """What the rules need of a working-day calendar (``sunshine.calendar.workdays`` itself, or a
    ``WorkCalendar`` loaded once)."""

    def add_working_days(self, start: date, n: int) -> date: ...
    def working_days_in(self, a: date, b: date) -> int: ...
    def touches_provisional(self, a: date, b: date) -> bool: ...


class Stage(Protocol):
    """One round of one stage: a ``StageInstance`` or the generator's plain record."""

    template: StageTemplate
    seq: int
    code: str
    round: int
    owner: str
    status: str
    time_limit_days: int | None
    started_at: datetime | None
    started_on: date | None
    completed_at: datetime | None
    completed_on: date | None
    paused_working_days: int
    deadline: date | None
    deadline_provisional: bool
    outcome: str | None
    defects: list[str]
    note: str


S = TypeVar("S", bound=Stage)


@dataclass(frozen=True)
class NewStage:
    """The fields of a stage round to create (the caller makes the row or the record)."""

    template: StageTemplate
    seq: int
    code: str
    round: int
    owner: str
    time_limit_days: int | None


def initial_stages(templates: Sequence[StageTemplate]) -> list[NewStage]:
    """The first round of every stage of the process, in order. The limits are copied now: the
    application keeps those in force when it was accepted, even if the template is edited later."""
    return [
        NewStage(
            template=t,
            seq=i,
            code=t.code,
            round=1,
            owner=t.owner,
            time_limit_days=t.time_limit_days if t.owner == Owner.UTILITY else None,
        )
        for i, t in enumerate(templates, start=1)
    ]


def project(stage: Stage, cal: Calendar) -> None:
    """Store the deadline of a started utility stage from its finished pauses (a running pause is
    added on read, by ``clock.stage_clock``), and whether it rests on a provisional calendar."""
    if stage.time_limit_days is None or stage.started_on is None:
        stage.deadline = None
        stage.deadline_provisional = False
        return
    stage.deadline = deadline_on(cal, stage.started_on, stage.time_limit_days, stage.paused_working_days)
    stage.deadline_provisional = cal.touches_provisional(stage.started_on, stage.deadline)


def start(stage: Stage, at: datetime, today: date, cal: Calendar) -> None:
    """The stage starts now; a utility stage gets its limit (if not copied yet) and deadline."""
    stage.status = StageStatus.IN_PROGRESS
    stage.started_at = at
    stage.started_on = today
    if stage.owner == Owner.UTILITY:
        if stage.time_limit_days is None:  # instances made before limits were copied at intake
            stage.time_limit_days = stage.template.time_limit_days
        project(stage, cal)


def complete(stage: Stage, at: datetime, today: date, *, outcome: str | None, defects: list[str], note: str) -> None:
    """The stage is done; only a review or inspection keeps an outcome."""
    stage.status = StageStatus.COMPLETED
    stage.completed_at, stage.completed_on = at, today
    stage.outcome = outcome if stage.template.has_outcome else None
    stage.defects = defects
    stage.note = note


def sends_back(stage: Stage) -> bool:
    """A failed review or inspection sends the case back (``send_back``) instead of advancing."""
    return stage.outcome == Outcome.FAILED


def next_pending(stages: Sequence[S], done: Stage) -> S | None:
    """The stage that starts after ``done`` (completed or skipped); None: the application is complete."""
    for s in stages:
        if s.seq > done.seq and s.status == StageStatus.PENDING:
            return s
    return None


def send_back(
    templates: Sequence[StageTemplate], stages: Sequence[Stage], failed: Stage
) -> tuple[NewStage, NewStage] | None:
    """After a failed review or inspection: a new round of the preceding customer stage (it
    starts now), then a new round of the failed stage, right after the failed one on the
    timeline (the stages after it move two places down). None: the process has no customer
    stage before it to return to."""
    before = [t for t in templates if t.position < failed.template.position and t.owner == Owner.CUSTOMER]
    if not before:
        return None
    back_to = before[-1]
    back_round = 1 + max(s.round for s in stages if s.code == back_to.code)
    back = NewStage(
        template=back_to,
        seq=failed.seq + 1,
        code=back_to.code,
        round=back_round,
        owner=back_to.owner,
        time_limit_days=None,
    )
    again = NewStage(
        template=failed.template,
        seq=failed.seq + 2,
        code=failed.code,
        round=failed.round + 1,
        owner=failed.owner,
        time_limit_days=failed.time_limit_days,
    )
    return back, again


def skip(stage: Stage, at: datetime, today: date, reason: str) -> bool:
    """Skip an optional stage (pending or running); True when it was running (then the next starts)."""
    was_current = stage.status == StageStatus.IN_PROGRESS
    stage.status = StageStatus.SKIPPED
    stage.completed_at, stage.completed_on = at, today
    stage.note = reason
    return was_current


def pause_days(cal: Calendar, started_on: date, ended_on: date) -> int:
    """Working days a pause covers: those in (start, end]."""
    return cal.working_days_in(started_on, ended_on)


def resume(stage: Stage, days: int, cal: Calendar) -> None:
    """A pause of ``days`` working days ended: the stage runs again, its deadline that much later."""
    stage.status = StageStatus.IN_PROGRESS
    stage.paused_working_days += days
    project(stage, cal)
