from __future__ import annotations

from datetime import date

from sunshine.processes.models import ProcessTemplate


def process_in_force(category: str, on: date) -> ProcessTemplate | None:
    """The newest version of ``category`` effective on ``on``, with its stages prefetched."""
    return (
        ProcessTemplate.objects.filter(category=category, effective_from__lte=on)
        .order_by("-effective_from", "-version")
        .prefetch_related("stages")
        .first()
    )


def processes_in_force(on: date) -> list[ProcessTemplate]:
    seen: dict[str, ProcessTemplate] = {}
    for p in (
        ProcessTemplate.objects.filter(effective_from__lte=on)
        .order_by("category", "-effective_from", "-version")
        .prefetch_related("stages")
    ):
        seen.setdefault(p.category, p)
    return list(seen.values())
