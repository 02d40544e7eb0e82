"""State changes of the directory that touch an application: charges and contractor choices.

Each function runs in one transaction, locks the application row first and writes its event
through ``sunshine.applications.events.record`` in the same transaction. Permission
checks happen in the delivery layer (``sunshine.applications.access``) before these are called.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Status
from sunshine.directory import rules, selectors
from sunshine.directory.models import (
    Charge,
    ChargeBasis,
    ChoiceChannel,
    Contractor,
    ContractorChoice,
    ContractorKind,
)
from sunshine.errors import Conflict, DomainError, NotFound, ValidationFailed


class NotInCatalogue(DomainError):
    """The fee is not an item of the catalogue in force: it may not be charged."""

    status = 422
    code = "charge_not_in_catalogue"


class NotQualified(DomainError):
    """The unit is not a qualified, active, unexpired contractor of that kind."""

    status = 422
    code = "contractor_not_qualified"


def _lock(number: str) -> Application:
    try:
        return Application.objects.select_for_update().get(number=number)
    except Application.DoesNotExist:
        raise NotFound(_("No application with this number."), "application_not_found") from None


def _quantity(value: object, field: str) -> Decimal:
    try:
        return rules.to_decimal(value)
    except rules.BadAmount:
        raise ValidationFailed({field: [_("Enter a number.")]}) from None


def record_charge(
    number: str,
    item_code: str,
    actor: User | None,
    *,
    quantity: object = None,
    amount: object = None,
) -> Charge:
    """Record a fee on an application. Only an item of the catalogue in force today can be
    charged, at the catalogue's amount (a fixed item) or rate × ``quantity`` (a per-unit item);
    an ``amount`` given by the caller must equal that. Anything else is refused, nothing written.
    """
    qty = None if quantity in (None, "") else _quantity(quantity, "quantity")
    given = None if amount in (None, "") else _quantity(amount, "amount")
    with transaction.atomic():
        app = _lock(number)
        if app.status == Status.CANCELLED:
            raise Conflict(_("This application has been cancelled."), "application_closed")
        now = timezone.now()
        schedule = selectors.schedule_in_force(timezone.localdate(now))
        item = schedule.items.filter(code=item_code).first() if schedule else None
        if schedule is None or item is None:
            raise NotInCatalogue(
                _(
                    "“%(code)s” is not in the fee catalogue in force; only published fees may be charged."
                    " Abolished charges must be refused."
                )
                % {"code": item_code}
            )
        if item.basis == ChargeBasis.PER_UNIT:
            if qty is None:
                raise ValidationFailed({"quantity": [_("Give the quantity in %(unit)s.") % {"unit": item.unit}]})
            try:
                due = rules.per_unit_amount(item.amount, qty)
            except rules.BadAmount:
                raise ValidationFailed({"quantity": [_("The quantity must be positive and plausible.")]}) from None
        else:
            if qty is not None:
                raise ValidationFailed({"quantity": [_("This fee is a fixed amount; give no quantity.")]})
            due = item.amount
        if given is not None and given != due:
            raise NotInCatalogue(
                _("The amount %(given)s differs from the catalogue amount %(due)s.") % {"given": given, "due": due},
                "charge_amount_mismatch",
            )
        charge = Charge.objects.create(
            application=app, fee_item=item, quantity=qty, amount=due, recorded_by=actor, recorded_at=now
        )
        ev.record(
            [
                ev.new(
                    app,
                    EventType.CHARGE_RECORDED,
                    now,
                    actor,
                    code=item.code,
                    name=item.name_zh,
                    quantity=None if qty is None else str(qty),
                    unit=item.unit,
                    amount=str(due),
                    schedule_version=schedule.version,
                )
            ]
        )
    return charge


def record_contractor_choice(
    number: str,
    kind: str,
    contractor_id: int,
    actor: User | None,
    *,
    suggested_by_staff: bool | None = None,
    channel: str = ChoiceChannel.API,
) -> ContractorChoice:
    """Record which unit the customer chose for ``kind`` of work (one per kind per application).

    Only an active unit of that kind whose licence has not expired today can be recorded. A new
    choice replaces the earlier one, and the event names both; the same unit with the same answer
    again changes nothing. The choice is counted for the customer manager holding the case now
    (``manager``), whoever holds it later. ``suggested_by_staff``: the customer's answer (None:
    not asked); ``channel``: where it was recorded (portal, staff, api).
    """
    if kind not in ContractorKind.values:
        raise ValidationFailed(
            {"kind": [_("Choose one of: %(allowed)s.") % {"allowed": ", ".join(ContractorKind.values)}]}
        )
    if channel not in ChoiceChannel.values:
        raise ValueError(f"unknown channel {channel!r}")
    with transaction.atomic():
        app = _lock(number)
        if app.status == Status.CANCELLED:
            raise Conflict(_("This application has been cancelled."), "application_closed")
        now = timezone.now()
        today = timezone.localdate(now)
        contractor = (
            selectors.qualified_contractors_qs(today).filter(pk=contractor_id, kind=kind).first()
            if isinstance(contractor_id, int)
            else None
        )
        if contractor is None:
            raise NotQualified(
                _("This unit is not a qualified %(kind)s with a valid licence.") % {"kind": ContractorKind(kind).label}
            )
        existing = ContractorChoice.objects.filter(application=app, kind=kind).select_related("contractor").first()
        if (
            existing is not None
            and existing.contractor_id == contractor.pk
            and (suggested_by_staff is None or existing.suggested_by_staff == suggested_by_staff)
        ):
            return existing
        replaced: Contractor | None = (
            existing.contractor if existing is not None and existing.contractor_id != contractor.pk else None
        )
        holder = app.customer_manager_id
        if existing is None:
            choice = ContractorChoice.objects.create(
                application=app,
                kind=kind,
                contractor=contractor,
                recorded_by=actor,
                recorded_at=now,
                manager_id=holder,
                suggested_by_staff=suggested_by_staff,
                channel=channel,
            )
        else:
            choice = existing
            choice.contractor, choice.recorded_by, choice.recorded_at = contractor, actor, now
            choice.manager_id, choice.suggested_by_staff, choice.channel = holder, suggested_by_staff, channel
            choice.save(
                update_fields=["contractor", "recorded_by", "recorded_at", "manager", "suggested_by_staff", "channel"]
            )
        manager = app.customer_manager.username if app.customer_manager is not None else None
        ev.record(
            [
                ev.new(
                    app,
                    EventType.CONTRACTOR_CHOSEN,
                    now,
                    actor,
                    kind=kind,
                    contractor=contractor.name,
                    credit_code=contractor.credit_code,
                    replaced=replaced.name if replaced else None,
                    suggested_by_staff=suggested_by_staff,
                    channel=channel,
                    manager=manager,
                )
            ]
        )
    return choice
