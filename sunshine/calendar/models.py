"""The working-day calendar: dated exceptions to the Monday-to-Friday week.

The table is the truth. A year with a ``CalendarYear`` row of status ``official`` has been
checked against the State Council notice; any other year is *provisional*: its statutory days
are computed from the law by the ``holidays`` package and its 调休 is unknown.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class YearStatus(models.TextChoices):
    OFFICIAL = "official", _("official (checked against the State Council notice)")
    PROVISIONAL = "provisional", _("provisional (statutory days only, 调休 unknown)")


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("holiday (day off)")
    WORKDAY = "workday", _("adjusted working day (调休)")


class CalendarYear(models.Model):
    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    status = models.CharField(_("status"), max_length=16, choices=YearStatus.choices)
    source = models.CharField(_("source"), max_length=300, help_text=_("e.g. the notice's title and number"))
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return f"{self.year} ({self.get_status_display()})"


class CalendarDay(models.Model):
    """One exception: a holiday (any day of the week) or a working weekend day."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        # The seeded names are English ("National Day"); the catalogues have them in Chinese.
        return f"{self.date} {self.get_kind_display()} {gettext(self.name) if self.name else ''}".rstrip()


class CalendarChange(models.Model):
    """Audit trail of calendar edits: who changed which year, why, and how many deadlines moved.

    Each application whose deadline moved also gets a ``calendar_reprojected`` event; this row
    records the edit itself, even when no deadline moved.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("changed by"),
    )
    reason = models.CharField(_("reason"), max_length=500)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    stages_moved = models.PositiveIntegerField(_("deadlines moved"), default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("calendar change")
        verbose_name_plural = _("calendar changes")

    def __str__(self) -> str:
        return f"{self.year} {self.at:%Y-%m-%d %H:%M} {self.reason}"
