"""Intake validation: pure functions of values, every failing field reported at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext as _

from sunshine.applications.models import BusinessType, CapacityUnit, Channel, IdType
from sunshine.errors import ValidationFailed
from sunshine.processes.models import Category

# Plausible requested capacity per category, in kW or kVA (configuration, not law: the
# supply scheme decides). Low voltage follows domain.md §5 (160 kW for small and micro
# enterprises); a residential connection above 100 kW is almost certainly a typing error.
CAPACITY_RANGE: dict[str, tuple[Decimal, Decimal]] = {
    "lv_residential": (Decimal("0"), Decimal("100")),
    "lv_non_residential": (Decimal("0"), Decimal("160")),
    "hv_single": (Decimal("0"), Decimal("200000")),
    "hv_dual": (Decimal("0"), Decimal("400000")),
}

_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")

# The idempotency key of an intake (IdempotencyRecord.key holds 200 characters). A longer key is
# refused, never cut: two keys sharing their first characters must not replay each other. The
# online application page makes its own key (a uuid4 in hex, 32 characters) and stores it as
# "form:<key>"; it accepts at most 64 characters by the same rule (docs/security.md).
IDEMPOTENCY_KEY_MAX = 200
FORM_IDEMPOTENCY_KEY_MAX = 64


def check_idempotency_key(raw: str, *, field: str, max_len: int = IDEMPOTENCY_KEY_MAX) -> str | None:
    """The key without surrounding blanks, or None when there is none; ``ValidationFailed`` on
    ``field`` when it is longer than ``max_len`` or holds a NUL."""
    key = raw.strip()
    if len(key) > max_len or "\x00" in key:
        raise ValidationFailed({field: [_("Too long: %(n)s characters at most.") % {"n": max_len}]})
    return key or None


# "晋源区1号" is the shortest address a surveyor can find; one or two characters never are.
ADDRESS_MIN_LENGTH = 5


def normalise_phone(raw: str) -> str | None:
    """The 11-digit mobile number, or None when ``raw`` is not a mainland mobile number."""
    phone = re.sub(r"[\s\-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    return phone if _PHONE_RE.match(phone) else None


# domain.md §7. Implemented here rather than with ``stdnum.cn``: stdnum also rejects a resident
# ID whose region code its county table does not know (or knew only in other years), and a
# USCC whose first 8 characters are not digits (e.g. the N-codes of rural collectives); both
# would turn away real customers that 一证受理 must accept.
_RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RIC_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def resident_id_check_character(first17: str) -> str:
    return _RIC_CHECK[sum(int(c) * w for c, w in zip(first17, _RIC_WEIGHTS, strict=True)) % 11]


def uscc_check_character(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check_resident_id(raw: str, today: date) -> tuple[str | None, str | None]:
    """(normalised number, None) or (None, message)."""
    number = (raw or "").strip().upper()
    if len(number) != 18:
        return None, _("A resident ID number has 18 characters.")
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in _RIC_CHECK:
        return None, _("This resident ID number is not valid: check the digits and the last character.")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None, _("The birth date in this resident ID number (positions 7-14) is not a real date.")
    if birth > today:
        return None, _("The birth date in this resident ID number is in the future.")
    if number[17] != resident_id_check_character(number[:17]):
        return None, _("This resident ID number is not valid: check the digits and the last character.")
    return number, None


def check_uscc(raw: str) -> tuple[str | None, str | None]:
    number = (raw or "").strip().upper()
    if len(number) != 18:
        return None, _("A unified social credit code has 18 characters.")
    if any(c not in _USCC_ALPHABET for c in number) or number[17] != uscc_check_character(number[:17]):
        return None, _("This unified social credit code is not valid: check the characters and the last one.")
    return number, None


@dataclass(frozen=True)
class IntakeData:
    category: str
    business_type: str
    channel: str
    customer_name: str
    id_type: str
    id_number: str
    phone: str
    address: str
    requested_capacity: Decimal
    capacity_unit: str
    key_project: bool


@cache
def _allowed(choices: type[TextChoices]) -> frozenset[str]:
    """The values of ``choices`` (``TextChoices.values`` builds a new list on every read)."""
    return frozenset(choices.values)


def _choice(value: Any, choices: type[TextChoices], path: str, errors: dict[str, list[str]]) -> str:
    if value in (None, ""):
        errors.setdefault(path, []).append(_("This field is required."))
        return ""
    if not isinstance(value, str) or value not in _allowed(choices):
        allowed = ", ".join(choices.values)
        errors.setdefault(path, []).append(_("Choose one of: %(allowed)s.") % {"allowed": allowed})
        return ""
    return str(value)


def validate_intake(raw: dict[str, Any], today: date) -> IntakeData:
    """Check an intake body (the API shape); raise ``ValidationFailed`` with every problem."""
    errors: dict[str, list[str]] = {}

    def need(path: str, value: Any) -> str:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            errors.setdefault(path, []).append(_("This field is required."))
        return text

    category = _choice(raw.get("category"), Category, "category", errors)
    business_type = _choice(raw.get("business_type"), BusinessType, "business_type", errors)
    channel = _choice(raw.get("channel"), Channel, "channel", errors)
    customer: dict[str, Any] = raw["customer"] if isinstance(raw.get("customer"), dict) else {}
    if not isinstance(raw.get("customer"), dict):
        errors.setdefault("customer", []).append(_("This field is required."))
    name = need("customer.name", customer.get("name"))
    if len(name) > 100:
        errors.setdefault("customer.name", []).append(_("The name is too long (100 characters at most)."))
    id_type = _choice(customer.get("id_type"), IdType, "customer.id_type", errors) if customer else ""
    id_raw = need("customer.id_number", customer.get("id_number")) if customer else ""
    id_number = ""
    if id_raw and id_type:
        number, message = check_resident_id(id_raw, today) if id_type == IdType.RESIDENT_ID else check_uscc(id_raw)
        if message:
            errors.setdefault("customer.id_number", []).append(message)
        id_number = number or ""
    phone_raw = need("customer.phone", customer.get("phone")) if customer else ""
    phone = ""
    if phone_raw:
        phone = normalise_phone(phone_raw) or ""
        if not phone:
            errors.setdefault("customer.phone", []).append(
                _("Enter an 11-digit mainland mobile number starting with 1.")
            )
    address = need("address", raw.get("address"))
    if len(address) > 200:
        errors.setdefault("address", []).append(_("The address is too long (200 characters at most)."))
    elif address and len(address) < ADDRESS_MIN_LENGTH:
        errors.setdefault("address", []).append(
            _("The address is too short: give the district, street and number (at least 5 characters).")
        )

    capacity = Decimal(0)
    cap_raw = raw.get("requested_capacity")
    if cap_raw is None or cap_raw == "" or isinstance(cap_raw, bool):
        errors.setdefault("requested_capacity", []).append(_("This field is required."))
    else:
        try:
            capacity = Decimal(str(cap_raw))
            if not capacity.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.setdefault("requested_capacity", []).append(_("Enter a number."))
        else:
            if capacity <= 0:
                errors.setdefault("requested_capacity", []).append(_("The capacity must be greater than 0."))
            elif category and not capacity <= CAPACITY_RANGE[category][1]:
                errors.setdefault("requested_capacity", []).append(
                    _("%(capacity)s is not plausible for this category: at most %(max)s.")
                    % {"capacity": f"{capacity.normalize():f}", "max": CAPACITY_RANGE[category][1]}
                )
            elif capacity != capacity.quantize(Decimal("0.01")):
                errors.setdefault("requested_capacity", []).append(_("Use at most two decimal places."))
    unit = _choice(raw.get("capacity_unit"), CapacityUnit, "capacity_unit", errors)
    key_project = raw.get("key_project", False)
    if not isinstance(key_project, bool):
        errors.setdefault("key_project", []).append(_("Enter true or false."))
        key_project = False

    if errors:
        raise ValidationFailed(errors)
    return IntakeData(
        category=category,
        business_type=business_type,
        channel=channel,
        customer_name=name,
        id_type=id_type,
        id_number=id_number,
        phone=phone,
        address=address,
        requested_capacity=capacity,
        capacity_unit=unit,
        key_project=key_project,
    )
