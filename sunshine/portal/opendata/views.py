"""Open data (/open-data/): the non-personal report sections an administrator published."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sunshine.applications.audit import published_digests
from sunshine.reports import selectors


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "portal_opendata/index.html", {"reports": list(selectors.published_reports()[:100])})


@require_GET
def report(request: HttpRequest, report_id: int) -> HttpResponse:
    found = selectors.published_reports().defer(None).filter(pk=report_id).first()
    if found is None:
        raise Http404(_("This report is not published."))
    return render(
        request,
        "portal_opendata/report.html",
        {"report": found, "meta": found.data.get("meta", {}), "sections": selectors.page_sections(found, public=True)},
    )


@require_GET
def audit_digests(request: HttpRequest) -> HttpResponse:
    """The daily fingerprints of the event log: anyone can keep a copy and later check that our
    records of those days were not changed (``manage.py verify_audit`` recomputes them)."""
    return render(request, "portal_opendata/audit.html", {"digests": published_digests()})
