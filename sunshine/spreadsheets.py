"""Cells of every export a spreadsheet opens (CSV and .xlsx), made inert.

A text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel,
WPS and LibreOffice as a formula (``=HYPERLINK("http://evil.example/","点此查看")`` in a customer
name becomes a live link; DDE payloads can run programs). OWASP's rule for CSV injection: prefix
such a text with a single quote, so the program shows it as text; the rest of the text stays as
it was. Numbers (int, float, Decimal) are never touched: a negative figure stays a number.

Every export writes its cells through ``safe_cell`` / ``safe_row`` (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as it is, unless it is a text a spreadsheet would read as a formula: then the
    same text after a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
