"""Turn domain reads into what the public pages show, in plain words (no rules here)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sunshine.applications.models import Application, BusinessType, CapacityUnit, IdType
from sunshine.processes.models import Category, ProcessTemplate


def _en() -> bool:
    return (get_language() or "").startswith("en")


def promise(p: ProcessTemplate) -> dict[str, Any]:
    """A category's published process: its nodes and working-day limits, from the template."""
    stages = [
        {
            "name": s.name_en if _en() else s.name_zh,
            "customer": s.owner == "customer",
            "limit": s.time_limit_days,
            "optional": s.optional,
        }
        for s in p.stages.all()
    ]
    return {
        "category": p.category,
        "label": p.get_category_display(),
        "end_to_end": p.end_to_end_limit_days,
        "utility_days": sum(s["limit"] or 0 for s in stages if not s["customer"] and not s["optional"]),
        "stages": stages,
        "effective_from": p.effective_from,
        "source": p.source_note,
    }


def apply_choices() -> dict[str, list[tuple[str, Any]]]:
    return {
        "id_type": [
            (IdType.RESIDENT_ID, _("Individual (resident ID card)")),
            (IdType.USCC, _("Enterprise or organisation (unified social credit code)")),
        ],
        "business_type": [(v, str(label)) for v, label in BusinessType.choices],
        "capacity_unit": list(CapacityUnit.choices),
        "category": [(v, str(label)) for v, label in Category.choices],
    }


def pause_reason_text(code: str) -> str:
    """A pause reason as a customer understands it."""
    return {
        "missing_documents": _(
            "Waiting for documents from you. The clock stops until they arrive; this time does not count against us."
        ),
        "customer_request": _("You asked us to wait. The clock stops until you tell us to go on."),
        "government_approval": _(
            "Waiting for a government approval (e.g. a road-digging permit). The clock stops meanwhile."
        ),
        "force_majeure": _("Stopped by force majeure (e.g. severe weather or a disaster). The clock stops meanwhile."),
    }.get(code, _("Paused"))


def _badges(stage: dict[str, Any]) -> list[tuple[str, str]]:
    if stage["owner"] == "customer":
        if stage["status"] in ("in_progress", "paused"):
            return [("paused", _("Your turn: no time limit for us"))]
        return []
    if stage["status"] == "skipped":
        return [("done", _("Not required"))]
    if stage["status"] == "pending":
        return []
    out: list[tuple[str, str]] = []
    if stage["status"] == "completed":
        out.append(("ok", _("On time")) if stage["on_time"] else ("overdue", _("Overdue")))
    else:
        out.append(("overdue", _("Overdue")) if stage["overdue"] else ("ok", _("On time")))
        if stage["status"] == "paused":
            out.append(("paused", _("Paused")))
    if stage["deadline_provisional"] and stage["status"] != "completed":
        out.append(("provisional", _("Date may move: next year's holidays not yet announced")))
    return out


def _node_class(stage: dict[str, Any]) -> str:
    if stage["status"] in ("completed", "skipped"):
        return "done" if stage["on_time"] is not False else "done late"
    if stage["status"] in ("in_progress", "paused"):
        return "current late" if stage["overdue"] else "current"
    return "pending"


def nodes(progress: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in progress["stages"]:
        out.append(
            {
                **s,
                "css": _node_class(s),
                "badges": _badges(s),
                "status_text": _stage_status_text(s),
                "pauses": [{**p, "plain": pause_reason_text(p["reason_code"])} for p in s["pause_reasons"]],
            }
        )
    return out


def _stage_status_text(s: dict[str, Any]) -> str:
    return {
        "pending": _("Not started"),
        "in_progress": _("In progress"),
        "paused": _("Paused"),
        "completed": _("Done") if s["outcome"] != "failed" else _("Not passed: fixes needed"),
        "skipped": _("Not required"),
    }.get(s["status"], s["status"])


def manager_card(app: Application) -> dict[str, Any] | None:
    m = app.customer_manager
    if m is None:
        return None
    from sunshine.evaluation.selectors import latest_public_ratings

    rating = latest_public_ratings().get(m.username)
    return {"name": m.display_name, "phone": m.work_phone, "rating": f"{rating:.1f}" if rating is not None else None}


def next_steps(progress: dict[str, Any]) -> list[dict[str, Any]]:
    """The first utility stages ahead with their limits; the running one with its deadline."""
    out = []
    for s in progress["stages"]:
        if s["status"] in ("completed", "skipped"):
            continue
        out.append(
            {
                "name": s["name"],
                "deadline": s["deadline"],
                "limit": s["time_limit_days"],
                "customer": s["owner"] == "customer",
            }
        )
        if len(out) == 3:
            break
    return out


def _notice(app: Application) -> list[str]:
    """The documents still to bring (the one-time notice)."""
    from sunshine.documents.services import missing_documents

    return list(missing_documents(app))


def progress_page(app: Application, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """The page's context; ``progress`` is ``public_progress(app)`` when the caller has it (kept
    per version by the look-up: read-only)."""
    from sunshine.applications.selectors import public_progress

    if progress is None:
        progress = public_progress(app)
    timeline = nodes(progress)
    # Defects still to fix: a failed review or inspection not yet followed by a passed round.
    passed_after = {(n["code"], n["round"]) for n in timeline if n["outcome"] == "passed"}
    defects = [
        {"stage": n["name"], "round": n["round"], "defects": n["defects"]}
        for n in timeline
        if n["outcome"] == "failed"
        and n["defects"]
        and not any(code == n["code"] and rnd > n["round"] for code, rnd in passed_after)
    ]
    return {
        "progress": progress,
        "nodes": timeline,
        "defects": defects,
        "documents": _notice(app),
        "manager": manager_card(app),
        "contestable": any(n["pause_reasons"] for n in timeline),
    }
