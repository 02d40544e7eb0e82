"""How names and units are written, one way everywhere (see tests/test_typography.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def person_name(user: Any) -> str:
    """姓 then 名 with no space (刘主任, 李明); the username when both are empty; "" for None."""
    if user is None:
        return ""
    if hasattr(user, "display_name"):
        return str(user.display_name)
    full = f"{getattr(user, 'last_name', '') or ''}{getattr(user, 'first_name', '') or ''}".strip()
    return full or getattr(user, "username", "") or ""


def voltage(value: Any) -> str:
    """Kilovolts as ``0.4 kV`` / ``10 kV``: the number without trailing zeros, a space, ``kV``."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = format(number.normalize(), "f")
    return f"{text} kV"
