"""The job status page in plain words: what each background job does, its schedule as
"每天 02:00" rather than a crontab, why a job failed, and what a job is about (a report's title)
rather than its raw arguments and ids."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

# task path -> what it does (every task of the project; tests/test_jobs_page.py checks the list)
TASKS: dict[str, Any] = {
    "sunshine.supervision.tasks.sweep_deadlines": gettext_lazy(
        "Deadline sweep: warns about stages due soon or overdue"
    ),
    "sunshine.supervision.tasks.send_supervision_digests": gettext_lazy(
        "Weekly digest of supervised applications for the leaders"
    ),
    "sunshine.metrics.tasks.refresh_statistics": gettext_lazy("Updates the public statistics"),
    "sunshine.reports.tasks.generate_due_report": gettext_lazy("Half-monthly report of the half-month that just ended"),
    "sunshine.reports.tasks.generate_unit_report": gettext_lazy("Half-monthly report of one unit"),
    "sunshine.reports.tasks.build_report": gettext_lazy("Computes a report"),
    "sunshine.notifications.tasks.deliver_due_task": gettext_lazy(
        "Sends the messages that are due (SMS, e-mail, inbox), including those whose delivery stalled"
    ),
    "sunshine.evaluation.tasks.freeze_last_periods": gettext_lazy(
        "Freezes last month's (and last quarter's) customer-manager evaluation"
    ),
    "sunshine.feedback.tasks.run_concentration_monitor": gettext_lazy(
        "Checks last month's concentration of contractors"
    ),
    "sunshine.feedback.tasks.remind_overdue_cases": gettext_lazy(
        "Reminds the auditors of supervision cases past their time limit"
    ),
    "sunshine.applications.tasks.publish_yesterdays_audit_digest": gettext_lazy(
        "Publishes the fingerprint of yesterday's records"
    ),
    "sunshine.ops.tasks.refresh_office_figures": gettext_lazy(
        "Counts open applications and overdue stages for the monitoring figures"
    ),
    "sunshine.ops.tasks.anonymise_past_retention": gettext_lazy(
        "Anonymises personal data kept longer than the retention period"
    ),
}

WEEKDAYS = [
    pgettext_lazy("weekday", "Sunday"),
    pgettext_lazy("weekday", "Monday"),
    pgettext_lazy("weekday", "Tuesday"),
    pgettext_lazy("weekday", "Wednesday"),
    pgettext_lazy("weekday", "Thursday"),
    pgettext_lazy("weekday", "Friday"),
    pgettext_lazy("weekday", "Saturday"),
    pgettext_lazy("weekday", "Sunday"),  # cron allows 7 for Sunday
]


def task_label(path: str) -> str:
    label = TASKS.get(path)
    return str(label) if label is not None else path.rsplit(".", 1)[-1]


def _weekdays(field: str) -> str | None:
    parts = []
    for item in field.split(","):
        m = re.fullmatch(r"([0-7])(?:-([0-7]))?", item)
        if not m:
            return None
        if m.group(2):
            parts.append(_("%(first)s to %(last)s") % {"first": WEEKDAYS[int(m[1])], "last": WEEKDAYS[int(m[2])]})
        else:
            parts.append(str(WEEKDAYS[int(m[1])]))
    return pgettext("list separator", ", ").join(parts)


def schedule_text(cron: str) -> str:
    """A 5-field crontab (Beijing time) in words; the crontab itself when no rule below fits."""
    fields = cron.split()
    if len(fields) != 5:
        return cron
    minute, hour, day, month, weekday = fields
    if month != "*":
        return cron
    if [minute, hour, day, weekday] == ["*", "*", "*", "*"]:
        return _("every minute")
    step = re.fullmatch(r"\*/(\d+)", minute)
    if step and [hour, day, weekday] == ["*", "*", "*"]:
        return _("every %(n)s minutes") % {"n": step[1]}
    if not (minute.isdigit() and hour.isdigit()):
        return cron
    at = f"{int(hour):02d}:{int(minute):02d}"
    if day == "*" and weekday == "*":
        return _("every day at %(time)s") % {"time": at}
    if day == "*":
        days = _weekdays(weekday)
        return cron if days is None else _("every %(days)s at %(time)s") % {"days": days, "time": at}
    if weekday == "*" and re.fullmatch(r"\d+(,\d+)*", day):
        days = pgettext("list separator", ", ").join(str(int(d)) for d in day.split(","))
        return _("on day %(days)s of every month at %(time)s") % {"days": days, "time": at}
    return cron


# Exception class (last part of its path) -> why the job failed, for people.
def failure_text(exception_class_path: str, message: str) -> str:
    cls = exception_class_path.rsplit(".", 1)[-1]
    attempts = re.search(r"attempt (\d+) of (\d+)", message)
    if cls == "GaveUp" and attempts:
        return _("Failed %(n)s times; no more automatic retries.") % {"n": attempts[2]}
    if cls == "RetryScheduled" and attempts:
        return _("Attempt %(n)s of %(total)s failed; it is retried automatically.") % {
            "n": attempts[1],
            "total": attempts[2],
        }
    if cls == "SmsError":
        return _("The SMS gateway refused the message or could not be reached.")
    if cls == "FontMissing":
        return _("The PDF font is missing: run `make install`.")
    if cls in {"OperationalError", "DatabaseError", "InterfaceError"}:
        return _("The database failed during the job.")
    if cls in {"OSError", "PermissionError", "FileNotFoundError", "TimeoutError", "URLError", "ConnectionError"}:
        return _("A file or network operation failed during the job.")
    return _("The job stopped on an unexpected error.")
