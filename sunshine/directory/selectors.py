"""Reads of the directory: the catalogue in force, the abolished charges, qualified contractors.

Each function issues a fixed number of queries (tests assert the counts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from sunshine.directory import rules
from sunshine.directory.models import AbolishedCharge, Contractor, FeeItem, FeeSchedule

HIGH_RELIABILITY = "high_reliability"


def schedule_in_force(on: date) -> FeeSchedule | None:
    """The catalogue version applying on ``on``: the latest ``effective_from`` not after it (1 query)."""
    return FeeSchedule.objects.filter(effective_from__lte=on).order_by("-effective_from", "-version").first()


def schedules() -> list[FeeSchedule]:
    """Every published version, newest first (1 query): the page's date selector lists them."""
    return list(FeeSchedule.objects.order_by("-effective_from", "-version"))


def items_of(schedule: FeeSchedule | None) -> list[FeeItem]:
    if schedule is None:
        return []
    return list(schedule.items.order_by("position", "code"))


def abolished_charges() -> list[AbolishedCharge]:
    return list(AbolishedCharge.objects.order_by("position", "id"))


def rates_of(items: list[FeeItem], group: str = HIGH_RELIABILITY) -> list[FeeItem]:
    """The per-voltage rates of one fee group among ``items`` (no query)."""
    return [i for i in items if i.group == group]


def qualified_contractors_qs(today: date) -> QuerySet[Contractor]:
    """Active units whose licence has not expired on ``today`` (a licence expiring today is still valid)."""
    return Contractor.objects.filter(active=True).filter(
        Q(licence_expires_on__isnull=True) | Q(licence_expires_on__gte=today)
    )


def new_seed() -> str:
    """A fresh, unguessable order seed for a visit."""
    return secrets.token_hex(8)


def clean_seed(seed: str | None) -> str:
    """A seed from the query string, or a fresh one when absent or malformed."""
    if seed and 1 <= len(seed) <= 32 and all(c in "0123456789abcdef" for c in seed):
        return seed
    return new_seed()


@dataclass(frozen=True)
class ContractorPage:
    results: list[Contractor]
    count: int
    page: int
    page_size: int
    seed: str

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


def contractor_page(
    today: date,
    *,
    kind: str | None = None,
    licence_class: str | None = None,
    text: str | None = None,
    seed: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> ContractorPage:
    """Qualified units matching the filters in the neutral order of ``seed`` (1 query).

    The whole filtered list is read (qualified units number hundreds, not millions) and ordered
    by ``rules.neutral_order``, then sliced: the same seed gives the same pages.
    """
    seed = clean_seed(seed)
    qs = qualified_contractors_qs(today)
    if kind:
        qs = qs.filter(kind=kind)
    if licence_class:
        qs = qs.filter(licence_class=licence_class)
    text = (text or "").strip()
    if text:
        qs = qs.filter(
            Q(name__icontains=text) | Q(name_pinyin__icontains=text.lower()) | Q(area_served__icontains=text)
        )
    ordered = rules.neutral_order(list(qs), seed, key=lambda c: c.credit_code)
    start = (page - 1) * page_size
    return ContractorPage(ordered[start : start + page_size], len(ordered), page, page_size, seed)
