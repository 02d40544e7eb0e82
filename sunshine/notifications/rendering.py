"""Rendering of message templates with Django's template engine from a restricted context.

Only plain values reach a template (str, int, float, Decimal, bool, date, datetime, None and lists
of them): an administrator editing a template cannot reach a model and read what a message
must not contain (an ID number, a full phone). Output is plain text (no HTML escaping).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.template import Context, Engine, Template, TemplateSyntaxError

PLAIN = (str, int, float, Decimal, bool, date, datetime, type(None))


@cache
def engine() -> Engine:
    # No loaders, no extra tag libraries: the built-in tags and filters only.
    return Engine(autoescape=False, libraries={}, loaders=[], string_if_invalid="")


@lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """``source`` parsed once per process: keyed by the text itself, so an edited template is a
    new entry and nothing needs invalidating (a broken one raises and is not kept)."""
    return engine().from_string(source)


def restrict(context: dict[str, Any]) -> dict[str, Any]:
    """The plain values of ``context``; anything else is dropped (lists keep their plain items)."""
    safe: dict[str, Any] = {}
    for name, value in context.items():
        if not isinstance(name, str) or name.startswith("_"):
            continue
        if isinstance(value, PLAIN):
            safe[name] = value
        elif isinstance(value, list | tuple):
            safe[name] = [v for v in value if isinstance(v, PLAIN)]
    return safe


def render(source: str, context: dict[str, Any]) -> str:
    """Render ``source``; a template an administrator broke renders as its raw text plus the
    context values rather than losing the message."""
    values = {"hotline": settings.SUNSHINE_HOTLINE, **restrict(context)}
    try:
        return compiled(source).render(Context(values, autoescape=False)).strip()
    except TemplateSyntaxError:
        return source + " " + " ".join(f"{k}={v}" for k, v in values.items())
