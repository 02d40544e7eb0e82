"""``{% load deadlines %}`` ``{% deadline_badges row %}``: the clock badges of a stage or a queue row.

``row`` may be a ``selectors.StageRow`` (timeline), a ``selectors.list_rows`` dict (queues), or
any object/dict with ``deadline``, ``status`` and optionally ``paused``, ``deadline_provisional``
and ``completed``. ``{% deadline_badges row today=some_date %}`` overrides today (tests, reports).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from sunshine.applications.badges import Badge, deadline_badges
from sunshine.calendar import workdays

register = template.Library()

_DONE = {"completed", "skipped", "cancelled"}


def _get(row: Any, name: str, default: Any = None) -> Any:
    if isinstance(row, dict):
        return row.get(name, default)
    return getattr(row, name, default)


def badges_for(row: Any, today: date | None = None) -> list[Badge]:
    """The badges of ``row`` as of ``today`` (default: the local date)."""
    from sunshine.applications.selectors import StageRow

    today = today or timezone.localdate()
    cal = workdays.current()
    if isinstance(row, StageRow):
        s = row.stage
        utility = s.owner == "utility"
        deadline = row.clock.deadline if utility else None
        provisional = bool(deadline and s.started_on and workdays.touches_provisional(s.started_on, deadline))
        return deadline_badges(
            cal,
            deadline=deadline,
            today=today,
            paused=s.status == "paused",
            provisional=provisional or bool(deadline and s.deadline_provisional),
            completed=s.status in _DONE or s.started_on is None,
        )
    status = _get(row, "status")
    deadline = _get(row, "current_deadline", _get(row, "deadline"))
    paused = bool(_get(row, "paused", status == "paused"))
    completed = bool(_get(row, "completed", status in _DONE))
    return deadline_badges(
        cal,
        deadline=deadline,
        today=today,
        paused=paused,
        provisional=bool(_get(row, "deadline_provisional")),
        completed=completed,
    )


@register.simple_tag
def deadline_badges_list(row: Any, today: date | None = None) -> list[Badge]:
    """``{% deadline_badges_list row as badges %}`` for pages that lay the badges out themselves."""
    return badges_for(row, today)


@register.simple_tag(name="deadline_badges")
def render_deadline_badges(row: Any, today: date | None = None) -> str:
    return format_html_join(" ", '<span class="{}">{}</span>', ((b.css, b.text) for b in badges_for(row, today)))


@register.filter
def badge_html(badge: Badge) -> str:
    return format_html('<span class="{}">{}</span>', badge.css, badge.text)
