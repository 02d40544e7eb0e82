"""Staff accounts, roles, company units, service areas and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("administrator")
    CLERK = "clerk", _("clerk")
    CUSTOMER_MANAGER = "customer_manager", _("customer manager")
    ENGINEER = "engineer", _("engineer")
    LEADER = "leader", _("leader")
    AUDITOR = "auditor", _("auditor")


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("provincial company")
    CITY = "city", _("city company")
    COUNTY = "county", _("county or district company")
    STATION = "station", _("supply station")
    HALL = "hall", _("service hall")


def max_unit_depth() -> int:
    """How deep the tree of units may go (``SUNSHINE_UNIT_DEPTH``; province → city → county →
    station is 4)."""
    return int(getattr(settings, "SUNSHINE_UNIT_DEPTH", 5))


class Unit(models.Model):
    """One company unit: the province, a city, a county or district, a supply station or a hall.

    ``path`` is the codes from the root down, each followed by ``/`` (``/sx/ty/jinyuan/``): "this
    unit and everything below" is ``path LIKE '/sx/ty/%'``, one range of the path index (a pattern
    index on PostgreSQL). It is kept by ``save()``; moving a unit rewrites its subtree's paths in
    one UPDATE. Edit units in the admin (every change is a ``UnitChange``) or through
    ``sunshine.accounts.services.save_unit``.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=12, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    path = models.CharField(_("path"), max_length=400, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=1, editable=False)
    # Published on the public pages of this unit (hotline; a hall's or station's address).
    hotline = models.CharField(_("hotline"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        ordering = ["path"]
        indexes = [
            # "a unit and everything below": path LIKE 'prefix%' uses it on PostgreSQL whatever the
            # database's collation (the unique index above serves equality only there).
            models.Index(fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        """Keep ``path`` and ``depth``; a moved or renamed unit moves its subtree with it."""
        old = self.path
        self.path = self.computed_path()
        self.depth = self.parent.depth + 1 if self.parent is not None else 1
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        if old and old != self.path:
            shift = self.depth - old.count("/") + 1
            Unit.objects.filter(path__startswith=old).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old) + 1), output_field=models.CharField()),
                depth=F("depth") + shift,
            )

    def computed_path(self) -> str:
        return (self.parent.path if self.parent is not None else "/") + self.code + "/"

    def clean(self) -> None:
        super().clean()
        if self.parent is None:
            return
        if self.pk is not None and self.parent.path.startswith(self.path or "\0"):
            raise ValidationError({"parent": _("A unit cannot be placed under itself or a unit below it.")})
        below = 0
        if self.pk is not None and self.path:
            deepest = Unit.objects.filter(path__startswith=self.path).aggregate(m=models.Max("depth"))["m"]
            below = int(deepest or self.depth) - self.depth
        if self.parent.depth + 1 + below > max_unit_depth():
            raise ValidationError(
                {"parent": _("Units may be at most %(depth)s levels deep.") % {"depth": max_unit_depth()}}
            )

    def contains(self, other_path: str) -> bool:
        """Whether the unit with ``other_path`` is this one or below it."""
        return other_path.startswith(self.path)


def default_unit_id() -> int | None:
    """The top of the tree (the first unit without a parent): where a new staff member or service
    area is placed unless told otherwise, and where an application goes that no area matches.
    A single-company installation has just this one unit (migration ``accounts.0006``)."""
    return Unit.objects.filter(parent__isnull=True).order_by("id").values_list("id", flat=True).first()


class UnitChange(models.Model):
    """The audit trail of the tree: who created, changed or deleted a unit, and what it was."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        CHANGED = "changed", _("changed")
        DELETED = "deleted", _("deleted")

    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes", verbose_name=_("unit")
    )
    code = models.CharField(_("code"), max_length=40)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("by")
    )
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("unit change")
        verbose_name_plural = _("unit changes")

    def __str__(self) -> str:
        return f"{self.code} {self.action} {self.at:%Y-%m-%d %H:%M}"


class ServiceArea(models.Model):
    """A district the company serves; an address belongs to the first area whose keyword it contains."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    keywords = models.CharField(_("address keywords"), max_length=300, help_text=_("comma-separated, e.g. 晋源区,晋祠"))
    # Where an application matched to this area belongs (Application.unit); the top unit when
    # none is given.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="areas", verbose_name=_("unit"))
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

    def save(self, *args: object, **kwargs: object) -> None:
        if self.unit_id is None:
            self.unit_id = default_unit_id()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

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
    # What the person sees and acts on: this unit and every unit below it (access.py). A new
    # account created without one is placed in the top unit (save); an account whose unit is
    # cleared sees no application.
    unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("unit"),
        help_text=_("The person sees and acts on this unit's applications and those of the units below it."),
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def save(self, *args: object, **kwargs: object) -> None:
        if self._state.adding and self.unit_id is None:
            self.unit_id = default_unit_id()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

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
