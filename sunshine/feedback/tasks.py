"""Background jobs of the feedback app (django-tasks); the schedule is in ``schedule.py``."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from sunshine.accounts.models import Role, User
from sunshine.feedback import concentration
from sunshine.feedback.models import CaseStatus, SupervisionCase


@task()
def run_concentration_monitor() -> int:
    """The monitor over last month (runs on the 1st); returns the number of flags."""
    from_date, to_date, period = concentration.previous_month(timezone.localdate())
    return len(concentration.run_monitor(from_date, to_date, period))


def remind_overdue_cases_now() -> int:
    """Tell the auditors, once per case, about open cases past their time limit."""
    from sunshine.feedback.services import _notify_staff, record_language

    today = timezone.localdate()
    auditors = list(User.objects.filter(role=Role.AUDITOR, is_active=True).order_by("username"))
    reminded = 0
    with transaction.atomic(), record_language():
        overdue = list(
            SupervisionCase.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("application")
            .filter(status=CaseStatus.OPEN, due_on__lt=today, reminded_at__isnull=True)
        )
        for case in overdue:
            _notify_staff(
                auditors,
                "message",
                {
                    "text": _("Supervision case %(number)s (%(subject)s) passed its time limit on %(due)s.")
                    % {"number": case.tracking_number, "subject": case.subject, "due": case.due_on.isoformat()}
                },
                application=case.application,
                key=f"case_overdue:{case.tracking_number}",
            )
            reminded += 1
        SupervisionCase.objects.filter(pk__in=[c.pk for c in overdue]).update(reminded_at=timezone.now())
    return reminded


@task()
def remind_overdue_cases() -> int:
    return remind_overdue_cases_now()
