"""The scheduler's lease and its per-slot claims."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Lease(models.Model):
    """Who may schedule: one row per lease name; the holder renews ``expires_at`` with a
    conditional UPDATE and another process takes the lease over only after it expired."""

    name = models.CharField(_("name"), max_length=40, primary_key=True)
    holder = models.CharField(_("holder"), max_length=100)
    expires_at = models.DateTimeField(_("expires at"))
    acquired_at = models.DateTimeField(_("acquired at"))

    class Meta:
        verbose_name = _("scheduler lease")
        verbose_name_plural = _("scheduler leases")

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class PeriodicRun(models.Model):
    """One row per periodic job per cron slot: the unique pair makes each slot enqueue once, even
    when a lease changes hands at that very moment."""

    name = models.CharField(_("job"), max_length=80)
    slot = models.DateTimeField(_("scheduled slot"))
    holder = models.CharField(_("holder"), max_length=100)
    task_result_id = models.CharField(_("task ID"), max_length=64, blank=True)
    enqueued_at = models.DateTimeField(_("enqueued at"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="periodic_run_slot_unique")]
        indexes = [models.Index(fields=["-enqueued_at"], name="periodic_run_recent")]
        verbose_name = _("periodic run")
        verbose_name_plural = _("periodic runs")

    def __str__(self) -> str:
        return f"{self.name}@{self.slot:%Y-%m-%d %H:%M}"


class TaskRetry(models.Model):
    """An administrator re-ran a failed task: the unique original makes a double click retry once."""

    original_id = models.CharField(_("original task ID"), max_length=64, unique=True)
    new_id = models.CharField(_("new task ID"), max_length=64)
    actor = models.ForeignKey(
        "accounts.User", verbose_name=_("actor"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("task retry")
        verbose_name_plural = _("task retries")

    def __str__(self) -> str:
        return f"{self.original_id} → {self.new_id}"
