"""Template helpers of the design system: ``{% icon "name" %}``, the staff navigation,
``|person`` (a person's name written the Chinese way) and ``|kv`` (a voltage)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from sunshine.design.icons import ICONS
from sunshine.design.nav import navigation_for
from sunshine.design.text import person_name, voltage

register = template.Library()


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An inline SVG icon; decorative (hidden from screen readers) unless ``label`` is given."""
    body = ICONS[name]
    if label:
        return format_html(
            '<svg class="icon" viewBox="0 0 24 24" role="img" aria-label="{}">{}</svg>',
            label,
            mark_safe(body),  # noqa: S308 (a constant of icons.py)
        )
    svg = f'<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">{body}</svg>'
    return mark_safe(svg)  # noqa: S308 (the markup is a constant of icons.py)


# The navigation's unread badge counts to BADGE_MAX and then shows "99+" (as mail and chat
# clients do): a pile of unread messages costs nothing per page (the kept pages count at most
# BADGE_MAX + 1 rows: workbench/desk/kept.py). The inbox page itself says the exact number.
BADGE_MAX = 99


def badge(unread: int) -> str:
    """The unread badge's text: "" for none, the number up to BADGE_MAX, then "99+"."""
    if unread <= 0:
        return ""
    return str(unread) if unread <= BADGE_MAX else f"{BADGE_MAX}+"


@register.inclusion_tag("design/staff_nav.html", takes_context=True)
def staff_nav(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    user = request.user
    unread = context.get("inbox_unread")
    if isinstance(unread, int):  # the count (lazy or not); a str is a kept page's placeholder
        unread = badge(int(str(unread)))  # (a SimpleLazyObject proxies str(), not int())
    return {
        "groups": navigation_for(getattr(user, "role", ""), request.path),
        "inbox_unread": unread,
    }


@register.filter
def person(user: Any) -> str:
    """A staff member's name: 姓 then 名 with no space (刘主任, 李明); the username if none."""
    return person_name(user)


@register.filter
def kv(value: Any) -> str:
    """A voltage in kilovolts written one way everywhere: ``0.4 kV``, ``10 kV``."""
    return voltage(value)


def _chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


@register.simple_tag
def colon() -> str:
    """The colon after a label: full-width "：" in Chinese, ": " in English."""
    return "：" if _chinese() else ": "


@register.simple_tag
def lparen() -> str:
    """An opening bracket: full-width "（" in Chinese, " (" in English."""
    return "（" if _chinese() else " ("


@register.simple_tag
def rparen() -> str:
    return "）" if _chinese() else ")"
