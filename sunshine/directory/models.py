"""The fee catalogue (规范收费) and the qualified contractors (三不指定).

Fees: a ``FeeSchedule`` is one published version of the catalogue with the date from which it
applies; the catalogue in force on a date is the schedule with the latest ``effective_from`` not
after that date. Charges recorded on an application (``Charge``) may only name an item of the
catalogue in force on the day they are recorded (``services.record_charge``).

Contractors: design units, construction units (承装（修、试）电力设施许可证) and equipment
suppliers that customers may choose freely. The company designates none; a customer's choice is
recorded (``ContractorChoice``) so that concentration on a few units can be watched.
There is deliberately no rank, weight or "recommended" field: the public order is neutral
(see ``selectors.neutral_order``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FeeSchedule(models.Model):
    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    effective_from = models.DateField(_("effective from"))
    # The pricing authority's document that publishes these fees (e.g. the provincial notice).
    published_reference = models.CharField(_("published reference"), max_length=300)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-effective_from", "-version"]
        verbose_name = _("fee schedule")
        verbose_name_plural = _("fee schedules")

    def __str__(self) -> str:
        return f"v{self.version} {self.title} ({self.effective_from})"


class ChargeBasis(models.TextChoices):
    FIXED = "fixed", _("fixed amount")
    PER_UNIT = "per_unit", _("rate per unit")


class VoltageLevel(models.TextChoices):
    LV = "0.4kV", _("0.4 kV (low voltage)")
    KV10 = "10kV", "10 kV"
    KV20 = "20kV", "20 kV"
    KV35 = "35kV", "35 kV"
    KV110 = "110kV", "110 kV"
    KV220 = "220kV", "220 kV"


class FeeItem(models.Model):
    schedule = models.ForeignKey(
        FeeSchedule, verbose_name=_("fee schedule"), on_delete=models.CASCADE, related_name="items"
    )
    # Stable code across versions (e.g. ``high_reliability_10kv``): charges name it.
    code = models.SlugField(_("code"), max_length=60)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=120)
    legal_basis = models.CharField(_("legal basis"), max_length=300)
    basis = models.CharField(_("charged as"), max_length=10, choices=ChargeBasis.choices)
    # A fixed amount in yuan, or the rate in yuan per ``unit``.
    amount = models.DecimalField(_("amount or rate (yuan)"), max_digits=12, decimal_places=2)
    unit = models.CharField(_("unit"), max_length=20, blank=True, help_text=_("e.g. kVA for a rate per kVA"))
    voltage_level = models.CharField(_("voltage level"), max_length=8, choices=VoltageLevel.choices, blank=True)
    # Items of the same group form one fee with rates by voltage level (e.g. high_reliability).
    group = models.SlugField(_("group"), max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["schedule", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["schedule", "code"], name="fee_item_code_unique")]
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"


class AbolishedCharge(models.Model):
    """A charge customers should refuse, with the document that abolished it."""

    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    abolished_by = models.CharField(_("abolished by"), max_length=300)
    abolished_on = models.DateField(_("abolished on"), null=True, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("abolished charge")
        verbose_name_plural = _("abolished charges")

    def __str__(self) -> str:
        return self.name_zh


class Charge(models.Model):
    """A fee recorded on an application; always an item of the catalogue in force that day."""

    application = models.ForeignKey(
        "applications.Application", verbose_name=_("application"), on_delete=models.CASCADE, related_name="charges"
    )
    fee_item = models.ForeignKey(FeeItem, verbose_name=_("fee item"), on_delete=models.PROTECT, related_name="charges")
    # The units charged for a per-unit item (e.g. kVA); None for a fixed amount.
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=2, null=True, blank=True)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["application", "recorded_at", "id"]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")

    def __str__(self) -> str:
        return f"{self.application_id}:{self.fee_item_id} {self.amount}"


class ContractorKind(models.TextChoices):
    DESIGN = "design", _("design unit")
    CONSTRUCTION = "construction", _("construction unit")
    SUPPLY = "supply", _("equipment and material supplier")


class LicenceClass(models.TextChoices):
    # 承装（修、试）电力设施许可证, levels one (highest) to five
    IMS_1 = "ims_1", _("installation, repair and testing licence, class 1")
    IMS_2 = "ims_2", _("installation, repair and testing licence, class 2")
    IMS_3 = "ims_3", _("installation, repair and testing licence, class 3")
    IMS_4 = "ims_4", _("installation, repair and testing licence, class 4")
    IMS_5 = "ims_5", _("installation, repair and testing licence, class 5")
    # 工程设计资质（电力行业）
    DESIGN_A = "design_a", _("power engineering design qualification, grade A")
    DESIGN_B = "design_b", _("power engineering design qualification, grade B")
    DESIGN_C = "design_c", _("power engineering design qualification, grade C")
    # Suppliers need a business licence only (and product certificates)
    BUSINESS = "business", _("business licence")


class Contractor(models.Model):
    kind = models.CharField(_("kind"), max_length=12, choices=ContractorKind.choices)
    name = models.CharField(_("name"), max_length=120)
    # Pinyin and initials of the name (pypinyin), for search; rules.search_key(name), set by the admin and seeds.
    name_pinyin = models.CharField(_("name in pinyin"), max_length=400, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    licence_class = models.CharField(_("licence class"), max_length=10, choices=LicenceClass.choices)
    licence_number = models.CharField(_("licence number"), max_length=60, blank=True)
    # None: no expiring licence (suppliers). An expired licence is never listed publicly.
    licence_expires_on = models.DateField(_("licence expires on"), null=True, blank=True)
    contact_phone = models.CharField(_("company phone"), max_length=20)
    area_served = models.CharField(_("area served"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "name_pinyin"]
        indexes = [models.Index(fields=["kind", "active"], name="contractor_kind_active")]
        verbose_name = _("qualified contractor")
        verbose_name_plural = _("qualified contractors")

    def __str__(self) -> str:
        return self.name


class ChoiceChannel(models.TextChoices):
    PORTAL = "portal", _("the customer on the portal")
    STAFF = "staff", _("staff on the case page")
    API = "api", _("the API")


class ContractorChoice(models.Model):
    """The unit a customer chose for one kind of work on one application (one per kind).

    ``manager`` is the customer manager holding the case when the choice was recorded: the
    concentration monitor counts the choice for them, and a later reassignment does not move it
    (as ``StageInstance.manager``). ``suggested_by_staff`` is the customer's answer to "did you
    choose it yourself or did staff suggest it" (None: not asked, e.g. through the API); True
    opens a steering case (``sunshine.feedback.services.record_choice``).
    """

    application = models.ForeignKey(
        "applications.Application",
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="contractor_choices",
    )
    kind = models.CharField(_("kind"), max_length=12, choices=ContractorKind.choices)
    contractor = models.ForeignKey(
        Contractor, verbose_name=_("contractor"), on_delete=models.PROTECT, related_name="choices"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager holding the case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    suggested_by_staff = models.BooleanField(_("suggested by staff"), null=True, blank=True)
    channel = models.CharField(
        _("recorded through"), max_length=8, choices=ChoiceChannel.choices, default=ChoiceChannel.API
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"], name="contractor_choice_one_per_kind"),
        ]
        indexes = [
            # serves the concentration monitor: choices per contractor over a period
            models.Index(fields=["contractor", "recorded_at"], name="choice_contractor_at"),
        ]
        verbose_name = _("contractor choice")
        verbose_name_plural = _("contractor choices")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.contractor}"

    @property
    def answer(self) -> str:
        """The customer's answer as the forms post it: "staff", "self", or "" (not asked)."""
        if self.suggested_by_staff is None:
            return ""
        return "staff" if self.suggested_by_staff else "self"
