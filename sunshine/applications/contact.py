"""Correcting a customer's contact (更正客户联系方式): the only way a customer's stored name or
phone changes after the first intake (a later intake never rewrites them: docs/security.md).

A staff member who may act on the case (its own customer manager, a clerk, a leader, an
administrator: ``access.require_role``) corrects the name and/or phone of the customer and of
this application's contact; the ``contact_corrected`` event records who, when, which fields and
why, and at most the last 4 digits of the new phone, never the full number.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import Role, User
from sunshine.applications import access
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application, Customer
from sunshine.applications.validation import normalise_phone
from sunshine.errors import ValidationFailed

CONTACT_ROLES: set[str] = {Role.ADMIN, Role.CLERK, Role.CUSTOMER_MANAGER, Role.LEADER}
NAME_MAX = 100
REASON_MAX = 500


def may_correct(user: User, app: Application) -> bool:
    if user.role not in CONTACT_ROLES:
        return False
    return user.role != Role.CUSTOMER_MANAGER or app.customer_manager_id == user.pk


def correct_contact(number: str, actor: User, *, name: str = "", phone: str = "", reason: str) -> Application:
    """Set the customer's (and this application's) name and/or phone; a blank one is kept.
    ``Forbidden`` for who may not, ``ValidationFailed`` (nothing written) for a bad phone, no
    reason, or nothing that differs from what is stored."""
    name, phone, reason = (name or "").strip(), (phone or "").strip(), (reason or "").strip()
    errors: dict[str, list[str]] = {}
    new_phone = ""
    if phone:
        new_phone = normalise_phone(phone) or ""
        if not new_phone:
            errors["phone"] = [_("Enter an 11-digit mainland mobile number starting with 1.")]
    if len(name) > NAME_MAX:
        errors["name"] = [_("The name is too long (100 characters at most).")]
    if not reason:
        errors["reason"] = [_("Give the reason for the correction.")]
    elif len(reason) > REASON_MAX:
        errors["reason"] = [_("Too long: %(n)s characters at most.") % {"n": REASON_MAX}]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        app = Application.objects.select_for_update(of=("self",)).get(number=number)
        access.require_role(actor, CONTACT_ROLES, app)
        customer = Customer.objects.select_for_update().get(pk=app.customer_id)
        fields = []
        if name and (name != customer.name or name != app.customer_name):
            fields.append("name")
            customer.name = app.customer_name = name
        if new_phone and (new_phone != customer.phone or new_phone != app.contact_phone):
            fields.append("phone")
            customer.phone = app.contact_phone = new_phone
        if not fields:
            raise ValidationFailed({"__all__": [_("Nothing to correct: the name and phone are already these.")]})
        customer.save(update_fields=["name", "phone"])
        app.save(update_fields=["customer_name", "contact_phone", "contact_phone_index"])
        data: dict[str, Any] = {"fields": fields, "reason": reason}
        if "phone" in fields:
            data["phone_tail"] = new_phone[-4:]
        ev.record([ev.new(app, EventType.CONTACT_CORRECTED, timezone.now(), actor, **data)])
    return app
