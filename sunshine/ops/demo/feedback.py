"""Demo follow-up calls for ``seed_demo``: the generated applications bypass the case engine's
reactions, so the follow-up calls of the latest connected ones are scheduled here (they then
wait in the clerk's queue; making them is the demo). Idempotent."""

from __future__ import annotations

from django.db import transaction

from sunshine.applications.models import Application, Status
from sunshine.feedback import services
from sunshine.feedback.models import FollowUp


def ensure_demo_feedback(calls: int = 12) -> str:
    if FollowUp.objects.exists():
        return "Demo follow-up calls already present."
    ids = list(
        Application.objects.filter(status=Status.COMPLETED)
        .order_by("-completed_at", "-id")
        .values_list("pk", flat=True)[:calls]
    )
    with transaction.atomic():
        made = services.schedule_followups(ids)
    return f"Demo follow-up calls: {len(made)} scheduled."
