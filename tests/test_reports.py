"""The half-monthly report of 1–15 October 2026 (National Day), built with the real services.

Calendar (from the seeded State Council notice): 25–27 Sep and 1–7 Oct are holidays; Sun 20 Sep
and Sat 10 Oct are working days. Working days around the period:
Sep 16 17 18 | 20 21 22 23 24 | 28 29 30 | Oct 8 9 10 | 12 13 14 15 16 | 19 …

Residential limits: acceptance 1, survey 2, connection 2 (end to end 5).
Managers are assigned by the engine (fewest open applications, then username): alice = 李爱,
bob = 包博.

The story (every figure below was worked out by hand from it):

  A1  Sep 16 intake (alice); survey done Sep 18 (2 wd, deadline Sep 18, on time); connection done
      Sep 22 (3 wd: 20, 21, 22; deadline Sep 21, late); completed, end to end 0+2+3 = 5 <= 5.
  B8  Sep 28 intake (alice); Sep 29 paused (government approval "等待规划许可") until Oct 9:
      3 wd (Sep 30, Oct 8, Oct 9); survey deadline Sep 28 + (2+3) = Oct 10; still open Oct 15:
      overdue by 4 wd (12, 13, 14, 15).
  B1  Sep 29 intake (bob); survey done Oct 8 (2 wd, deadline Oct 8, on time); connection started
      Oct 8, done Oct 12 (3 wd: 9, 10, 12; deadline Oct 10, late); completed, 0+2+3 = 5: on time.
  B2  Oct 8 intake (alice); paused Oct 9 (documents) until Oct 13: 3 wd; survey done Oct 14:
      5 - 3 = 2 wd, deadline Oct 8 + 5 = Oct 14, on time; connection open (deadline Oct 16).
  B3  Oct 8 intake (bob); survey open, deadline Oct 10: overdue by 4 wd, no reason given.
  B5  Oct 8 intake (alice); cancelled Oct 13 (its survey stays "in progress": not overdue, not open).
  B4  Oct 9 intake (bob), high voltage single supply, key project; scheme open, deadline
      Oct 9 + 15 wd = Oct 29; progress 1 of 10 stages.
  B7  Oct 9 intake (alice); survey done Oct 15: 5 wd (10, 12, 13, 14, 15), deadline Oct 12, late;
      connection open (deadline Oct 19).
      On Oct 12 the leader (王领导) takes B3 in charge (督办), target date Oct 30.
  B6  Oct 12 intake (bob); paused Oct 13 (customer request), still paused on Oct 15: the running
      pause moves its deadline from Oct 14 to Oct 16, so it is not overdue.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from sunshine.accounts.models import User
from sunshine.applications import services as app_services
from sunshine.applications.models import Application
from sunshine.applications.validation import validate_intake
from sunshine.errors import ValidationFailed
from sunshine.reports import services
from sunshine.reports.models import Kind, Report, ReportEvent, ReportStatus
from sunshine.reports.pdf import fmt_value
from sunshine.supervision.services import take_charge
from tests.conftest import intake_body

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def intake(when: str, name: str, *, category: str = "lv_residential", key: bool = False, hm: str = "09:00") -> str:
    extra: dict[str, Any] = {"customer__name": name, "key_project": key}
    if category.startswith("hv"):
        extra.update(requested_capacity=800, capacity_unit="kVA")
    with at(when, hm):
        data = validate_intake(intake_body(category=category, **extra), date.fromisoformat(when))
        return app_services.intake(data, None).application.number


def do(when: str, fn, *args, hm: str = "10:00", **kwargs) -> None:
    with at(when, hm):
        fn(*args, None, **kwargs)


def build_story() -> dict[str, str]:
    """The applications of the module docstring, in time order; returns their numbers."""
    s = app_services
    n: dict[str, str] = {}
    n["A1"] = intake("2026-09-16", "王一")
    do("2026-09-18", s.complete_stage, n["A1"], "survey")
    do("2026-09-22", s.complete_stage, n["A1"], "connection")
    n["B8"] = intake("2026-09-28", "赵八")
    n["B1"] = intake("2026-09-29", "钱一")
    do("2026-09-29", s.pause, n["B8"], reason_code="government_approval", reason="等待规划许可")
    n["B2"] = intake("2026-10-08", "孙二")
    n["B3"] = intake("2026-10-08", "李三", hm="09:10")
    n["B5"] = intake("2026-10-08", "周五", hm="09:20")
    do("2026-10-08", s.complete_stage, n["B1"], "survey")
    n["B4"] = intake("2026-10-09", "吴四重点", category="hv_single", key=True)
    n["B7"] = intake("2026-10-09", "郑七", hm="09:10")
    do("2026-10-09", s.pause, n["B2"], reason_code="missing_documents", reason="缺产权证明")
    do("2026-10-09", s.resume, n["B8"], hm="10:10")
    do("2026-10-12", s.complete_stage, n["B1"], "connection", hm="09:00")
    n["B6"] = intake("2026-10-12", "冯六", hm="10:00")
    User.objects.filter(username="leader").update(last_name="王", first_name="领导")
    with at("2026-10-12", "10:30"):  # the leader takes charge of the late survey of B3
        leader = User.objects.get(username="leader")
        take_charge(n["B3"], leader, reason="勘查超期，督办", target_date=date(2026, 10, 30))
    do("2026-10-13", s.resume, n["B2"], hm="09:00")
    do("2026-10-13", s.cancel, n["B5"], reason="客户撤回申请", hm="09:10")
    do("2026-10-13", s.pause, n["B6"], reason_code="customer_request", reason="客户要求暂缓", hm="09:20")
    do("2026-10-14", s.complete_stage, n["B2"], "survey")
    do("2026-10-15", s.complete_stage, n["B7"], "survey")
    return n


def expected(n: dict[str, str]) -> dict[str, list[list[Any]]]:
    """Every section's rows, by hand (see the module docstring)."""
    return {
        "headline": [
            ["受理申请（件）", 6, 3, 3],
            ["办结申请（件）", 1, 1, 0],
            ["期末在途（件）", 6, 2, 4],
            ["期末超期环节（个）", 2, 0, 2],
            ["办结按时率（%）", 100.0, 100.0, 0.0],
            ["环节按时率（%）", 80.0, 80.0, 0.0],
            ["办结平均供电企业用时（工作日）", 5.0, 5.0, 0.0],
        ],
        "volume_category": [
            ["低压居民", 5, 1, 1, 5],
            ["高压单电源", 1, 0, 0, 1],
            ["合计", 6, 1, 1, 6],
        ],
        "volume_node": [
            ["低压居民", "业务受理", "供电企业", 5, 5, 0],
            ["低压居民", "现场勘查", "供电企业", 5, 3, 3],
            ["低压居民", "装表接电", "供电企业", 3, 1, 2],
            ["高压单电源", "业务受理", "供电企业", 1, 1, 0],
            ["高压单电源", "现场勘查及供电方案答复", "供电企业", 1, 0, 1],
        ],
        "durations": [
            ["低压居民", "业务受理", 5, 0.0, 0.0, 0.0, 1],
            ["低压居民", "现场勘查", 3, 3.0, 2.0, 4.4, 2],
            ["低压居民", "装表接电", 1, 3.0, 3.0, 3.0, 2],
            ["高压单电源", "业务受理", 1, 0.0, 0.0, 0.0, 1],
        ],
        "on_time": [
            ["低压居民", "业务受理", 5, 5, 0, 100.0],
            ["低压居民", "现场勘查", 3, 2, 1, 66.7],
            ["低压居民", "装表接电", 1, 0, 1, 0.0],
            ["高压单电源", "业务受理", 1, 1, 0, 100.0],
            ["合计", "全部环节", 10, 8, 2, 80.0],
        ],
        "overdue": [
            [n["B8"], "赵八", "低压居民", "现场勘查", "李爱", "2026-09-28", "2026-10-10", 4, "等待规划许可"],
            [n["B3"], "李三", "低压居民", "现场勘查", "包博", "2026-10-08", "2026-10-10", 4, "未说明"],
        ],
        "key_projects": [
            [n["B3"], "李三", "低压居民", "现场勘查", "1/3", "2026-10-10", "包博", "否", "王领导", "2026-10-30"],
            [n["B4"], "吴四重点", "高压单电源", "现场勘查及供电方案答复", "1/10", "2026-10-29", "包博", "是", "—", "—"],
        ],
        "pauses": [
            ["资料不全", 1, 1, 3, 0],
            ["客户要求暂缓", 1, 0, 0, 1],
            ["等待政府审批", 0, 1, 3, 0],
            ["合计", 2, 2, 6, 1],
        ],
    }


EMPTY = ["followup", "cases", "ranking"]  # their source apps have no data in this story


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def story(personas, media) -> dict[str, str]:
    personas["leader"].email = "leader@example.cn"
    personas["leader"].save(update_fields=["email"])
    return build_story()


def generate() -> Report:
    """What the scheduler does at 00:10 on 16 October."""
    with at("2026-10-16", "00:10"):
        return services.generate_due()


def by_key(report: Report) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in report.data["sections"]}


# --- the snapshot ----------------------------------------------------------------------------


def test_the_scheduler_generates_the_half_month_that_ended_with_every_figure_as_worked_out(story):
    report = generate()
    assert (report.kind, report.period_start, report.period_end, report.version) == (
        Kind.HALF_MONTH,
        date(2026, 10, 1),
        date(2026, 10, 15),
        1,
    )
    assert report.status == ReportStatus.DONE
    meta = report.data["meta"]
    assert meta["title"] == "2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    assert (meta["previous_start"], meta["previous_end"]) == ("2026-09-16", "2026-09-30")
    sections = by_key(report)
    assert list(sections) == [
        "headline",
        "volume_category",
        "volume_node",
        "durations",
        "on_time",
        "overdue",
        "key_projects",
        "pauses",
        "followup",
        "cases",
        "ranking",
    ]
    for key, rows in expected(story).items():
        assert sections[key]["rows"] == rows, key
        assert sections[key]["empty"] is False
    for key in EMPTY:
        assert sections[key]["empty"] is True
        assert sections[key]["rows"] == []
        assert sections[key]["note"] == "本期暂无数据"
    assert sections["on_time"]["note"] == "办结申请按时率（低压按全流程时限、高压按各环节）：100.0%"
    assert [(e.type, e.data.get("version")) for e in ReportEvent.objects.filter(report=report)] == [
        ("requested", None),
        ("generated", 1),
        ("emailed", None),
    ]


def test_the_snapshot_is_frozen_and_a_new_version_needs_a_reason(story):
    first = generate()
    frozen = first.data
    # Late data entry: an application accepted on Oct 14 typed in after the report was made.
    late = intake("2026-10-14", "陈迟到")
    assert Application.objects.filter(number=late).exists()
    # Running the job again without a reason returns the same report, unchanged.
    again = generate()
    assert again.pk == first.pk
    first.refresh_from_db()
    assert first.data == frozen
    # Regenerating with a reason makes version 2 with the new figure; version 1 stays readable.
    with at("2026-10-16", "09:00"):
        second = services.regenerate(first.pk, actor=None, reason="补录10月14日受理的申请")
    assert (second.version, second.reason, second.period_start) == (2, "补录10月14日受理的申请", date(2026, 10, 1))
    assert by_key(second)["headline"]["rows"][0] == ["受理申请（件）", 7, 3, 4]
    first.refresh_from_db()
    assert first.data == frozen and by_key(first)["headline"]["rows"][0] == ["受理申请（件）", 6, 3, 3]
    assert services.file_path(first, "pdf").exists() and services.file_path(second, "pdf").exists()
    assert services.file_path(first, "pdf") != services.file_path(second, "pdf")
    with pytest.raises(ValidationFailed):
        services.regenerate(first.pk, actor=None, reason="  ")
    assert Report.objects.filter(kind=Kind.HALF_MONTH).count() == 2


def test_leaders_get_the_report_by_email_with_both_files(story):
    report = generate()
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["leader@example.cn"]
    assert msg.subject == report.data["meta"]["title"]
    assert sorted(name for name, _content, _mime in msg.attachments) == [
        "half-month-2026-10-01-v1.pdf",
        "half-month-2026-10-01-v1.xlsx",
    ]


class _Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free loopback port, and the project's mail settings pointing at it
    the way production configures them (EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT)."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.DEFAULT_FROM_EMAIL = "sunshine@example.cn"
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_report_goes_to_the_leaders_through_a_real_smtp_server(story, personas, smtp_server):
    import email
    from email import policy

    User.objects.create_user(username="leader2", role="leader", email="leader2@example.cn")
    User.objects.create_user(username="leader3", role="leader")  # no address: not e-mailed
    report = generate()
    assert len(smtp_server.envelopes) == 1
    envelope = smtp_server.envelopes[0]
    assert envelope.mail_from == "sunshine@example.cn"
    assert sorted(envelope.rcpt_tos) == ["leader2@example.cn", "leader@example.cn"]
    parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
    assert parsed["Subject"].strip() == report.data["meta"]["title"]  # folded: a leading space
    files = {part.get_filename(): part.get_content() for part in parsed.iter_attachments()}
    assert sorted(files) == ["half-month-2026-10-01-v1.pdf", "half-month-2026-10-01-v1.xlsx"]
    # the attachments are the stored files, byte for byte
    assert files["half-month-2026-10-01-v1.pdf"] == services.file_path(report, "pdf").read_bytes()
    assert files["half-month-2026-10-01-v1.xlsx"] == services.file_path(report, "xlsx").read_bytes()
    assert files["half-month-2026-10-01-v1.pdf"].startswith(b"%PDF")
    assert ReportEvent.objects.filter(report=report, type="emailed").count() == 1


# --- the same numbers in the HTML page, the workbook and the PDF ------------------------------


class _Tables(HTMLParser):
    """Cell texts of every <table data-section=…> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.no_data: list[str] = []
        self._sec: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._section: str | None = None
        self._in_no_data = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("section-"):
            self._section = a["id"][len("section-") :]
        if tag == "p" and a.get("class") == "no-data":
            self._in_no_data = True
        if tag == "table" and a.get("data-section"):
            self._sec = a["data-section"]
            self.tables[self._sec] = []
        elif tag == "tr" and self._sec:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "p" and self._in_no_data:
            self._in_no_data = False
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._sec:
            self.tables[self._sec].append(self._row)
            self._row = None
        elif tag == "table":
            self._sec = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_no_data and data.strip() and self._section:
            self.no_data.append(self._section)


def shown(rows: list[list[Any]], columns: list[dict[str, Any]]) -> list[list[str]]:
    return [[fmt_value(v, c["fmt"]) for v, c in zip(row, columns, strict=True)] for row in rows]


def test_the_report_page_shows_every_number_of_the_snapshot(story, client, personas, django_assert_max_num_queries):
    report = generate()
    client.force_login(personas["leader"])
    with django_assert_max_num_queries(8):
        r = client.get(f"/workbench/reports/{report.pk}/")
    assert r.status_code == 200
    parser = _Tables()
    parser.feed(r.content.decode())
    sections = by_key(report)
    for key, rows in expected(story).items():
        cols = sections[key]["columns"]
        assert parser.tables[key][0] == [c["label"] for c in cols]
        assert parser.tables[key][1:] == shown(rows, cols), key
    assert parser.no_data == EMPTY
    # the headline as a reader sees it
    assert parser.tables["headline"][1] == ["受理申请（件）", "6", "3", "+3"]
    assert parser.tables["on_time"][2] == ["低压居民", "现场勘查", "3", "2", "1", "66.7%"]
    assert parser.tables["durations"][2] == ["低压居民", "现场勘查", "3", "3", "2", "4.4", "2"]


def test_the_workbook_has_a_sheet_per_section_with_the_same_numbers(story):
    from openpyxl import load_workbook

    report = generate()
    wb = load_workbook(services.file_path(report, "xlsx"))
    assert wb.sheetnames == [
        "封面",
        "核心指标",
        "按类别",
        "按环节",
        "环节用时",
        "按时率",
        "超期明细",
        "重点项目",
        "暂停原因",
        "回访结果",
        "稽查案件",
        "经理排名",
        "图表",
    ]
    assert wb["封面"]["A1"].value == "2026年10月上半月业扩报装工作半月报（10-01至10-15）"
    sheet_of = {
        "headline": "核心指标",
        "volume_category": "按类别",
        "volume_node": "按环节",
        "durations": "环节用时",
        "on_time": "按时率",
        "overdue": "超期明细",
        "key_projects": "重点项目",
        "pauses": "暂停原因",
    }
    sections = by_key(report)
    for key, rows in expected(story).items():
        ws = wb[sheet_of[key]]
        assert ws.freeze_panes == "A2"
        cols = sections[key]["columns"]
        assert [c.value for c in ws[1]] == [c["label"] for c in cols]
        got = [[c.value for c in row] for row in ws.iter_rows(min_row=2, max_row=1 + len(rows))]
        want = [
            [("—" if v is None else (v / 100 if c["fmt"] == "pct" else v)) for v, c in zip(r, cols, strict=True)]
            for r in rows
        ]
        assert got == want, key
    assert wb["按时率"]["F3"].number_format == "0.0%"
    assert wb["按时率"]["F3"].value == pytest.approx(0.667)
    assert wb["环节用时"]["F3"].number_format == "0.0"
    assert wb["按类别"]["B2"].number_format == "0"
    assert wb["超期明细"].column_dimensions["I"].width >= 14  # "等待规划许可" is 12 columns wide
    assert wb["回访结果"]["A2"].value == "本期暂无数据"
    assert len(wb["图表"]._charts) == 4  # by category, durations, on time, pauses


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "".join(p.extract_text() for p in PdfReader(str(path)).pages)


def test_the_pdf_is_a4_with_the_cjk_font_and_every_number(story):
    from pypdf import PdfReader

    report = generate()
    path = services.file_path(report, "pdf")
    reader = PdfReader(str(path))
    width, height = (float(x) for x in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    fonts = {
        str(f["/BaseFont"])
        for page in reader.pages
        for f in (page["/Resources"].get("/Font") or {}).values()
        if "/BaseFont" in f.get_object()
        for f in [f.get_object()]
    }
    # the project's own font, embedded as a subset ("ABCDEF+NotoSansSC-Regular")
    assert any(re.fullmatch(r"/[A-Z]{6}\+NotoSansSC-Regular", f) for f in fonts), fonts
    assert path.stat().st_size < 400_000  # a subset, not the 10 MB font
    flat = re.sub(r"\s+", "", _pdf_text(path))
    assert "2026年10月上半月业扩报装工作半月报（10-01至10-15）" in flat
    sections = by_key(report)
    for key, rows in expected(story).items():
        cols = sections[key]["columns"]
        for row in shown(rows, cols):
            assert "".join(row).replace(" ", "") in flat, (key, row)
    assert flat.count("本期暂无数据") == 3


def test_the_pdf_pages_render_to_non_blank_images(story):
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not found: apt-get install poppler-utils (CI installs it)")
    report = generate()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("report-pdf-*.png"):
        old.unlink()
    prefix = SCREENSHOTS / "report-pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(services.file_path(report, "pdf")), str(prefix)], check=True)
    pages = sorted(SCREENSHOTS.glob("report-pdf-*.png"))
    assert len(pages) >= 2
    for page in pages:
        img = Image.open(page).convert("L")
        assert img.size == (497, 702)  # A4 at 60 dpi
        dark = sum(img.histogram()[:200])  # pixels darker than light grey
        assert dark > 2000, f"{page.name} looks blank"


# --- the command, the periods -------------------------------------------------------------------


def test_the_command_prints_the_paths_of_the_workbook_and_the_pdf(story):
    out = io.StringIO()
    with at("2026-10-16", "08:00"):
        call_command("generate_report", "--period", "2026-10-01", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("reports/2026/half-month-2026-10-01-v1.xlsx")
    assert lines[1].endswith("reports/2026/half-month-2026-10-01-v1.pdf")
    assert all(Path(p).is_file() and Path(p).stat().st_size > 1000 for p in lines)
    # again: the same files; with a reason: version 2, and version 1's files are still there
    out2 = io.StringIO()
    call_command("generate_report", "--period", "2026-10-01", stdout=out2)
    assert out2.getvalue().splitlines() == lines
    out3 = io.StringIO()
    call_command("generate_report", "--period", "2026-10-01", "--reason", "日历更正", "--no-email", stdout=out3)
    assert out3.getvalue().splitlines()[1].endswith("half-month-2026-10-01-v2.pdf")
    assert all(Path(p).is_file() for p in lines)


@pytest.mark.parametrize("bad", ["2026-10-02", "2026-13-01", "yesterday"])
def test_the_command_refuses_a_day_that_does_not_start_a_half_month(db, media, bad):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("generate_report", "--period", bad, stdout=io.StringIO())
    assert not Report.objects.exists()


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        ("2026-10-16", "2026-10-01", "2026-10-15"),
        ("2026-11-01", "2026-10-16", "2026-10-31"),
        ("2026-03-01", "2026-02-16", "2026-02-28"),
        ("2027-01-01", "2026-12-16", "2026-12-31"),
    ],
)
def test_the_job_picks_the_half_month_that_ended_yesterday(db, media, today, start, end):
    report = services.generate_due(date.fromisoformat(today))
    assert (report.period_start.isoformat(), report.period_end.isoformat()) == (start, end)


def test_a_period_with_no_applications_says_no_data_everywhere(db, media):
    report, created = services.generate_half_month(date(2026, 10, 1))
    assert created
    assert all(s["empty"] and s["note"] == "本期暂无数据" for s in report.data["sections"])


def test_the_schedule_declares_the_half_monthly_job():
    from sunshine.reports.schedule import JOBS

    assert [(j.name, j.task, j.cron) for j in JOBS] == [
        ("half_month_report", "sunshine.reports.tasks.generate_due_report", "10 0 1,16 * *")
    ]


# --- sections fed by other apps light up when their data exists ---------------------------------


def test_follow_up_results_and_supervision_cases_appear_when_there_are_some(story, personas):
    """B1 (connected Oct 12) is called back on Oct 14: satisfied 5/4/3, but the customer says the
    design unit was designated, which opens a steering case (source 回访) that stays open."""
    from sunshine.feedback.models import FollowUp
    from sunshine.feedback.services import Answers, complete_followup

    followup = FollowUp.objects.get(application__number=story["B1"])
    with at("2026-10-14", "15:00"):
        complete_followup(
            followup.pk,
            personas["clerk"],
            outcome="completed",
            answers=Answers(
                sat_overall=5,
                sat_manager=4,
                sat_timeliness=3,
                steered_design=True,
                steered_construction=False,
                steered_supply=False,
                extra_charge=False,
                told_once=True,
            ),
        )
    sections = by_key(generate())
    assert sections["followup"]["empty"] is False
    assert sections["followup"]["rows"] == [
        ["回访结束（件）", 1],
        ["完成问卷（件）", 1],
        ["无法接通（件）", 0],
        ["拒绝回访（件）", 0],
        ["号码错误（件）", 0],
        ["总体满意度（分）", 5.0],
        ["客户经理服务满意度（分）", 4.0],
        ["办电时效满意度（分）", 3.0],
        ["反映被指定设计、施工或供货单位（三不指定，件）", 1],
        ["反映额外收费（件）", 0],
        ["确认一次性告知（件）", 1],
    ]
    assert sections["cases"]["rows"] == [["回访", 1, 0, 1], ["合计", 1, 0, 1]]
    assert sections["ranking"]["empty"] is True  # no evaluation yet


def test_the_ranking_excerpt_comes_from_the_latest_monthly_evaluation_of_a_month_already_ended(story, personas, area):
    """Six ranked managers in 晋源区 (September 2026): the first three and the last two are shown.
    An October evaluation (ending after the period) and a quarterly one are not used."""
    from django.utils import timezone

    from sunshine.accounts.models import Role
    from sunshine.evaluation.models import EvaluationResult, EvaluationSnapshot
    from tests.conftest import make_user

    managers = [personas["alice"], personas["bob"]] + [
        make_user(f"m{i}", Role.CUSTOMER_MANAGER, last_name="经", first_name=f"理{i}") for i in range(3, 7)
    ]
    now = timezone.now()

    def snapshot(period: str, starts: str, ends: str) -> EvaluationSnapshot:
        return EvaluationSnapshot.objects.create(period=period, starts_on=starts, ends_on=ends, frozen_at=now, rule={})

    sept = snapshot("2026-09", "2026-09-01", "2026-09-30")
    scores = [92.5, 90, 88, 80, 71.25, 60]
    for rank, (m, score) in enumerate(zip(managers, scores, strict=True), start=1):
        EvaluationResult.objects.create(
            snapshot=sept, manager=m, area=area, score=score, rank=rank, ranked_in_area=6, warning=rank == 6
        )
    for later in (snapshot("2026-10", "2026-10-01", "2026-10-31"), snapshot("2026-Q3", "2026-07-01", "2026-09-30")):
        EvaluationResult.objects.create(
            snapshot=later, manager=managers[5], area=area, score=99, rank=1, ranked_in_area=1
        )
    ranking = by_key(generate())["ranking"]
    assert ranking["rows"] == [
        ["晋源区", 1, 6, "李爱", 92.5, "否", "否"],
        ["晋源区", 2, 6, "包博", 90.0, "否", "否"],
        ["晋源区", 3, 6, "经理3", 88.0, "否", "否"],
        ["晋源区", 5, 6, "经理5", 71.25, "否", "否"],
        ["晋源区", 6, 6, "经理6", 60.0, "否", "是"],
    ]
    assert ranking["note"] == "考评期：2026-09（第 1 版）"


def test_the_number_of_queries_does_not_grow_with_the_data(story, django_assert_num_queries):
    """Aggregates, not loops over rows: the same queries for the story and for three times as many
    applications of every kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sunshine.reports.sections import Computer

    with at("2026-10-16", "00:10"):  # when the scheduler computes it
        Computer(date(2026, 10, 1), date(2026, 10, 15)).compute()  # warm the calendar
        with CaptureQueriesContext(connection) as small:
            Computer(date(2026, 10, 1), date(2026, 10, 15)).compute()
    for _ in range(2):
        build_story()
    with at("2026-10-16", "00:10"), django_assert_num_queries(len(small.captured_queries)):
        data = Computer(date(2026, 10, 1), date(2026, 10, 15)).compute()
    assert data["sections"][0]["rows"][0] == ["受理申请（件）", 18, 9, 9]
    assert len(data["sections"][5]["rows"]) == 6  # overdue: B8 and B3 of each copy
