"""Tags and filters of the application page: event lines in words, the action forms' fields."""

from __future__ import annotations

import threading
from typing import Any

from django import template
from django.forms import BoundField
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from sunshine.applications.models import Event
from sunshine.workbench.case import events

register = template.Library()


@register.filter
def event_label(e: Event) -> str:
    return events.label(e)


@register.filter
def event_detail(e: Event) -> str:
    return events.detail(e)


@register.filter
def event_actor(e: Event) -> str:
    return events.actor_name(e)


# An empty field of the page's forms is the same HTML for every case of one language (and one
# list of choices, and one initial value): rendered once through Django's widget templates, then
# reused. A form that carries data (and so perhaps errors) is always rendered afresh.
_FIELDS: dict[tuple[Any, ...], SafeString] = {}
_FIELDS_MAX = 512
_fields_lock = threading.Lock()


def _field_key(f: BoundField) -> tuple[Any, ...]:
    choices = getattr(f.field, "choices", None)
    return (
        type(f.form),
        f.form.prefix,
        f.form.auto_id,
        f.name,
        get_language(),
        repr(f.value()),
        None if choices is None else tuple((str(k), str(v)) for k, v in choices),
    )


@register.simple_tag
def case_field(f: BoundField) -> SafeString:
    """``workbench_case/_field.html`` for ``f`` (label, widget, errors)."""
    if f.form.is_bound:
        return mark_safe(render_to_string("workbench_case/_field.html", {"f": f}))  # noqa: S308 (escaped there)
    key = _field_key(f)
    html = _FIELDS.get(key)
    if html is None:
        html = mark_safe(render_to_string("workbench_case/_field.html", {"f": f}))  # noqa: S308 (escaped there)
        with _fields_lock:
            if len(_FIELDS) >= _FIELDS_MAX:
                _FIELDS.clear()
            _FIELDS[key] = html
    return html
