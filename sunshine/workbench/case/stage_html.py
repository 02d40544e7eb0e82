"""One stage of the application page's timeline as HTML, written in Python as the event lines are
(``events.render_lines``): what ``_application_body.html`` rendered per stage through ≈ 20
``{% if %}`` nodes, tags and filters, byte for byte (the translations as Django's tags give them,
every value escaped, the dates as the ``date`` filter writes them, in local time). A first view
has one per stage; tests compare it with the template it replaces."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.html import conditional_escape as escape
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext, gettext_noop, ngettext

from sunshine.applications.models import StageStatus
from sunshine.applications.templatetags.deadlines import render_deadline_badges

if TYPE_CHECKING:
    from sunshine.workbench.case.page import TimelineEntry

_NL8 = "\n        "
_NL10 = "\n          "


# The fixed labels (``{% translate "…" %}`` in the template this replaced): translated and escaped
# once per language, as ``case_i18n`` keeps the page's other fixed labels.
_FIXED = (
    gettext_noop("customer side, not counted"),
    gettext_noop("on time"),
    gettext_noop("late"),
    gettext_noop("Started"),
    gettext_noop("Time limit"),
    gettext_noop("Deadline"),
    gettext_noop("Marked not required"),
    gettext_noop("Completed"),
    gettext_noop("Working days used"),
    gettext_noop("Outcome"),
    gettext_noop("Defects (one-time notice to the customer)"),
    gettext_noop("still paused"),
    gettext_noop("How the deadline was computed"),
)
_FIXED_DONE: dict[str | None, dict[str, str]] = {}
# choice labels (``get_…_display()``, escaped) per language, model, field and value
_CHOICES: dict[tuple[str | None, type, str, str], str] = {}


def _fixed() -> dict[str, str]:
    lang = get_language()
    done = _FIXED_DONE.get(lang)
    if done is None:
        done = _FIXED_DONE[lang] = {m: escape(gettext(m)) for m in _FIXED}
    return done


def _display(obj: Any, name: str) -> str:
    """``{{ obj.get_<name>_display }}``"""
    key = (get_language(), type(obj), name, getattr(obj, name))
    found = _CHOICES.get(key)
    if found is None:
        found = _CHOICES[key] = escape(getattr(obj, f"get_{name}_display")())
    return found


def _local(at: datetime) -> datetime:
    return timezone.localtime(at) if timezone.is_aware(at) else at


def _minute(at: datetime) -> str:
    """``at|date:"Y-m-d H:i"``"""
    return _local(at).strftime("%Y-%m-%d %H:%M")


def _day(d: date | datetime) -> str:
    """``d|date:"Y-m-d"``"""
    return (_local(d) if isinstance(d, datetime) else d).strftime("%Y-%m-%d")


def render(t: TimelineEntry, app_open: bool) -> SafeString:
    """``<li …>…</li>`` of one stage (``t``) of the timeline."""
    s, c, row = t.stage, t.clock, t.row
    fixed = _fixed()
    chinese = (get_language() or "").startswith("zh")
    code, rnd = escape(s.code), s.round
    out = [
        f'<li class="{escape(t.css)}" id="stage-{code}-{rnd}" data-stage="{code}" data-round="{rnd}">',
        f'{_NL8}<div class="stage-title">',
        f"{_NL10}<strong>{escape(row.name)}</strong>",
        _NL10,
    ]
    if rnd > 1:
        out.append(f'<span class="tag">{gettext("round %(n)s") % {"n": rnd}}</span>')
    out.append(_NL10)
    if not t.utility:
        out.append(f'<span class="tag tag-customer">{fixed["customer side, not counted"]}</span>')
    out.append(f'{_NL10}<span class="stage-status">{_display(s, "status")}</span>{_NL10}')
    if app_open:
        out.append(f'<span class="stage-badges">{render_deadline_badges(row)}</span>')
    out.append(_NL10)
    if c.on_time is True:
        out.append(f'<span class="badge badge-ok">{fixed["on time"]}</span>')
    elif c.on_time is False:
        out.append(f'<span class="badge badge-overdue">{fixed["late"]}</span>')
    out.append(f'{_NL8}</div>{_NL8}<dl class="stage-facts">{_NL10}')
    if s.started_at:
        out.append(f"<div><dt>{fixed['Started']}</dt><dd>{_minute(s.started_at)}</dd></div>")
    out.append(_NL10)
    if t.utility and s.time_limit_days is not None:
        n = s.time_limit_days
        days = ngettext("%(n)s working day", "%(n)s working days", n) % {"n": n}
        out.append(f"<div><dt>{fixed['Time limit']}</dt><dd>{days}</dd></div>")
    out.append(_NL10)
    if c.deadline and s.status != StageStatus.SKIPPED:
        out.append(f'<div><dt>{fixed["Deadline"]}</dt><dd class="stage-deadline">{_day(c.deadline)}</dd></div>')
    out.append(_NL10)
    if s.completed_at:
        done = fixed["Marked not required"] if s.status == StageStatus.SKIPPED else fixed["Completed"]
        out.append(f"<div><dt>{done}</dt><dd>{_minute(s.completed_at)}</dd></div>")
    out.append(_NL10)
    if s.started_at:
        paused = ""
        if c.paused_working_days:
            p = gettext("%(p)s paused") % {"p": c.paused_working_days}
            paused = f"（{p}）" if chinese else f" ({p})"
        used = f"{c.working_days_used}{paused}"
        out.append(f'<div><dt>{fixed["Working days used"]}</dt><dd class="stage-used">{used}</dd></div>')
    out.append(_NL10)
    if s.outcome:
        out.append(
            f'<div><dt>{fixed["Outcome"]}</dt><dd class="stage-outcome outcome-{escape(s.outcome)}">'
            f"{_display(s, 'outcome')}</dd></div>"
        )
    out.append(f"{_NL8}</dl>{_NL8}")
    if s.defects:
        items = "".join(f"<li>{escape(d)}</li>" for d in s.defects)
        title = fixed["Defects (one-time notice to the customer)"]
        out.append(f'{_NL8}<div class="defects"><p><strong>{title}</strong></p>{_NL10}<ol>{items}</ol></div>{_NL8}')
    out.append(_NL8)
    if s.note:
        out.append(f'<p class="stage-note">{escape(s.note)}</p>')
    out.append(_NL8)
    if row.pauses:
        out.append(f'{_NL8}<ul class="pauses">{_NL10}')
        for pause in row.pauses:
            if pause.ended_at:
                n = pause.working_days or 0  # set when a pause ends
                end = _day(pause.ended_at) + ngettext(" (%(n)s working day)", " (%(n)s working days)", n) % {"n": n}
            else:
                end = fixed["still paused"]
            out.append(
                f'{_NL10}<li><span class="badge badge-paused">{_display(pause, "reason_code")}</span> '
                f"{escape(pause.reason)}\n            · {_day(pause.started_at)} – {end}</li>{_NL10}"
            )
        out.append(f"{_NL8}</ul>{_NL8}")
    out.append(_NL8)
    if t.steps:
        opened = " open" if t.css != "done" else ""
        days = "".join(f'<li class="day-{escape(x.kind)}">{escape(x.text)}</li>' for x in t.steps)
        summary = fixed["How the deadline was computed"]
        out.append(
            f'{_NL8}<details class="explain"{opened}>{_NL10}<summary>{summary}</summary>'
            f'{_NL10}<ol class="explain-days">\n            {days}{_NL10}</ol>{_NL8}</details>{_NL8}'
        )
    out.append(_NL8)
    if t.events:
        lines = "".join(e.stage_line for e in t.events)  # type: ignore[attr-defined]
        out.append(f'{_NL8}<ul class="stage-events">{_NL10}{lines}{_NL8}</ul>{_NL8}')
    out.append("\n      </li>")
    return SafeString("".join(out))
