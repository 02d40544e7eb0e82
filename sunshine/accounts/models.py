"""Staff accounts, roles, service areas and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    CLERK = "clerk", _("clerk")
    CUSTOMER_MANAGER = "customer_manager", _("customer manager")
    ENGINEER = "engineer", _("engineer")
    LEADER = "leader", _("leader")
    AUDITOR = "auditor", _("auditor")


class ServiceArea(models.Model):
    """A district the company serves; an address belongs to the first area whose keyword it contains."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    keywords = models.CharField(_("address keywords"), max_length=300, help_text=_("comma-separated, e.g. 晋源区,晋祠"))
    # The second rung of the escalation ladder (after the customer manager); see sunshine.supervision.
    team_lead = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_areas",
        verbose_name=_("team lead"),
        help_text=_("hears about overdue work in this area before the leaders do"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")

    def __str__(self) -> str:
        return self.name

    def keyword_list(self) -> list[str]:
        return [k.strip() for k in self.keywords.replace("，", ",").split(",") if k.strip()]


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    # Published to customers (receipts, SMS, the progress page): an office number.
    work_phone = models.CharField(_("work phone"), max_length=20, blank=True)
    # Private: where the person's own warnings go by SMS. Never shown to customers or on any page
    # but the administrator's; staff SMS never go to the published work phone.
    mobile_phone = models.CharField(
        _("mobile phone (private)"),
        max_length=20,
        blank=True,
        help_text=_("Warnings and notices to this person go here by SMS; never shown to customers."),
    )
    # Customer managers only: who takes new applications, and where.
    accepts_assignments = models.BooleanField(_("accepts new applications"), default=True)
    serves_all_areas = models.BooleanField(_("serves every area"), default=False)
    areas = models.ManyToManyField(ServiceArea, blank=True, related_name="managers", verbose_name=_("areas"))

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    @property
    def display_name(self) -> str:
        """The one way a staff member's name is written: 姓 then 名, no space (刘主任, 李明);
        the username when both are empty. Templates use ``|person`` (sunshine.design)."""
        return ((self.last_name or "") + (self.first_name or "")).strip() or self.username

    def get_full_name(self) -> str:
        # Django's default is "first last" with a space, the Western order ("主任 刘").
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the raw value is shown once at issue."""

    user = models.ForeignKey(User, verbose_name=_("staff member"), on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(_("token hash (SHA-256)"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token of {self.user_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def new_raw() -> str:
        return secrets.token_urlsafe(32)
