"""Stored rung moments (the sweep's work list) and leader supervision (领导挂牌督办)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sunshine.applications.models import Application, StageInstance


class RungMoment(models.Model):
    """When one rung of the ladder fires for one stage instance.

    One row per (stage, rung); ``fired_at`` is set by the sweep that claimed it, exactly once.
    Unfired rows move when the deadline moves (resume, calendar re-projection) and disappear
    while the stage is paused or once it is finished.
    """

    stage = models.ForeignKey(
        StageInstance, verbose_name=_("application stage"), on_delete=models.CASCADE, related_name="rung_moments"
    )
    rung_code = models.CharField(_("rung"), max_length=20)
    due_at = models.DateTimeField(_("due at"))
    # The deadline the moment was computed from (shown on the deadline-supervision page).
    deadline = models.DateField(_("deadline"))
    fired_at = models.DateTimeField(_("fired at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stage", "rung_code"], name="rung_moment_stage_rung_unique")]
        indexes = [
            # serves the sweep: only the rows still to fire, by moment
            models.Index(fields=["due_at"], name="rung_moment_unfired_due", condition=Q(fired_at__isnull=True)),
            models.Index(fields=["fired_at"], name="rung_moment_fired", condition=Q(fired_at__isnull=False)),
        ]
        verbose_name = _("rung moment")
        verbose_name_plural = _("rung moments")

    def __str__(self) -> str:
        from sunshine.supervision.rungs import LABELS

        return f"{LABELS.get(self.rung_code, self.rung_code)} {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"


class LeaderSupervision(models.Model):
    """A leader formally in charge of one (key) project; one active supervision per application."""

    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="leader_supervisions"
    )
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="supervisions", verbose_name=_("leader")
    )
    reason = models.CharField(_("reason"), max_length=500)
    target_date = models.DateField(_("target date"))
    started_at = models.DateTimeField(_("taken in charge at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    end_note = models.CharField(_("closing note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(ended_at__isnull=True),
                name="one_active_supervision_per_application",
            )
        ]
        indexes = [models.Index(fields=["leader", "ended_at"], name="supervision_leader_active")]
        verbose_name = _("leader supervision")
        verbose_name_plural = _("leader supervisions")

    def __str__(self) -> str:
        return f"{self.application_id} ← {self.leader_id}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class NoteKind(models.TextChoices):
    NOTE = "note", _("supervision note")
    REVIEW = "review", _("progress review")


class SupervisionNote(models.Model):
    """A supervision note or a dated progress review of one supervision."""

    supervision = models.ForeignKey(
        LeaderSupervision, verbose_name=_("leader supervision"), on_delete=models.CASCADE, related_name="notes"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=NoteKind.choices)
    text = models.TextField(_("text"))
    # For a progress review: the day the progress was reviewed (may be earlier than today).
    reviewed_on = models.DateField(_("reviewed on"), null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("written at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("supervision note")
        verbose_name_plural = _("supervision notes")

    def __str__(self) -> str:
        return f"{self.kind}@{self.at:%Y-%m-%d}"
