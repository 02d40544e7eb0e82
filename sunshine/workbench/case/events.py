"""Event log lines in words: who did what, from the append-only event table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.accounts.models import User
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Event, Outcome, PauseReason
from sunshine.notifications.defaults import DEFAULT_TEMPLATES
from sunshine.notifications.models import ChannelKind
from sunshine.workbench.case import raw

LABELS: dict[str, Any] = {
    EventType.INTAKE: gettext_lazy("Application accepted"),
    EventType.STAGE_STARTED: gettext_lazy("Stage started"),
    EventType.STAGE_COMPLETED: gettext_lazy("Stage completed"),
    EventType.STAGE_SKIPPED: gettext_lazy("Stage marked not required"),
    EventType.PAUSED: gettext_lazy("Paused"),
    EventType.RESUMED: gettext_lazy("Resumed"),
    EventType.COMPLETED: gettext_lazy("Application completed (connected)"),
    EventType.CANCELLED: gettext_lazy("Application cancelled"),
    EventType.REASSIGNED: gettext_lazy("Customer manager changed"),
    EventType.UNIT_MOVED: gettext_lazy("Moved to another unit"),
    EventType.CALENDAR_REPROJECTED: gettext_lazy("Deadline moved by a calendar change"),
    EventType.PII_VIEWED: gettext_lazy("Personal data shown in full"),
    EventType.CONTACT_CORRECTED: gettext_lazy("Customer contact corrected"),
    EventType.DOCUMENT_UPLOADED: gettext_lazy("Document uploaded"),
    EventType.DOCUMENT_RECEIVED: gettext_lazy("Document received (paper copy)"),
    EventType.DOCUMENT_WAIVED: gettext_lazy("Document waived"),
    EventType.WARNING: gettext_lazy("Deadline warning"),
    EventType.OVERDUE: gettext_lazy("Overdue"),
    EventType.ESCALATION: gettext_lazy("Escalated"),
    EventType.SUPERVISION_STARTED: gettext_lazy("Leader took charge (挂牌督办)"),
    EventType.SUPERVISION_NOTE: gettext_lazy("Supervision note"),
    EventType.SUPERVISION_ENDED: gettext_lazy("Leader supervision ended"),
    EventType.NOTIFICATION_SENT: gettext_lazy("Notification sent"),
    EventType.CONTRACTOR_CHOSEN: gettext_lazy("Contractor chosen by the customer"),
    EventType.CASE_OPENED: gettext_lazy("Supervision case opened"),
    EventType.CASE_DECIDED: gettext_lazy("Supervision case decided"),
}
# The shipped title of each message template (what the message was about), without a query.
TEMPLATE_TITLES = {row[0]: row[3] for row in DEFAULT_TEMPLATES}
FIELD_LABELS = {"id_number": gettext_lazy("ID number"), "phone": gettext_lazy("phone")}
CONTACT_FIELD_LABELS = {"name": gettext_lazy("name"), "phone": gettext_lazy("phone")}


def actor_name(e: Event) -> str:
    if e.actor is None:
        return _("system")
    return e.actor.display_name


def detail(e: Event) -> str:
    """The event's particulars in one line ('' when there is nothing to add)."""
    d: dict[str, Any] = e.data or {}
    t = e.type
    if t == EventType.STAGE_COMPLETED:
        parts = []
        if d.get("outcome"):
            parts.append(str(Outcome(d["outcome"]).label) if d["outcome"] in Outcome.values else str(d["outcome"]))
        if d.get("defects"):
            parts.append(_("defects: %(list)s") % {"list": "；".join(d["defects"])})
        if d.get("note"):
            parts.append(str(d["note"]))
        return " · ".join(parts)
    if t == EventType.STAGE_STARTED:
        parts = []
        if d.get("deadline"):
            parts.append(_("deadline %(date)s") % {"date": d["deadline"]})
        if d.get("returned_from"):
            parts.append(_("returned to the customer after a failed review"))
        return " · ".join(parts)
    if t == EventType.PAUSED:
        code = d.get("reason_code", "")
        label = str(PauseReason(code).label) if code in PauseReason.values else code
        return f"{label}：{d.get('reason', '')}"
    if t == EventType.RESUMED:
        return _("%(n)s working days paused; deadline %(date)s") % {
            "n": d.get("paused_working_days", 0),
            "date": d.get("deadline") or "-",
        }
    if t in (EventType.STAGE_SKIPPED, EventType.CANCELLED):
        return str(d.get("reason", ""))
    if t == EventType.REASSIGNED:
        return _("from %(old)s to %(new)s: %(reason)s") % {
            "old": d.get("from") or "-",
            "new": d.get("to") or "-",
            "reason": d.get("reason", ""),
        }
    if t == EventType.UNIT_MOVED:
        return _("from %(old)s to %(new)s: %(reason)s") % {
            "old": d.get("from") or "-",
            "new": d.get("to") or "-",
            "reason": d.get("reason", ""),
        }
    if t == EventType.CALENDAR_REPROJECTED:
        return _("%(old)s → %(new)s: %(reason)s") % {
            "old": d.get("from") or "-",
            "new": d.get("to") or "-",
            "reason": d.get("reason", ""),
        }
    if t == EventType.SUPERVISION_STARTED:
        return _("target %(date)s: %(reason)s") % {"date": d.get("target_date", "-"), "reason": d.get("reason", "")}
    if t == EventType.PII_VIEWED:
        return str(FIELD_LABELS.get(d.get("field", ""), d.get("field", "")))
    if t == EventType.CONTACT_CORRECTED:
        what = "、".join(str(CONTACT_FIELD_LABELS.get(f, f)) for f in d.get("fields", []))
        tail = _("(phone ending %(tail)s)") % {"tail": d["phone_tail"]} if d.get("phone_tail") else ""
        return f"{what}{tail}：{d.get('reason', '')}"
    if t in (EventType.DOCUMENT_UPLOADED, EventType.DOCUMENT_RECEIVED):
        return str(d.get("name", ""))
    if t == EventType.DOCUMENT_WAIVED:
        return f"{d.get('name', '')}：{d.get('reason', '')}"
    if t == EventType.CONTRACTOR_CHOSEN:
        return _contractor_chosen(d)
    if t in (EventType.CASE_OPENED, EventType.CASE_DECIDED):
        return str(d.get("tracking_number", ""))
    if t == EventType.NOTIFICATION_SENT:
        channel = d.get("channel", "")
        how = str(ChannelKind(channel).label) if channel in ChannelKind.values else channel
        template = d.get("template", "")
        return f"{how} {d.get('recipient', '')}：{TEMPLATE_TITLES.get(template, template)}"
    return ""


def _contractor_chosen(d: dict[str, Any]) -> str:
    from sunshine.directory.models import ContractorKind

    kind = d.get("kind", "")
    parts = [f"{ContractorKind(kind).label if kind in ContractorKind.values else kind}：{d.get('contractor', '')}"]
    if d.get("suggested_by_staff") is True:
        parts.append(_("the customer says staff suggested it"))
    elif d.get("suggested_by_staff") is False:
        parts.append(_("the customer chose it"))
    if d.get("replaced"):
        parts.append(_("instead of %(unit)s") % {"unit": d["replaced"]})
    return " · ".join(parts)


def label(e: Event) -> str:
    return str(LABELS.get(e.type, e.type))


def _when(at: datetime) -> tuple[str, str]:
    """``at|date:'c'`` and ``at|date:"Y-m-d H:i"`` as the templates write them (local time)."""
    local = timezone.localtime(at) if timezone.is_aware(at) else at
    return local.isoformat(), local.strftime("%Y-%m-%d %H:%M")


def render_lines(events: Iterable[Event], stage_names: dict[str, str]) -> None:
    """Each event's two lines of the page, in words, worked out once: ``e.stage_line`` (in its
    stage on the timeline) and ``e.log_row`` (the event log's row); ``e.stage_name`` too."""
    round_of = _("round %(n)s")
    for e in events:
        iso, when = _when(e.at)
        who = escape(actor_name(e))
        what = escape(label(e))
        more = detail(e)
        stage_name = stage_names.get(e.stage or "", e.stage or "")
        e.stage_name = stage_name  # type: ignore[attr-defined]
        tail = f" · {escape(more)}" if more else ""
        e.stage_line = SafeString(  # type: ignore[attr-defined]
            f'<li><time datetime="{escape(iso)}">{escape(when)}</time> {who}：{what}{tail}</li>'
        )
        where = ""
        if e.stage:
            rnd = f" {round_of % {'n': e.round}}" if e.round and e.round > 1 else ""
            where = f' <span class="muted">{escape(stage_name)}{rnd}</span>'
        e.log_row = SafeString(  # type: ignore[attr-defined]
            f'<tr data-type="{escape(e.type)}"><td>{escape(when)}</td><td>{who}</td><td>{what}{where}</td>'
            f"<td>{escape(more)}</td></tr>"
        )


# --- the page's events, read without the ORM's compilation ------------------------------------------

_EVENT_FIELDS = ["id", "application_id", "type", "at", "actor_id", "stage", "round", "data"]
ACTOR_FIELDS = ["id", "username", "first_name", "last_name"]  # what display_name reads
_EVENTS_SQL = (
    "SELECT e.id, e.application_id, e.type, e.at, e.actor_id, e.stage, e.round, e.data, "
    "u.id, u.username, u.first_name, u.last_name "
    "FROM applications_event e LEFT JOIN accounts_user u ON u.id = e.actor_id "
    "WHERE e.application_id = %s ORDER BY e.id"
)


def of_application(app: Application) -> list[Event]:
    """``Event.objects.filter(application=app).select_related("actor").order_by("id")`` as one raw
    statement: the events with their actors' names (the fields the page reads; the hashes are left
    deferred)."""
    out = []
    for e, actor in raw.read(_EVENTS_SQL, [app.pk], [(Event, _EVENT_FIELDS, "e"), (User, ACTOR_FIELDS, "u")]):
        assert isinstance(e, Event)
        e.actor = actor  # type: ignore[assignment]
        out.append(e)
    return out
