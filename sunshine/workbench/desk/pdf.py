"""The acceptance receipt as a PDF (reportlab with a CJK TrueType font)."""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _

from sunshine.pdffont import register_cjk_font


def _date(value: Any) -> str:
    return formats.date_format(value, "Y-m-d") if value else "-"


def receipt_pdf(ctx: dict[str, Any]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=16, leading=22, spaceAfter=6)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    app = ctx["app"]
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("Acceptance receipt") + " " + app.number,
    )

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        from xml.sax.saxutils import escape

        return Paragraph(escape(str(text)), style)

    manager = ctx["manager"]
    facts = [
        [p(_("Application number")), p(app.number)],
        [p(_("Accepted at")), p(formats.date_format(app.accepted_at, "Y-m-d H:i"))],
        [p(_("Customer")), p(app.customer_name)],
        [p(ctx["id_type_label"]), p(ctx["customer_id_masked"])],
        [p(_("Address")), p(app.address)],
        [p(_("Category")), p(app.get_category_display())],
        [p(_("Requested capacity")), p(f"{app.requested_capacity.normalize():f} {app.capacity_unit}")],
        [
            p(_("Your customer manager")),
            p(f"{manager['name']}  {_('work phone')} {manager['phone']}" if manager else _("to be assigned")),
        ],
    ]
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
        ]
    )
    story: list[Any] = [p(_("Acceptance receipt of a new-connection application"), title)]
    story.append(Table(facts, colWidths=[40 * mm, 134 * mm], style=grid))
    story.append(p(_("Promised time limits"), heading))
    rows = [[p(_("Stage")), p(_("Time limit")), p(_("Deadline"))]]
    for s in ctx["stages"]:
        limit = (
            _("%(n)s working days") % {"n": s["time_limit_days"]}
            if s["utility"] and s["time_limit_days"] is not None
            else _("customer's own step (not counted)")
        )
        if s["completed_on"]:
            deadline = _("done on %(d)s") % {"d": _date(s["completed_on"])}
        else:
            deadline = _date(s["deadline"]) if s["deadline"] else _("counted from the day it starts")
        rows.append([p(s["name"]), p(limit), p(deadline)])
    header = TableStyle([*grid.getCommands(), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)])
    story.append(Table(rows, colWidths=[74 * mm, 60 * mm, 40 * mm], style=header))
    if ctx["end_to_end_limit"]:
        story.append(Spacer(1, 4))
        story.append(
            p(_("The whole process takes at most %(n)s working days of the utility.") % {"n": ctx["end_to_end_limit"]})
        )
    story.append(p(_("Documents still to bring (told once, all together)"), heading))
    if ctx["missing_documents"]:
        for i, d in enumerate(ctx["missing_documents"], start=1):
            story.append(p(f"{i}. {d}"))
    else:
        story.append(p(_("Nothing: every document has been received.")))
    story.append(Spacer(1, 8))
    story.append(p(_("Supervision hotline: %(phone)s") % {"phone": settings.SUNSHINE_HOTLINE}))
    doc.build(story)
    return out.getvalue()
