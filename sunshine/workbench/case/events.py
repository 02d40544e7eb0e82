"""Event log lines in words: who did what, from the append-only event table."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sunshine.applications.models import Event, Outcome, PauseReason

LABELS = {
    "intake": gettext_lazy("Application accepted"),
    "stage_started": gettext_lazy("Stage started"),
    "stage_completed": gettext_lazy("Stage completed"),
    "stage_skipped": gettext_lazy("Stage marked not required"),
    "paused": gettext_lazy("Paused"),
    "resumed": gettext_lazy("Resumed"),
    "completed": gettext_lazy("Application completed (connected)"),
    "cancelled": gettext_lazy("Application cancelled"),
    "reassigned": gettext_lazy("Customer manager changed"),
    "calendar_reprojected": gettext_lazy("Deadline moved by a calendar change"),
    "pii_viewed": gettext_lazy("Personal data shown in full"),
    "document_uploaded": gettext_lazy("Document uploaded"),
    "document_received": gettext_lazy("Document received (paper copy)"),
    "document_waived": gettext_lazy("Document waived"),
    "warning": gettext_lazy("Deadline warning"),
    "overdue": gettext_lazy("Overdue"),
    "escalation": gettext_lazy("Escalated"),
    "supervision_started": gettext_lazy("Leader took charge (挂牌督办)"),
    "supervision_note": gettext_lazy("Supervision note"),
    "supervision_ended": gettext_lazy("Leader supervision ended"),
    "notification_queued": gettext_lazy("Notification queued"),
    "notification_sent": gettext_lazy("Notification sent"),
}
FIELD_LABELS = {"id_number": gettext_lazy("ID number"), "phone": gettext_lazy("phone")}


def actor_name(e: Event) -> str:
    if e.actor is None:
        return _("system")
    return e.actor.display_name


def detail(e: Event) -> str:
    """The event's particulars in one line ('' when there is nothing to add)."""
    d: dict[str, Any] = e.data or {}
    t = e.type
    if t == "stage_completed":
        parts = []
        if d.get("outcome"):
            parts.append(str(Outcome(d["outcome"]).label) if d["outcome"] in Outcome.values else str(d["outcome"]))
        if d.get("defects"):
            parts.append(_("defects: %(list)s") % {"list": "；".join(d["defects"])})
        if d.get("note"):
            parts.append(str(d["note"]))
        return " · ".join(parts)
    if t == "stage_started":
        parts = []
        if d.get("deadline"):
            parts.append(_("deadline %(date)s") % {"date": d["deadline"]})
        if d.get("returned_from"):
            parts.append(_("returned to the customer after a failed review"))
        return " · ".join(parts)
    if t == "paused":
        code = d.get("reason_code", "")
        label = str(PauseReason(code).label) if code in PauseReason.values else code
        return f"{label}：{d.get('reason', '')}"
    if t == "resumed":
        return _("%(n)s working days paused; deadline %(date)s") % {
            "n": d.get("paused_working_days", 0),
            "date": d.get("deadline") or "-",
        }
    if t in ("stage_skipped", "cancelled"):
        return str(d.get("reason", ""))
    if t == "reassigned":
        return _("from %(old)s to %(new)s: %(reason)s") % {
            "old": d.get("from") or "-",
            "new": d.get("to") or "-",
            "reason": d.get("reason", ""),
        }
    if t == "calendar_reprojected":
        return _("%(old)s → %(new)s: %(reason)s") % {
            "old": d.get("from") or "-",
            "new": d.get("to") or "-",
            "reason": d.get("reason", ""),
        }
    if t == "supervision_started":
        return _("target %(date)s: %(reason)s") % {"date": d.get("target_date", "-"), "reason": d.get("reason", "")}
    if t == "pii_viewed":
        return str(FIELD_LABELS.get(d.get("field", ""), d.get("field", "")))
    if t in ("document_uploaded", "document_received"):
        return str(d.get("name", ""))
    if t == "document_waived":
        return f"{d.get('name', '')}：{d.get('reason', '')}"
    return ""


def label(e: Event) -> str:
    return str(LABELS.get(e.type, e.type))
