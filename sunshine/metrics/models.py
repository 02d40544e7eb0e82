"""Promise-keeping statistics (监管公开/测评公开) kept as small aggregate tables.

Pages and the API read only ``DailyStat`` and ``OpenSnapshot`` (a few hundred rows per month),
never the applications. ``services.refresh`` keeps them current from the event log:

- ``ApplicationFact`` / ``StageFact``: one row per application / per completed utility stage
  instance, with the numbers the statistics need already computed (working days, calendar days,
  on time). Recomputed for every application that has new events; idempotent.
- ``DailyStat``: per day × category × stage ("" = the whole application) the counts, sums and
  a histogram of durations (for medians), rebuilt from the facts for the days that changed.
- ``UnitDailyStat``: the same as ``DailyStat`` per company unit as well (the application's own
  unit, a leaf or not); a unit's figures are the sum over its subtree (issue 19). Filled by the
  same refresh; an installation upgraded from before it runs ``refresh_statistics --full`` once.
- ``OpenSnapshot``: per day × category × stage the work still open past its limit at the time
  of the refresh on that day (FERC Order 845 style "pending past the deadline"); the whole
  company only (no unit).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplicationFact(models.Model):
    application = models.OneToOneField(
        "applications.Application",
        verbose_name=_("application"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    category = models.CharField(_("category"), max_length=24)
    # The application's unit when the fact was computed (None: computed before units counted).
    unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    accepted_on = models.DateField(_("accepted on"), db_index=True)
    # Set once the application is completed (connected); None while open or when cancelled.
    completed_on = models.DateField(_("completed on"), null=True, blank=True, db_index=True)
    utility_working_days = models.PositiveIntegerField(_("utility working days"), null=True, blank=True)
    calendar_days = models.PositiveIntegerField(_("calendar days"), null=True, blank=True)
    on_time = models.BooleanField(_("on time"), null=True, blank=True)

    class Meta:
        verbose_name = _("application fact")
        verbose_name_plural = _("application facts")

    def __str__(self) -> str:
        return f"{self.application_id} {self.accepted_on}–{self.completed_on or ''}"


class StageFact(models.Model):
    """A completed (not skipped) utility stage instance: what the per-node rates count."""

    stage = models.OneToOneField(
        "applications.StageInstance",
        verbose_name=_("application stage"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    application = models.ForeignKey(
        "applications.Application", verbose_name=_("application"), on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(_("category"), max_length=24)
    unit = models.ForeignKey(
        "accounts.Unit",
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    code = models.CharField(_("code"), max_length=40)
    completed_on = models.DateField(_("completed on"), db_index=True)
    working_days = models.PositiveIntegerField(_("working days"))
    on_time = models.BooleanField(_("on time"))

    class Meta:
        verbose_name = _("stage fact")
        verbose_name_plural = _("stage facts")

    def __str__(self) -> str:
        return f"{self.stage_id} {self.code} {self.completed_on}"


class DailyStat(models.Model):
    day = models.DateField(_("day"))
    category = models.CharField(_("category"), max_length=24)
    # "" for the application as a whole, else a stage code.
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    accepted = models.PositiveIntegerField(_("accepted count"), default=0)
    completed = models.PositiveIntegerField(_("completed count"), default=0)
    on_time = models.PositiveIntegerField(_("on-time count"), default=0)
    late = models.PositiveIntegerField(_("late count"), default=0)
    working_days_sum = models.PositiveIntegerField(_("working days (sum)"), default=0)
    calendar_days_sum = models.PositiveIntegerField(_("calendar days (sum)"), default=0)
    # {"<days>": count} of the completions of the day: medians over any range merge these.
    working_days_hist = models.JSONField(_("working days (distribution)"), default=dict)
    calendar_days_hist = models.JSONField(_("calendar days (distribution)"), default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "category", "stage"], name="daily_stat_unique")]
        verbose_name = _("daily statistics")
        verbose_name_plural = _("daily statistics")

    def __str__(self) -> str:
        return f"{self.day} {self.category} {self.stage or '*'}"


class UnitDailyStat(models.Model):
    """``DailyStat`` of the applications whose own unit is ``unit`` (not its subtree)."""

    day = models.DateField(_("day"))
    unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    category = models.CharField(_("category"), max_length=24)
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    accepted = models.PositiveIntegerField(_("accepted count"), default=0)
    completed = models.PositiveIntegerField(_("completed count"), default=0)
    on_time = models.PositiveIntegerField(_("on-time count"), default=0)
    late = models.PositiveIntegerField(_("late count"), default=0)
    working_days_sum = models.PositiveIntegerField(_("working days (sum)"), default=0)
    calendar_days_sum = models.PositiveIntegerField(_("calendar days (sum)"), default=0)
    working_days_hist = models.JSONField(_("working days (distribution)"), default=dict)
    calendar_days_hist = models.JSONField(_("calendar days (distribution)"), default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "category", "stage"], name="unit_daily_stat_unique")
        ]
        verbose_name = _("daily statistics per unit")
        verbose_name_plural = _("daily statistics per unit")

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.category} {self.stage or '*'}"


class OpenSnapshot(models.Model):
    day = models.DateField(_("day"))
    category = models.CharField(_("category"), max_length=24)
    stage = models.CharField(_("stage"), max_length=40, blank=True)
    open_past_limit = models.PositiveIntegerField(_("open past the limit"), default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "category", "stage"], name="open_snapshot_unique")]
        verbose_name = _("open work snapshot")
        verbose_name_plural = _("open work snapshots")

    def __str__(self) -> str:
        return f"{self.day} {self.category} {self.stage or '*'}: {self.open_past_limit}"


class RefreshMark(models.Model):
    """How far the event log has been folded into the facts (one row, name "statistics")."""

    name = models.CharField(_("name"), max_length=40, unique=True)
    last_event_id = models.BigIntegerField(_("last event ID"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresh mark")
        verbose_name_plural = _("refresh marks")

    def __str__(self) -> str:
        return f"{self.name} #{self.last_event_id}"
