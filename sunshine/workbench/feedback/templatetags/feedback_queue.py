"""``{% load feedback_queue %}{% my_followups %}``: the signed-in clerk's follow-up calls as a
small panel for the work queue page (one query; nothing for other roles)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Q
from django.utils import timezone

from sunshine.feedback import selectors
from sunshine.feedback.services import FOLLOWUP_ROLES

register = template.Library()


@register.inclusion_tag("workbench_feedback/_my_followups.html", takes_context=True)
def my_followups(context: dict[str, Any]) -> dict[str, Any]:
    user = context.get("user")
    if user is None or not user.is_authenticated or user.role not in FOLLOWUP_ROLES:
        return {"show": False}
    counts = selectors.followup_queue(user).aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(due_on__lt=timezone.localdate()))
    )
    return {"show": counts["total"] > 0, **counts}
