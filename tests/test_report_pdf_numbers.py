"""Case numbers stay whole in PDF tables: a narrow column once broke "YK2610151008780" over two
lines. The column of numbers is widened to its longest number; the table keeps its width."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from sunshine.pdffont import register_cjk_font
from sunshine.reports.pdf import _col_widths, write

NUMBERS = ["YK2610151008780", "YK2611260404902", "SV2611270000123"]
SECTION = {
    "key": "overdue_list",
    "title": "超期明细",
    "empty": False,
    "columns": [
        {"label": "申请编号", "fmt": "text"},
        {"label": "客户名称", "fmt": "text"},
        {"label": "当前环节", "fmt": "text"},
        {"label": "受理日期", "fmt": "date"},
        {"label": "超期原因说明（客户经理填写）", "fmt": "text"},
        {"label": "服务区域", "fmt": "text"},
        {"label": "客户经理", "fmt": "text"},
        *({"label": f"环节{i}用时说明", "fmt": "text"} for i in range(1, 7)),
    ],
    "rows": [
        [
            n,
            "太原市晋源区某某科技有限公司",
            "设计审查",
            "2026-10-15",
            "客户设计资料不全，已一次性告知补正",
            "晋源区",
            "李爱",
        ]
        + ["客户要求暂停，等待补充资料后恢复"] * 6
        for n in NUMBERS
    ],
}


def test_a_column_of_case_numbers_is_as_wide_as_its_longest_number():
    width = A4[0] - 30 * mm
    widths = _col_widths(SECTION, width)
    font = register_cjk_font()
    assert widths[0] >= max(stringWidth(n, font, 7.5) for n in NUMBERS) + 12
    assert sum(widths) == pytest.approx(width)


def test_the_pdf_shows_each_number_on_one_line(tmp_path: Path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not found: apt-get install poppler-utils (CI installs it)")
    meta = {
        "title": "测试报表",
        "period_start": "2026-11-01",
        "period_end": "2026-11-15",
        "previous_start": "2026-10-16",
        "previous_end": "2026-10-31",
    }
    path = write({"meta": meta, "sections": [SECTION]}, tmp_path / "report.pdf")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for n in NUMBERS:
        assert n in text
