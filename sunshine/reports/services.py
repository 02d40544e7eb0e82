"""State changes of reports: generate (periodic and ad hoc), regenerate with a reason, publish.

Generation computes the sections (``sections.Computer``), writes the .xlsx and .pdf under
``MEDIA_ROOT/reports/`` and stores the snapshot; from then on the row is frozen. Each change
writes a ``ReportEvent`` in the same transaction.
"""

from __future__ import annotations

import calendar as pycalendar
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts import units
from sunshine.accounts.models import Role, Unit, User
from sunshine.dbrouters import replica_reads
from sunshine.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sunshine.notifications.services import notify_staff
from sunshine.processes.models import Category
from sunshine.reports.models import Kind, Report, ReportEvent, ReportStatus
from sunshine.reports.sections import PERSONAL, Computer

log = logging.getLogger(__name__)

MAX_ADHOC_DAYS = 366 * 3


def half_month_of(day: date) -> tuple[date, date]:
    """The half-month containing ``day``: 1st–15th or 16th–end of month."""
    if day.day <= 15:
        return day.replace(day=1), day.replace(day=15)
    last = pycalendar.monthrange(day.year, day.month)[1]
    return day.replace(day=16), day.replace(day=last)


def period_from_start(start: date) -> tuple[date, date]:
    if start.day not in (1, 16):
        raise ValidationFailed({"period": [_("A half-month starts on the 1st or the 16th.")]})
    return half_month_of(start)


def title_of(report: Report) -> str:
    """The report's title; a half-month of a unit below the top starts with the unit's name."""
    s, e = report.period_start, report.period_end
    if report.kind == Kind.HALF_MONTH:
        half = "上半月" if s.day == 1 else "下半月"
        code = (report.filters or {}).get("unit")
        node = units.tree().by_code(str(code)) if code else None
        prefix = node.name if node is not None else ""
        return f"{prefix}{s.year}年{s.month}月{half}业扩报装工作半月报（{s:%m-%d}至{e:%m-%d}）"
    return f"业扩报装专项报表（{s:%Y-%m-%d}至{e:%Y-%m-%d}）"


def _event(report: Report, type_: str, actor: User | None, **data: Any) -> None:
    ReportEvent.objects.create(report=report, type=type_, at=timezone.now(), actor=actor, data=data)


def _relative(path: Path) -> str:
    return str(path.relative_to(Path(settings.MEDIA_ROOT)))


def file_path(report: Report, fmt: str) -> Path | None:
    rel = report.xlsx_file if fmt == "xlsx" else report.pdf_file if fmt == "pdf" else ""
    return Path(settings.MEDIA_ROOT) / rel if rel else None


def _build(report: Report, actor: User | None) -> Report:
    """Compute, write the files and store the snapshot of a pending ``report`` (not in a transaction:
    the progress updates must be visible to the page polling it)."""
    from sunshine.reports import pdf, xlsx

    Report.objects.filter(pk=report.pk).update(status=ReportStatus.RUNNING, progress=1)

    def progress(pct: int) -> None:
        Report.objects.filter(pk=report.pk).update(progress=min(max(pct * 9 // 10, 1), 90))

    try:
        computer = Computer(report.period_start, report.period_end, report.filters)
        with replica_reads():  # reads only; a replica seconds behind changes no report figure that matters
            data = computer.compute(progress)
        data["meta"].update(
            {
                "title": title_of(report),
                "kind": report.kind,
                "version": report.version,
                "reason": report.reason,
                "generated_at": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
                "report_id": report.pk,
            }
        )
        report.data = data
        folder = Path(settings.MEDIA_ROOT) / "reports" / f"{report.period_start:%Y}"
        folder.mkdir(parents=True, exist_ok=True)
        stem = (
            f"half-month-{report.period_start:%Y-%m-%d}-v{report.version}"
            if report.kind == Kind.HALF_MONTH
            else f"adhoc-{report.pk}-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}"
        )
        xlsx_path = xlsx.write(data, folder / f"{stem}.xlsx")
        Report.objects.filter(pk=report.pk).update(progress=95)
        pdf_path = pdf.write(data, folder / f"{stem}.pdf")
    except Exception as exc:
        log.exception("report %s failed", report.pk)
        # "ExceptionClass: message": the class chooses the Chinese reason shown to people
        # (selectors.failure_reason), the message stays for whoever fixes it.
        error = f"{type(exc).__name__}: {exc}"[:2000]
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.FAILED, error=error)
        report.refresh_from_db()
        return report
    with transaction.atomic():
        locked = Report.objects.select_for_update().get(pk=report.pk)
        locked.data = data
        locked.xlsx_file = _relative(xlsx_path)
        locked.pdf_file = _relative(pdf_path)
        locked.status = ReportStatus.DONE
        locked.progress = 100
        locked.generated_at = timezone.now()
        locked.save(update_fields=["data", "xlsx_file", "pdf_file", "status", "progress", "generated_at"])
        _event(locked, "generated", actor, version=locked.version, reason=locked.reason)
    return locked


def _unit_id(unit: Unit | int | None) -> int:
    """The unit a half-month report is of: ``unit`` or the top one."""
    tree = units.tree()
    unit_id = unit.pk if isinstance(unit, Unit) else unit
    if unit_id is None:
        unit_id = tree.top
    if unit_id is None or unit_id not in tree.nodes:
        raise NotFound(_("No unit with this code."), "unit_not_found")
    return unit_id


def generate_half_month(
    start: date,
    *,
    actor: User | None = None,
    reason: str = "",
    email: bool = True,
    unit: Unit | int | None = None,
) -> tuple[Report, bool]:
    """The half-month report of ``unit`` (the top unit when None) starting on ``start``:
    (report, created). A unit's report covers it and everything below it and ranks the units
    directly below it; the top unit's covers the whole installation.

    Without a reason an existing version is returned as it is (the scheduler and the command may
    run twice); with a reason a new version is made and the old ones stay readable.
    """
    start, end = period_from_start(start)
    reason = (reason or "").strip()
    tree = units.tree()
    unit_id = _unit_id(unit)
    filters = {} if unit_id == tree.top else {"unit": tree.nodes[unit_id].code}
    latest = (
        Report.objects.filter(kind=Kind.HALF_MONTH, unit_id=unit_id, period_start=start, status=ReportStatus.DONE)
        .order_by("-version")
        .first()
    )
    if latest is not None and not reason:
        return latest, False
    for _attempt in range(3):
        try:
            with transaction.atomic():
                top = Report.objects.filter(kind=Kind.HALF_MONTH, unit_id=unit_id, period_start=start).aggregate(
                    v=Max("version")
                )["v"]
                report = Report.objects.create(
                    kind=Kind.HALF_MONTH,
                    unit_id=unit_id,
                    filters=filters,
                    period_start=start,
                    period_end=end,
                    version=(top or 0) + 1,
                    reason=reason,
                    requested_by=actor,
                    created_at=timezone.now(),
                )
                _event(report, "requested", actor, reason=reason)
            break
        except IntegrityError:  # a concurrent generation took the version number
            continue
    else:
        raise Conflict(_("Another generation of this report is running; try again."), "report_busy")
    report = _build(report, actor)
    if report.is_done and email:
        email_leaders(report)
    return report, True


def regenerate(report_id: int, *, actor: User | None, reason: str) -> Report:
    """A new version of a half-month report (the reason is required and recorded)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_("Give the reason for regenerating the report.")]})
    report = Report.objects.filter(pk=report_id, kind=Kind.HALF_MONTH).first()
    if report is None:
        raise NotFound(_("No such report."), "report_not_found")
    new, _created = generate_half_month(report.period_start, actor=actor, reason=reason, unit=report.unit_id)
    return new


def clean_filters(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate ad-hoc filters; raises ValidationFailed with Chinese messages."""
    from sunshine.accounts.models import ServiceArea

    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    category = (raw.get("category") or "").strip()
    if category:
        if category not in Category.values:
            errors["category"] = [_("Unknown category.")]
        out["category"] = category
    area = (raw.get("area") or "").strip()
    if area:
        if not ServiceArea.objects.filter(code=area).exists():
            errors["area"] = [_("Unknown service area.")]
        out["area"] = area
    manager = (raw.get("manager") or "").strip()
    if manager:
        if not User.objects.filter(username=manager, role=Role.CUSTOMER_MANAGER).exists():
            errors["manager"] = [_("No customer manager with this username.")]
        out["manager"] = manager
    unit = (raw.get("unit") or "").strip()
    if unit:
        from sunshine.accounts import units

        if units.tree().by_code(unit) is None:
            errors["unit"] = [_("No unit with this code.")]
        out["unit"] = unit
    key = raw.get("key_project")
    if key in (True, "1", "true", "yes", "on"):
        out["key_project"] = True
    elif key in (False, "0", "false", "no"):
        out["key_project"] = False
    if errors:
        raise ValidationFailed(errors)
    return out


def request_adhoc(start: date, end: date, filters: dict[str, Any], *, actor: User | None) -> Report:
    """Queue an ad-hoc report; the job runs after commit and the page polls its progress."""
    errors: dict[str, list[str]] = {}
    if end < start:
        errors["period_end"] = [_("The end date must not be before the start date.")]
    elif (end - start).days > MAX_ADHOC_DAYS:
        errors["period_end"] = [_("A report covers at most three years.")]
    if end > timezone.localdate() + timedelta(days=366):
        errors["period_end"] = [_("The end date is too far in the future.")]
    if errors:
        raise ValidationFailed(errors)
    filters = clean_filters(filters)
    with transaction.atomic():
        report = Report.objects.create(
            kind=Kind.ADHOC,
            period_start=start,
            period_end=end,
            filters=filters,
            requested_by=actor,
            created_at=timezone.now(),
        )
        _event(report, "requested", actor, filters=filters)
        from sunshine.reports.tasks import build_report

        report_id = report.pk
        transaction.on_commit(lambda: build_report.enqueue(report_id))
    return report


def run_pending(report_id: int) -> Report | None:
    """Build a pending report (the job body). Idempotent: a report already started is left alone."""
    claimed = Report.objects.filter(pk=report_id, status=ReportStatus.PENDING).update(status=ReportStatus.RUNNING)
    if not claimed:
        return Report.objects.filter(pk=report_id).first()
    report = Report.objects.get(pk=report_id)
    return _build(report, report.requested_by)


def publish(report_id: int, *, actor: User, sections: list[str] | None = None) -> Report:
    """Publish the non-personal sections of a finished report to /open-data/ (administrators)."""
    if actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may publish open data."))
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(_("No such report."), "report_not_found")
        if not report.is_done:
            raise Conflict(_("The report is not ready yet."), "report_not_ready")
        available = [s["key"] for s in report.data.get("sections", []) if s["key"] not in PERSONAL and not s["empty"]]
        chosen = [k for k in (sections if sections is not None else available) if k in available]
        if not chosen:
            raise ValidationFailed({"sections": [_("Choose at least one section that has data and names no one.")]})
        report.published_sections = chosen
        report.published_at = timezone.now()
        report.published_by = actor
        report.save(update_fields=["published_sections", "published_at", "published_by"])
        _event(report, "published", actor, sections=chosen)
    return report


def withdraw(report_id: int, *, actor: User) -> Report:
    if actor.role != Role.ADMIN:
        raise Forbidden(_("Only an administrator may publish open data."))
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound(_("No such report."), "report_not_found")
        report.published_sections = []
        report.published_at = None
        report.published_by = None
        report.save(update_fields=["published_sections", "published_at", "published_by"])
        _event(report, "withdrawn", actor)
    return report


def email_leaders(report: Report) -> int:
    """Tell the leaders of the report's unit a report is ready: an in-app/outbox notice when the
    notifications app is there, and an e-mail with the .xlsx and .pdf attached to every one with
    an address (each unit's leaders get their unit's report; with one unit, every leader).
    Returns the number of e-mails sent; failures are logged, never raised (the report stands)."""
    leaders = list(User.objects.filter(role=Role.LEADER, is_active=True, unit_id=_unit_id(report.unit_id)))
    if not leaders:
        return 0
    title = report.data.get("meta", {}).get("title", str(report))
    context = {"title": title, "report_id": report.pk, "url": f"/workbench/reports/{report.pk}/"}
    try:
        with transaction.atomic():
            notify_staff(leaders, "report_ready", context, key=f"report_ready:{report.pk}")
    except Exception:
        log.exception("report_ready notice failed for report %s", report.pk)
    addresses = [u.email for u in leaders if u.email]
    if not addresses or not getattr(settings, "SUNSHINE_REPORTS_EMAIL", True):
        return 0
    from django.core.mail import EmailMessage

    message = EmailMessage(
        subject=title,
        body=f"{title}已生成。\n在线查看：{context['url']}\n附件为 Excel 与 PDF 版本。",
        to=addresses,
    )
    for fmt, mime in (
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("pdf", "application/pdf"),
    ):
        path = file_path(report, fmt)
        if path and path.exists():
            message.attach(path.name, path.read_bytes(), mime)
    try:
        sent = message.send()
    except Exception:
        log.exception("report e-mail failed for report %s", report.pk)
        return 0
    with transaction.atomic():
        _event(report, "emailed", None, to=addresses)
    return sent


def reporting_units() -> list[int]:
    """The units that get their own half-month report besides the top one: those of the kinds
    in ``SUNSHINE_REPORT_UNIT_KINDS`` (cities and counties by default; not halls or stations)."""
    tree = units.tree()
    kinds = set(getattr(settings, "SUNSHINE_REPORT_UNIT_KINDS", ("province", "city", "county")))
    return sorted(n.id for n in tree.nodes.values() if n.kind in kinds and n.id != tree.top)


def generate_due(today: date | None = None) -> Report:
    """The scheduler's job: the half-month that ended yesterday (run at 00:10 on the 1st and 16th),
    the top unit's now and every other reporting unit's as its own job (``reporting_units``)."""
    from sunshine.reports.tasks import generate_unit_report

    today = today or timezone.localdate()
    start, _end = half_month_of(today - timedelta(days=1))
    report, _created = generate_half_month(start)
    for unit_id in reporting_units():
        generate_unit_report.enqueue(unit_id, start.isoformat())
    return report
