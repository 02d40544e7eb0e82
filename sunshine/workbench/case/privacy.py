"""Masked personal data on the case page, and who may unmask it.

The customer's ID number and phone are shown masked (1101**********0021, 138****8000). Only
the case's own customer manager, a leader, an auditor and an administrator may reveal the full
value, and every reveal is logged on the application as a ``pii_viewed`` event (who, when,
which field) in the same transaction that returns the value.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from sunshine.accounts.models import Role, User
from sunshine.applications import events as ev
from sunshine.applications.events import EventType
from sunshine.applications.models import Application
from sunshine.errors import Forbidden, NotFound

# Roles that may reveal any case they can see; a customer manager only their own cases
# (access_application already refuses them the others). Clerks and engineers see masked values.
PII_ROLES = {Role.ADMIN, Role.LEADER, Role.AUDITOR, Role.CUSTOMER_MANAGER}
FIELDS = ("id_number", "phone")


def mask(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id(value: str) -> str:
    """1101**********0021 for an 18-character ID or credit code."""
    return mask(value, 4, 4)


def mask_phone(value: str) -> str:
    """138****8000."""
    return mask(value, 3, 4)


def masked(app: Application) -> dict[str, str]:
    return {"id_number": mask_id(app.customer.id_number), "phone": mask_phone(app.contact_phone)}


def may_reveal(user: User, app: Application) -> bool:
    if user.role == Role.CUSTOMER_MANAGER:
        return app.customer_manager_id == user.pk
    return user.role in PII_ROLES


def reveal(user: User, app: Application, field: str) -> str:
    """The full value of ``field``; logs ``pii_viewed``. Forbidden for roles not allowed."""
    if field not in FIELDS:
        raise NotFound(_("No such field."), "field_not_found")
    if not may_reveal(user, app):
        raise Forbidden(_("Your role may not see the full personal data."))
    value = app.customer.id_number if field == "id_number" else app.contact_phone
    with transaction.atomic():
        ev.record([ev.new(app, EventType.PII_VIEWED, timezone.now(), user, field=field)])
    return value
