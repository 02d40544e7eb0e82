"""The A4 PDF of a report snapshot (reportlab), with the CJK TrueType font embedded and the
charts drawn by reportlab.graphics.

The font is the project's own (``sunshine/pdffont.py``: Noto Sans SC as TrueType, fetched by
``make install``), subset into each PDF; ``SUNSHINE_PDF_FONT`` may point elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from sunshine.pdffont import FONT_NAME as FONT
from sunshine.pdffont import register_cjk_font
from sunshine.reports.sections import NO_DATA

PALETTE = [colors.HexColor(c) for c in ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272")]


def fmt_value(value: Any, fmt: str) -> str:
    """How a number reads in the HTML page and the PDF (the same text in both)."""
    if value is None:
        return "—"
    if fmt == "pct":
        return f"{value:.1f}%"
    if fmt == "num":
        return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
    if fmt == "delta":
        if float(value) == 0:
            return "0"
        text = f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
        return ("+" if value > 0 else "") + text
    return str(value)


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """A Paragraph of plain text. reportlab reads a Paragraph's text as markup, so every value
    is escaped: a customer name ``<b>x`` would stop the whole PDF (a parse error) and
    ``<link href=…>`` would become a live link (docs/security.md)."""
    return Paragraph(escape(str(text)), style)


def write(data: dict[str, Any], path: Path) -> Path:
    font = register_cjk_font()
    meta = data["meta"]
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11.5, leading=16, spaceBefore=10, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5, wordWrap="CJK")
    story: list[Any] = [
        _p(meta.get("title", ""), title),
        _p(
            f"统计期间：{meta['period_start']} 至 {meta['period_end']}　上期：{meta['previous_start']} 至 "
            f"{meta['previous_end']}",
            body,
        ),
        _p(
            f"筛选条件：{meta.get('filters_zh', '全部')}　版本：{meta.get('version', 1)}　"
            f"生成时间：{meta.get('generated_at', '')}"
            + (f"　重新生成原因：{meta['reason']}" if meta.get("reason") else ""),
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    width = A4[0] - 30 * mm
    for n, sec in enumerate(data["sections"], start=1):
        story.append(_p(f"{n}. {sec['title']}", h2))
        if sec["empty"]:
            story.append(_p(NO_DATA, body))
            continue
        cols = sec["columns"]
        rows = [[_p(c["label"], cell) for c in cols]]
        for r in sec["rows"]:
            rows.append([_p(fmt_value(v, c["fmt"]), cell) for v, c in zip(r, cols, strict=False)])
        table = Table(rows, repeatRows=1, colWidths=_col_widths(sec, width))
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), font),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#fff2cc")),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        story.append(table)
        if sec.get("note"):
            story.append(Spacer(1, 2 * mm))
            story.append(_p(sec["note"], body))
        if sec.get("chart"):
            drawing = chart_drawing(sec["chart"], width, font)
            if drawing is not None:
                story.append(Spacer(1, 3 * mm))
                story.append(KeepTogether([drawing]))
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=meta.get("title", ""),
        author="阳光业扩服务平台",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return path


def _text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _col_widths(sec: dict[str, Any], width: float) -> list[float]:
    """Columns as wide as their longest cell (headers count half: they may wrap), within limits."""
    cols = sec["columns"]
    need = []
    for j, c in enumerate(cols):
        longest = max([_text_width(fmt_value(r[j], c["fmt"])) for r in sec["rows"]] or [0])
        floor = 11 if c["fmt"] == "date" or (j == 0 and longest >= 14) else 6
        need.append(min(max(longest, min(_text_width(c["label"]), 10), floor), 20))
    total = sum(need)
    widths = [width * n / total for n in need]
    return _keep_numbers_whole(sec, widths, width)


# An application or case number (YK2610151008780) is one token: a cell never breaks it.
_UNBREAKABLE = re.compile(r"^[A-Z]{1,4}\d{6,}$")
_CELL_PADDING = 13.0  # the table's left and right cell padding, with a little room


def _keep_numbers_whole(sec: dict[str, Any], widths: list[float], width: float) -> list[float]:
    """Widen a column of numbers to its longest number at the cell font size (7.5 pt), taking
    the room from the other columns in proportion; the total width stays ``width``."""
    cols = sec["columns"]
    floor = [0.0] * len(cols)
    for j, c in enumerate(cols):
        tokens = [str(fmt_value(r[j], c["fmt"])) for r in sec["rows"]]
        whole = [t for t in tokens if _UNBREAKABLE.match(t)]
        if whole:
            font = register_cjk_font()
            floor[j] = max(stringWidth(t, font, 7.5) for t in whole) + _CELL_PADDING
    short = [j for j in range(len(cols)) if widths[j] < floor[j]]
    if not short:
        return widths
    fixed = {j: floor[j] for j in short}
    rest = [j for j in range(len(cols)) if j not in fixed]
    room = width - sum(fixed.values())
    free = sum(widths[j] for j in rest) or 1.0
    return [fixed[j] if j in fixed else widths[j] * room / free for j in range(len(cols))]


def _footer(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"第 {doc.page} 页")
    canvas.restoreState()


def chart_drawing(spec: dict[str, Any], width: float, font: str) -> Drawing | None:
    cats = spec["categories"]
    if not cats:
        return None
    height = 62 * mm
    d = Drawing(width, height)
    d.add(String(0, height - 10, spec["title"], fontName=font, fontSize=9))
    if spec["type"] == "pie":
        values = spec["series"][0]["data"]
        if not any(values):
            return None
        pie = Pie()
        pie.x, pie.y, pie.width, pie.height = 20, 10, height - 30, height - 30
        pie.data = values
        pie.labels = [f"{c} {v}" for c, v in zip(cats, values, strict=False)]
        pie.slices.fontName = font
        pie.slices.fontSize = 7
        for i in range(len(values)):
            pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
        d.add(pie)
        return d
    chart = VerticalBarChart()
    rotate = len(cats) > 4
    chart.x, chart.y = 30, 44 if rotate else 28
    chart.width, chart.height = width - 140, height - (64 if rotate else 48)
    chart.data = [[v or 0 for v in s["data"]] for s in spec["series"]]
    chart.categoryAxis.categoryNames = [c if len(c) <= 12 else c[:11] + "…" for c in cats]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if rotate else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if rotate else "n"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    for i in range(len(spec["series"])):
        chart.bars[i].fillColor = PALETTE[i % len(PALETTE)]
    d.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 100, height - 20
    legend.fontName = font
    legend.fontSize = 7
    legend.alignment = "right"
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], s["name"]) for i, s in enumerate(spec["series"])]
    d.add(legend)
    return d
