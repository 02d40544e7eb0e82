"""Pure rules of the directory: fee arithmetic, pinyin keys and the neutral contractor order.

No database here: every function is a function of its arguments (tested without a database).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeVar

T = TypeVar("T")

CENT = Decimal("0.01")
# Quantities above this (kVA, metres, ...) are not plausible for one application.
MAX_QUANTITY = Decimal("10000000")


class BadAmount(ValueError):
    """A quantity or amount that cannot be charged (negative, absurd, not a number)."""


def to_decimal(value: object) -> Decimal:
    """``value`` as a Decimal, refusing floats' binary noise by going through ``str``."""
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadAmount(str(value)) from None
    if not d.is_finite():
        raise BadAmount(str(value))
    return d


def yuan(value: Decimal) -> Decimal:
    """Round to the fen, half up (the way a receipt rounds)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def per_unit_amount(rate: Decimal, quantity: Decimal) -> Decimal:
    """``rate`` yuan per unit times ``quantity`` units, exact, rounded to the fen once at the end."""
    if quantity <= 0 or quantity > MAX_QUANTITY:
        raise BadAmount(str(quantity))
    return yuan(rate * quantity)


def high_reliability_fee(capacity_kva: Decimal, rate_per_kva: Decimal) -> Decimal:
    """高可靠性供电费: the capacity (kVA) of the additional supply circuit(s) of a dual or multiple
    supply customer times the provincial rate for the supply voltage (yuan per kVA)."""
    return per_unit_amount(rate_per_kva, capacity_kva)


def pinyin_of(name: str) -> str:
    """Lower-case pinyin without tones, syllables joined (``晋阳电力`` → ``jinyangdianli``);
    latin letters and digits kept as they are."""
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default")).lower().replace(" ", "")


def pinyin_initials(name: str) -> str:
    """The first letter of each syllable (``晋阳电力`` → ``jydl``), for search by initials."""
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower().replace(" ", "")


def search_key(name: str) -> str:
    """What ``Contractor.name_pinyin`` stores: full pinyin and initials (``jinyangdianli jydl``)."""
    return f"{pinyin_of(name)} {pinyin_initials(name)}"


def neutral_order(items: Sequence[T], seed: str, key: Callable[[T], str]) -> list[T]:
    """``items`` in an order decided only by ``seed`` and each item's ``key`` (its credit code).

    Why a seeded shuffle and not alphabetical order: an alphabetical list always puts the same
    units first (and invites names chosen to sort early), while a fresh random seed for every
    visit gives every qualified unit the same chance of the top of the list. The seed is made
    by ``secrets`` when a visit starts and carried in the query string, so paging and filtering
    within a visit keep one order. Nothing a staff member can set enters the order: there is no
    rank or weight field, and the key is the unit's own credit code.
    """
    return sorted(items, key=lambda item: hashlib.sha256(f"{seed}:{key(item)}".encode()).digest())
