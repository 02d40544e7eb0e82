"""Customer-manager evaluation (《客户经理考核办法》): the rule in force, and frozen period snapshots."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sunshine.accounts.models import ServiceArea


def default_weights() -> dict[str, int]:
    return {"on_time": 40, "speed": 20, "satisfaction": 30, "volume": 10}


class EvaluationRule(models.Model):
    """Weights and thresholds, effective from a date; the rule in force on a period's last day
    scores that period, and a copy of it is frozen into the snapshot."""

    effective_from = models.DateField(_("effective from"), unique=True)
    # Points per component; they add up to the full score (normally 100).
    weights = models.JSONField(_("weights"), default=default_weights)
    complaint_penalty = models.DecimalField(
        _("points off per upheld complaint"), max_digits=5, decimal_places=2, default=Decimal("5")
    )
    bottom_n = models.PositiveSmallIntegerField(_("bottom places warned"), default=1)
    consecutive_periods = models.PositiveSmallIntegerField(_("consecutive periods before a warning"), default=2)
    min_ranked = models.PositiveSmallIntegerField(_("minimum managers ranked in an area for warnings"), default=3)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("evaluation rule")
        verbose_name_plural = _("evaluation rules")

    def __str__(self) -> str:
        return f"{self.effective_from}"

    def as_dict(self) -> dict[str, object]:
        return {
            "effective_from": self.effective_from.isoformat(),
            "weights": dict(self.weights),
            "complaint_penalty": str(self.complaint_penalty),
            "bottom_n": self.bottom_n,
            "consecutive_periods": self.consecutive_periods,
            "min_ranked": self.min_ranked,
        }


class EvaluationSnapshot(models.Model):
    """One frozen evaluation of one period. Freezing again makes a new version; old ones stay."""

    period = models.CharField(_("period"), max_length=8)  # "2026-10" or "2026-Q4"
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    frozen_at = models.DateTimeField(_("frozen at"))
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("frozen by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    rule = models.JSONField(_("rule as frozen"))

    class Meta:
        ordering = ["-starts_on", "period", "-version"]
        constraints = [models.UniqueConstraint(fields=["period", "version"], name="evaluation_period_version")]
        verbose_name = _("evaluation snapshot")
        verbose_name_plural = _("evaluation snapshots")

    def __str__(self) -> str:
        return f"{self.period} v{self.version}"


class EvaluationResult(models.Model):
    snapshot = models.ForeignKey(
        EvaluationSnapshot, verbose_name=_("evaluation snapshot"), on_delete=models.CASCADE, related_name="results"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("customer manager"), on_delete=models.PROTECT, related_name="+"
    )
    area = models.ForeignKey(
        ServiceArea, verbose_name=_("service area"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    # None when the manager had nothing to score in the period (not ranked).
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True)
    rank = models.PositiveSmallIntegerField(_("rank"), null=True)
    ranked_in_area = models.PositiveSmallIntegerField(_("managers ranked in the area"), default=0)
    veto = models.BooleanField(_("veto"), default=False)
    warning = models.BooleanField(_("elimination warning"), default=False)
    breakdown = models.JSONField(_("score breakdown"), default=dict)

    class Meta:
        ordering = ["snapshot", "area", "rank", "manager__username"]
        constraints = [models.UniqueConstraint(fields=["snapshot", "manager"], name="evaluation_result_once")]
        verbose_name = _("evaluation result")
        verbose_name_plural = _("evaluation results")

    def __str__(self) -> str:
        return f"{self.snapshot_id}:{self.manager_id} {self.score}"
