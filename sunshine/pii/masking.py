"""How personal data is shown by default: 1101**********0021, 138****8000."""

from __future__ import annotations


def mask(value: str, head: int, tail: int) -> str:
    value = value or ""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id(value: str) -> str:
    return mask(value, 4, 4)


def mask_phone(value: str) -> str:
    return mask(value, 3, 4)
