"""CSV export of the applications list (``/workbench/export.csv``), streamed.

The rows are those the signed-in member may see (a customer manager: their own), with the work
queue's filters (category, stage, overdue, due soon, key projects, paused, manager, search) plus
``status`` (``open``, the default, ``all`` or one status) and ``accepted_from`` / ``accepted_to``
(dates, both included). Invalid filter values are ignored, as on the queue page. The response
is streamed from ``selectors.export_rows`` (keyset chunks): memory does not grow with the rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict, StreamingHttpResponse
from django.utils import timezone

from sunshine.accounts.models import User
from sunshine.applications import access, selectors
from sunshine.applications.models import OPEN_STATUSES, Application, Status
from sunshine.spreadsheets import safe_row
from sunshine.workbench.desk import queries
from sunshine.workbench.desk.guards import staff_page

LINES_PER_CHUNK = 500  # rows per piece of the streamed body (one write to the socket each)


class _Line:
    """A file whose ``write`` returns the line (csv.writer formats, the generator yields)."""

    def write(self, value: str) -> str:
        return value


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.get_default_timezone())


def export_scope(user: User, params: QueryDict) -> QuerySet[Application]:
    get = params.get
    today = timezone.localdate()
    qs = access.visible_applications(user)
    status = get("status", "open")
    if status in Status.values:
        qs = qs.filter(status=status)
    elif status != "all":
        qs = qs.filter(status__in=OPEN_STATUSES)
    if first := _day(get("accepted_from", "")):
        qs = qs.filter(accepted_at__gte=_local_midnight(first))
    if last := _day(get("accepted_to", "")):
        qs = qs.filter(accepted_at__lt=_local_midnight(last + timedelta(days=1)))
    return queries.QueueFilters.from_query(params).apply(qs, today)


def _body(qs: QuerySet[Application]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(selectors.EXPORT_COLUMNS)  # the BOM: Excel then reads UTF-8
    lines: list[str] = []
    for row in selectors.export_rows(qs):
        lines.append(writer.writerow(safe_row(row)))  # a name "=HYPERLINK(…)" stays text
        if len(lines) == LINES_PER_CHUNK:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


@staff_page()  # type: ignore[arg-type]  # (the guard's type names HttpResponse; this one streams)
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    user: User = request.user  # type: ignore[assignment]
    response = StreamingHttpResponse(_body(export_scope(user, request.GET)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="applications-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response
