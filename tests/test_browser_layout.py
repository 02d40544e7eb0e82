"""Every page, on a phone (390×844) and an office screen (1366×900), in Chinese and in English:
nothing wider than the screen (``scrollWidth <= innerWidth``), the public header at most 120 px
tall, no console error (CSP included), nothing marked "do not wrap" (dates, numbers, badges) on
two lines, and on a phone every table of the public pages (statistics aside, which draws its own
cards) shown as one card per row. Screenshots go to var/screenshots/layout/ for review.

One browser context per screen size; the pages are visited in a loop, so the whole tour costs
two contexts and one demo data set.
"""

from __future__ import annotations

from importlib import import_module
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command

from sunshine.accounts.models import User
from sunshine.applications.models import Application, Status
from sunshine.evaluation.models import EvaluationSnapshot
from sunshine.feedback.models import FollowUp, SupervisionCase
from sunshine.portal.public.views import SESSION_APPLIED
from sunshine.reports.models import Report, ReportStatus
from sunshine.supervision.models import LeaderSupervision
from tests.conftest import OFFICE_900, PHONE, BrowserPage
from tests.test_browser_openinfo import ensure_directory

pytestmark = pytest.mark.browser

NOW = "2026-12-04 10:00 +0800"

PUBLIC = [
    ("home", "/"),
    ("apply", "/apply/"),
    ("progress", "/progress/"),
    ("fees", "/fees/"),
    ("contractors", "/contractors/"),
    ("contractors-construction", "/contractors/?kind=construction"),
    ("statistics", "/statistics/"),
    ("open-data", "/open-data/"),
    ("open-data-audit", "/open-data/audit/"),
    ("complaints", "/complaints/"),
    ("staff-login", "/accounts/login/"),
]


def public_pages() -> list[tuple[str, str]]:
    """The fixed public pages, then those that show one application or one report of the demo."""
    app = Application.objects.filter(status=Status.IN_PROGRESS).order_by("number").first()
    assert app is not None
    published = Report.objects.filter(published_at__isnull=False).order_by("-id").first()
    assert published is not None, "the demo publishes a half-month report as open data"
    return [
        *PUBLIC,
        ("progress-found", f"/progress/?number={app.number}&phone_tail={app.contact_phone[-4:]}"),
        ("applied", "/apply/submitted/"),
        ("open-data-report", f"/open-data/{published.pk}/"),
    ]


def staff_pages() -> list[tuple[str, str, str]]:
    """(name, path, who): every workbench page, with a real object where the page shows one."""
    # manager1's own open case: the demo has other managers' too, which manager1 may not open
    app = (
        Application.objects.filter(status=Status.IN_PROGRESS, customer_manager__username="manager1")
        .order_by("number")
        .first()
    )
    assert app is not None, "the demo data has an open application of manager1's"
    pages = [
        ("queue", "/workbench/", "manager1"),
        ("team", "/workbench/team/", "leader"),
        ("intake", "/workbench/intake/", "clerk"),
        ("receipt", f"/workbench/intake/{app.number}/receipt/", "clerk"),
        ("application", f"/workbench/applications/{app.number}/", "manager1"),
        ("dashboard", "/workbench/dashboard/", "leader"),
        ("reassign", "/workbench/reassign/", "leader"),
        ("inbox", "/workbench/inbox/", "manager1"),
        ("jobs", "/workbench/jobs/", "admin"),
        ("supervision", "/workbench/supervision/", "leader"),
        ("deadlines", "/workbench/supervision/deadlines/", "leader"),
        ("followups", "/workbench/followups/", "clerk"),
        ("cases", "/workbench/cases/", "auditor"),
        ("visits", "/workbench/visits/", "manager1"),
        ("concentration", "/workbench/concentration/", "auditor"),
        ("evaluations", "/workbench/evaluations/", "leader"),
        ("reports", "/workbench/reports/", "leader"),
        ("security", "/workbench/security/", "manager1"),
        *detail_pages(),
        ("admin", "/admin/", "admin"),
        ("admin-staff", "/admin/accounts/user/", "admin"),
        ("admin-calendar", "/admin/workcalendar/calendarday/", "admin"),
    ]
    return pages


def detail_pages() -> list[tuple[str, str, str]]:
    """One of each kind of row the staff open from a list (the demo plans no visits)."""

    # each row within the units of the account that opens it (the demo is a small province)
    def within(username: str) -> str:
        return User.objects.select_related("unit").get(username=username).unit.path

    case = SupervisionCase.objects.filter(application__unit__path__startswith=within("auditor")).order_by("id").first()
    followup = FollowUp.objects.filter(application__unit__path__startswith=within("clerk")).order_by("id").first()
    # a leader of the supervised application's own units opens it (the demo's leaders: 晋源区, 太原, 大同)
    supervision, supervisor = None, "leader"
    for row in LeaderSupervision.objects.select_related("application__unit").order_by("id"):
        leaders = [
            u for u in ("leader", "city_leader", "datong_leader") if row.application.unit.path.startswith(within(u))
        ]
        if leaders:
            supervision, supervisor = row, leaders[0]
            break
    snapshot = EvaluationSnapshot.objects.order_by("-id").first()
    report = Report.objects.filter(status=ReportStatus.DONE).order_by("-id").first()
    rows = (case, followup, supervision, snapshot, report)
    assert None not in rows, f"the demo has a row of each kind: {rows}"
    return [
        ("case", f"/workbench/cases/{case.tracking_number}/", "auditor"),
        ("followup", f"/workbench/followups/{followup.pk}/", "clerk"),
        ("supervision-detail", f"/workbench/supervision/{supervision.application.number}/", supervisor),
        ("evaluation", f"/workbench/evaluations/{snapshot.period}/", "leader"),
        ("evaluation-history", "/workbench/evaluations/managers/manager1/", "leader"),
        ("report", f"/workbench/reports/{report.pk}/", "admin"),  # the installation-wide report: the top unit
    ]


# Elements marked "do not wrap" drawn on more than one line; on a phone, the rows of tables not
# shown as cards (statistics draws its own).
LAYOUT = """(phone) => {
  const lines = (e) => {
    const style = getComputedStyle(e);
    if (!style.display.startsWith('inline')) return 1;  // a cell is as tall as its row
    const rects = e.getClientRects();
    const line = parseFloat(style.lineHeight) || 1.6 * parseFloat(style.fontSize);
    return rects.length > 1 ? rects.length : Math.round(e.getBoundingClientRect().height / line);
  };
  const wrapped = [...document.querySelectorAll('.nowrap, .number, .badge')]
    .filter(e => e.getClientRects().length && lines(e) > 1).map(e => e.textContent.trim()).slice(0, 5);
  const rows = phone && document.body.classList.contains('public') && !location.pathname.startsWith('/statistics/')
    ? [...document.querySelectorAll('main table tbody tr')].filter(r => getComputedStyle(r).display !== 'block').length
    : 0;
  return {wrapped, rows};
}"""


def check(bp: BrowserPage, name: str, path: str) -> dict:
    page = bp.page
    response = page.goto(path)
    status = response.status if response is not None else 0
    page.wait_for_load_state("load")
    # A phone browser zooms out to show a page wider than the screen, and innerWidth grows with
    # it; the screen's own width is the viewport's.
    widths = [page.evaluate("document.documentElement.scrollWidth"), page.viewport_size["width"]]
    header = page.evaluate(
        "(() => { const h = document.querySelector('.public-header');"
        " return h ? h.getBoundingClientRect().height : 0 })()"
    )
    layout = page.evaluate(LAYOUT, bp.page.viewport_size["width"] <= 600)
    bp.screenshot(f"layout/{name}")
    return {"path": path, "status": status, "scroll": widths[0], "inner": widths[1], "header": header, **layout}


def verdict(size: str, language: str, got: dict) -> list[str]:
    where = f"{size} {language} {got['path']}"
    problems = []
    if got["status"] != 200:
        problems.append(f"{where}: HTTP {got['status']}")
    if got["scroll"] > got["inner"]:
        problems.append(f"{where}: {got['scroll']} px wide in {got['inner']}")
    if got["wrapped"]:
        problems.append(f"{where}: on two lines: {got['wrapped']}")
    if got["rows"]:
        problems.append(f"{where}: {got['rows']} table rows not shown as cards")
    return problems


def tour(browser, base_url: str, viewport: dict[str, int], size: str, mobile: bool) -> list[str]:
    problems: list[str] = []
    bp = BrowserPage(browser, base_url, viewport, mobile=mobile)
    try:
        for language in ("zh-hans", "en"):
            bp.context.clear_cookies()
            bp.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
            for name, path in public_pages():
                if name == "applied":  # the page of the browser that applied: its session says so
                    bp.context.add_cookies(
                        [{"name": settings.SESSION_COOKIE_NAME, "value": applied_session(), "url": base_url}]
                    )
                got = check(bp, f"{size}-{language}-{name}", path)
                problems += verdict(size, language, got)
                if name != "staff-login" and not 0 < got["header"] <= 120:
                    problems.append(f"{size} {language} {path}: header {got['header']} px tall")
            current = None
            for name, path, who in staff_pages():
                if who != current:
                    bp.context.clear_cookies()
                    bp.context.add_cookies([{"name": "django_language", "value": language, "url": base_url}])
                    bp.login(User.objects.get(username=who))
                    current = who
                got = check(bp, f"{size}-{language}-{name}", path)
                problems += verdict(size, language, got)
    finally:
        errors = list(bp.errors)
        bp.close()
    return problems + [f"console: {e}" for e in errors]


def applied_session() -> str:
    """A session of a browser that just applied (what the apply form leaves)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_APPLIED] = Application.objects.order_by("-number").values_list("number", flat=True).first()
    store.create()
    return store.session_key


@pytest.fixture
def demo(transactional_db):
    ensure_directory()
    with time_machine.travel(NOW, tick=True):
        call_command("seed_demo", applications=40, stdout=StringIO())
        yield


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("size", "viewport", "mobile"), [("phone", PHONE, True), ("office", OFFICE_900, False)])
def test_every_page_fits_the_screen_in_both_languages(browser, live_server, demo, size, viewport, mobile):
    problems = tour(browser, live_server.url, viewport, size, mobile)
    assert problems == []
