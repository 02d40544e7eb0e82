"""Spreadsheet formula injection (docs/security.md): a customer name or address that a spreadsheet
would read as a formula is written by every export as text after a single quote (OWASP's CSV
injection rule); numbers stay numbers. The names come in through the real intake (the public
online application and the counter API); the files are the real ones, read back with csv and
openpyxl."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from sunshine.applications.validation import resident_id_check_character
from sunshine.reports import xlsx
from sunshine.reports.sections import Computer
from sunshine.spreadsheets import safe_cell
from tests.conftest import intake_body
from tests.test_portal_api import SmsInbox, sms  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/","点此查看")'
# (name, address) of the hostile intakes; the intake strips leading blanks, so tab and CR can
# only start a cell through other text (the unit test below covers them).
HOSTILE = [
    (HYPERLINK, "太原市小店区长风街1号"),
    ("+1+1", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("-2+3", "=1+1+1+1"),
    ("@SUM(A1:A9)", "-太原市迎泽区"),
]


def _rid(i: int) -> str:
    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def test_safe_cell_prefixes_formula_starts_and_leaves_numbers():
    for text in ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", HYPERLINK]:
        assert safe_cell(text) == "'" + text
    for text in ["张三", "1+1", " =1", "", "太原市=1", "'=1"]:
        assert safe_cell(text) == text
    for number in [-1, -2.5, Decimal("-3.50"), 0, None, True]:
        assert safe_cell(number) == number and type(safe_cell(number)) is type(number)


@pytest.fixture
def hostile(personas, api_as, sms) -> dict[str, tuple[str, str]]:  # noqa: F811
    """Four applications with hostile names: the first through the public online application
    (anonymous, as in the finding), the others at the counter. Number -> (name, address)."""
    out: dict[str, tuple[str, str]] = {}
    with time_machine.travel("2026-10-08 09:00 +0800", tick=False):
        phone = "13900139001"
        c = Client()
        sent = c.post("/api/v1/public/verification-codes", {"phone": phone}, content_type="application/json")
        assert sent.status_code == 202, sent.content
        name, address = HOSTILE[0]
        body = intake_body(customer__name=name, customer__phone=phone, customer__id_number=_rid(801), address=address)
        body["channel"] = "online"
        body["verification_code"] = sms.code_for(phone)
        r = c.post("/api/v1/public/applications", json.dumps(body, ensure_ascii=False), content_type="application/json")
        assert r.status_code == 201, r.content
        out[r.json()["number"]] = (name, address)
        for i, (name, address) in enumerate(HOSTILE[1:], start=802):
            r = api_as("clerk").post(
                "/api/v1/applications",
                intake_body(customer__name=name, customer__id_number=_rid(i), address=address, key_project=(i == 803)),
            )
            assert r.status_code == 201, r.content
            out[r.json()["number"]] = (name, address)
    return out


def _quoted(text: str) -> str:
    return "'" + text if text[0] in "=+-@" else text


def test_the_csv_export_writes_hostile_names_as_text(hostile, personas):
    c = Client()
    c.force_login(personas["admin"])
    with time_machine.travel("2026-10-20 09:00 +0800", tick=False):
        r = c.get("/workbench/export.csv", {"status": "all"})
    assert r.status_code == 200
    text = b"".join(r.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {row["number"]: (row["customer_name"], row["address"]) for row in rows}
    assert got == {n: (_quoted(name), _quoted(address)) for n, (name, address) in hostile.items()}
    assert got[next(iter(hostile))][0] == "'" + HYPERLINK
    # every cell: nothing a spreadsheet would evaluate
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # numbers and plain texts are as before
    assert {row["requested_capacity"] for row in rows} == {"8.00"}
    assert {row["status"] for row in rows} == {"in_progress"}


def test_the_report_workbook_writes_hostile_names_as_text(hostile, tmp_path: Path):
    with time_machine.travel("2026-10-16 00:10 +0800", tick=False):
        data = Computer(date(2026, 10, 1), date(2026, 10, 15)).compute(lambda pct: None)
        data["meta"].update(title="=cmd|' /C calc'!A0", reason="+恶意原因", generated_at="2026-10-16 00:10")
        path = xlsx.write(data, tmp_path / "report.xlsx")
    wb = load_workbook(path)
    formulas = [
        (ws.title, cell.coordinate, cell.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")))
    ]
    assert formulas == []
    assert wb["封面"]["A1"].value == "'=cmd|' /C calc'!A0"
    assert wb["封面"]["B7"].value == "'+恶意原因"
    # the overdue sheet: every hostile application's survey ran past its limit (due 10-10)
    overdue = wb["超期明细"]
    names = {overdue.cell(row=i, column=1).value: overdue.cell(row=i, column=2).value for i in range(2, 6)}
    assert names == {n: _quoted(name) for n, (name, _a) in hostile.items()}
    # numbers stay numbers: the working days overdue on 10-15 (the online one's acceptance was
    # due 10-09: 10-10 is a working Saturday, then 10-12..15; the counter ones' survey 10-10)
    days = {overdue.cell(row=i, column=1).value: overdue.cell(row=i, column=8).value for i in range(2, 6)}
    online, *counter = hostile
    assert days == {online: 5, **{n: 4 for n in counter}}
    # the key project (the second counter intake) on its sheet
    key = wb["重点项目"]
    assert key.cell(row=2, column=2).value == "'-2+3"
