"""Filters of the application page: event lines in words."""

from __future__ import annotations

from django import template

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
