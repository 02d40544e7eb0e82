"""Process templates: the nodes and working-day limits of each customer category, as data.

A template is versioned with an effective date and a source note; an application keeps the
version that was in force on the day it was accepted.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    LV_RESIDENTIAL = "lv_residential", _("low-voltage residential")
    LV_NON_RESIDENTIAL = "lv_non_residential", _("low-voltage non-residential")
    HV_SINGLE = "hv_single", _("high-voltage single supply")
    HV_DUAL = "hv_dual", _("high-voltage dual supply")


class Owner(models.TextChoices):
    UTILITY = "utility", _("utility")
    CUSTOMER = "customer", _("customer")


class ProcessTemplate(models.Model):
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    version = models.PositiveIntegerField(_("version"))
    effective_from = models.DateField(_("effective from"))
    source_note = models.CharField(_("source"), max_length=300)
    # End-to-end limit in working days (low voltage); None where each node is judged alone.
    end_to_end_limit_days = models.PositiveSmallIntegerField(_("end-to-end limit"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["category", "-effective_from", "-version"]
        constraints = [models.UniqueConstraint(fields=["category", "version"], name="process_version_unique")]
        verbose_name = _("process template")
        verbose_name_plural = _("process templates")

    def __str__(self) -> str:
        return f"{self.get_category_display()} v{self.version} ({self.effective_from})"


class StageTemplate(models.Model):
    process = models.ForeignKey(
        ProcessTemplate, verbose_name=_("process template"), on_delete=models.CASCADE, related_name="stages"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("Chinese name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=60)
    owner = models.CharField(_("owner"), max_length=10, choices=Owner.choices)
    # Working days; None for customer-owned stages (not counted against the utility).
    time_limit_days = models.PositiveSmallIntegerField(_("time limit (working days)"), null=True, blank=True)
    optional = models.BooleanField(_("optional"), default=False)
    has_outcome = models.BooleanField(_("review or inspection (passed/failed)"), default=False)
    # Staff roles that may complete or skip this stage (the admin may always).
    actor_roles = models.JSONField(_("roles that act"), default=list)

    class Meta:
        ordering = ["process", "position"]
        constraints = [
            models.UniqueConstraint(fields=["process", "code"], name="stage_code_unique"),
            models.UniqueConstraint(fields=["process", "position"], name="stage_position_unique"),
        ]
        verbose_name = _("stage template")
        verbose_name_plural = _("stage templates")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"
