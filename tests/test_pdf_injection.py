"""Markup injection in PDFs (docs/security.md): reportlab reads a Paragraph's text as markup, so
every value the PDF did not write itself is escaped. Hostile names come in through the real
intake (the counter API and the workbench form); the half-month report and the acceptance receipt
are rendered for real and read back with pypdf."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from pypdf import PdfReader

from sunshine.applications.validation import resident_id_check_character
from sunshine.reports import services
from sunshine.reports.models import ReportStatus
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

LINK = '<link href="http://evil.example/x">点我</link>'
LONG_NAME = "长" * 60 + "X" * 40  # 100 characters, the most a name may have, no break
LONG_ADDRESS = "太原市" + "很长的地址" * 39  # 198 characters
HOSTILE_NAMES = ["<b>x", LINK, "A & B <i>", LONG_NAME]


def _rid(i: int) -> str:
    first17 = f"11010519491231{i:03d}"
    return first17 + resident_id_check_character(first17)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _links(reader: PdfReader) -> list[str]:
    out = []
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            if action is not None:
                out.append(str(action.get_object().get("/URI")))
    return out


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def test_the_half_month_report_pdf_shows_hostile_names_as_text(personas, api_as, media):
    numbers = {}
    with time_machine.travel("2026-10-08 09:00 +0800", tick=False):
        for i, name in enumerate(HOSTILE_NAMES):
            body = intake_body(
                customer__name=name, customer__id_number=_rid(900 + i), address=LONG_ADDRESS, key_project=(i == 1)
            )
            r = api_as("clerk").post("/api/v1/applications", body)
            assert r.status_code == 201, r.content
            numbers[r.json()["number"]] = name
    with time_machine.travel("2026-10-16 00:10 +0800", tick=False):
        report = services.generate_due()
    assert report.status == ReportStatus.DONE, report.error
    reader = PdfReader(str(services.file_path(report, "pdf")))
    text = _squeeze("".join(page.extract_text() for page in reader.pages))
    # every name as it was typed, in the overdue rows (all four surveys were due 10-10)
    for name in HOSTILE_NAMES:
        assert _squeeze(name) in text, name
    assert text.count(_squeeze(LINK)) == 2  # overdue and key projects
    assert "http://evil.example/x" not in _links(reader)
    assert _links(reader) == []


def test_the_receipt_shows_a_hostile_name_and_address_as_text(personas):
    c = Client()
    c.force_login(personas["clerk"])
    form = {
        "customer_name": "<b>x & " + LINK,
        "id_type": "resident_id",
        "id_number": _rid(950),
        "phone": "13800138000",
        "address": LONG_ADDRESS,
        "business_type": "new_connection",
        "requested_capacity": "8",
        "capacity_unit": "kW",
        "category": "lv_residential",
        "channel": "counter",
        "idempotency_key": "k-hostile",
    }
    with time_machine.travel("2026-09-29 10:00 +0800", tick=False):
        r = c.post("/workbench/intake/", form)
        assert r.status_code == 302, r.content
        number = r["Location"].split("/")[3]
        pdf = c.get(f"/workbench/intake/{number}/receipt.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    text = _squeeze("".join(page.extract_text() for page in reader.pages))
    assert _squeeze("<b>x & " + LINK) in text
    assert _squeeze(LONG_ADDRESS) in text
    assert _links(reader) == []
