"""The .xlsx workbook of a report snapshot: a cover sheet, one sheet per section, a chart sheet.

Chinese headers, frozen header rows, number formats (integers, one decimal, percentages) and
column widths fitted to the content (a CJK character counts two). Every text cell goes through
``sunshine.spreadsheets.safe_cell``: a customer name ``=HYPERLINK(…)`` stays text, never a formula.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sunshine.reports.sections import NO_DATA
from sunshine.spreadsheets import safe_cell

HEADER_FILL = PatternFill("solid", fgColor="FFF2CC")
NUMBER_FORMATS = {"int": "0", "num": "0.0", "delta": "+0.0;-0.0;0", "pct": "0.0%", "date": "@", "text": "@"}
SHEET_NAMES = {
    "headline": "核心指标",
    "volume_category": "按类别",
    "volume_node": "按环节",
    "durations": "环节用时",
    "on_time": "按时率",
    "overdue": "超期明细",
    "key_projects": "重点项目",
    "pauses": "暂停原因",
    "followup": "回访结果",
    "cases": "稽查案件",
    "ranking": "经理排名",
}


def _width(value: Any) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cell_value(value: Any, fmt: str) -> Any:
    if value is None:
        return "—"
    if fmt == "pct":
        return value / 100.0
    return safe_cell(value)


def write(data: dict[str, Any], path: Path) -> Path:
    meta = data["meta"]
    wb = Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "封面"
    cover["A1"] = safe_cell(meta.get("title", ""))
    cover["A1"].font = Font(bold=True, size=14)
    lines = [
        ("统计期间", f"{meta['period_start']} 至 {meta['period_end']}"),
        ("上期", f"{meta['previous_start']} 至 {meta['previous_end']}"),
        ("筛选条件", meta.get("filters_zh", "全部")),
        ("版本", meta.get("version", 1)),
        ("生成原因", meta.get("reason") or "定期生成"),
        ("生成时间", meta.get("generated_at", "")),
    ]
    for i, (k, v) in enumerate(lines, start=3):
        cover.cell(row=i, column=1, value=k).font = Font(bold=True)
        cover.cell(row=i, column=2, value=safe_cell(v))
    cover.column_dimensions["A"].width = 12
    cover.column_dimensions["B"].width = 40

    chart_sources: list[tuple[dict[str, Any], Any]] = []
    for sec in data["sections"]:
        ws = wb.create_sheet(SHEET_NAMES.get(sec["key"], sec["key"])[:31])
        cols = sec["columns"]
        for j, col in enumerate(cols, start=1):
            c = ws.cell(row=1, column=j, value=safe_cell(col["label"]))
            c.font = Font(bold=True)
            c.fill = HEADER_FILL
            c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.freeze_panes = "A2"
        widths = [_width(col["label"]) for col in cols]
        if sec["empty"]:
            ws.cell(row=2, column=1, value=NO_DATA)
            widths[0] = max(widths[0], _width(NO_DATA))
        for i, row in enumerate(sec["rows"], start=2):
            for j, (value, col) in enumerate(zip(row, cols, strict=False), start=1):
                c = ws.cell(row=i, column=j, value=cell_value(value, col["fmt"]))
                if value is not None and col["fmt"] in NUMBER_FORMATS:
                    c.number_format = NUMBER_FORMATS[col["fmt"]]
                shown = f"{value}%" if col["fmt"] == "pct" and value is not None else value
                widths[j - 1] = max(widths[j - 1], _width(shown))
        if sec.get("note") and not sec["empty"]:
            ws.cell(row=len(sec["rows"]) + 3, column=1, value=safe_cell(sec["note"]))
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        if sec.get("chart"):
            chart_sources.append((sec, ws))

    if chart_sources:
        cs = wb.create_sheet("图表")
        cs["A1"] = "图表（数据见各分表）"
        cs["A1"].font = Font(bold=True)
        anchor_row = 3
        for sec, ws in chart_sources:
            chart = _chart(sec, ws)
            if chart is not None:
                cs.add_chart(chart, f"A{anchor_row}")
                anchor_row += 20
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _chart(sec: dict[str, Any], ws: Any) -> Any:
    """A chart of the section's numbers, referencing its own sheet (the series' columns)."""
    spec = sec["chart"]
    labels = [c["label"] for c in sec["columns"]]
    n = len(spec["categories"])
    if n == 0:
        return None
    # category labels: first text column (or "category·node" built from the first two)
    if spec["type"] == "pie":
        chart = PieChart()
    else:
        chart = BarChart()
        chart.type = "col"
        chart.y_axis.title = None
        chart.height, chart.width = 9, 22
    chart.title = spec["title"]
    label_col = 2 if sec["key"] in ("durations", "on_time") else 1
    for series in spec["series"]:
        name = series["name"]
        col = labels.index(name) + 1 if name in labels else None
        if col is None:
            continue
        ref = Reference(ws, min_col=col, min_row=1, max_row=1 + n)
        chart.add_data(ref, titles_from_data=True)
    if not chart.series:
        return None
    chart.set_categories(Reference(ws, min_col=label_col, min_row=2, max_row=1 + n))
    return chart
