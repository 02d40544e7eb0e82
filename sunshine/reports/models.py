"""Reports: frozen snapshots of the half-monthly (半月报) and ad-hoc reports.

A report row holds the numbers of every section as JSON (``data``) and the paths of its .xlsx
and .pdf files under ``MEDIA_ROOT/reports/``. Once ``status`` is ``done`` a row is never
changed again except for publishing: reopening shows the stored numbers, regenerating makes a
new version (with a reason) and leaves the old one readable.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind(models.TextChoices):
    HALF_MONTH = "half_month", _("half-monthly report")
    ADHOC = "adhoc", _("ad-hoc report")


class ReportStatus(models.TextChoices):
    # With a context: the bare word "failed" is an inspection result (不通过) elsewhere.
    PENDING = "pending", pgettext_lazy("report status", "waiting")
    RUNNING = "running", pgettext_lazy("report status", "computing")
    DONE = "done", pgettext_lazy("report status", "ready")
    FAILED = "failed", pgettext_lazy("report status", "failed")


class Report(models.Model):
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    # Ad-hoc filters: {"category", "area", "manager", "key_project", "unit"}; a half-monthly
    # report of a unit below the top has {"unit": its code}, the top unit's {} (everything).
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    # Half-monthly reports are stored per unit (issue 19): the unit whose subtree the report
    # covers, with the units directly below it ranked. None: an ad-hoc report (its unit, if any,
    # is in ``filters``).
    unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Half-monthly reports: 1, 2, … per period; ad-hoc reports: always 1.
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReportStatus.choices, default=ReportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.TextField(_("error"), blank=True)
    data = models.JSONField(_("snapshot"), default=dict, blank=True)
    xlsx_file = models.CharField(_("Excel file"), max_length=300, blank=True)  # relative to MEDIA_ROOT
    pdf_file = models.CharField(_("PDF file"), max_length=300, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"))
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    # Open data: the non-personal sections an administrator published (section keys).
    published_sections = models.JSONField(_("published sections"), default=list, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-period_start", "-version", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "period_start", "version"],
                condition=Q(kind="half_month"),
                name="report_half_month_unit_version_unique",
            )
        ]
        indexes = [models.Index(fields=["kind", "period_start"], name="report_kind_period")]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start}–{self.period_end} v{self.version}"

    @property
    def is_done(self) -> bool:
        return self.status == ReportStatus.DONE


class ReportEvent(models.Model):
    """Audit trail of a report: generated, regenerated, published, withdrawn, e-mailed."""

    report = models.ForeignKey(Report, verbose_name=_("report"), on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=30)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["report", "id"]
        verbose_name = _("report event")
        verbose_name_plural = _("report events")

    def __str__(self) -> str:
        return f"{self.type}@{self.at:%Y-%m-%d %H:%M}"
