"""``{% load report_format %}``: numbers of a report snapshot as the PDF prints them."""

from __future__ import annotations

from typing import Any

from django import template

from sunshine.reports.pdf import fmt_value

register = template.Library()


@register.filter
def report_value(value: Any, fmt: str) -> str:
    return fmt_value(value, fmt)


@register.filter
def zip_columns(row: list[Any], columns: list[dict[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    return list(zip(row, columns, strict=False))
