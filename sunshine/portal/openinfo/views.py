"""Public pages: the fee catalogue, the qualified contractors and the statistics.

Thin views: parse a GET form, call a selector, render. Nothing here changes state.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sunshine.accounts import units
from sunshine.directory import rules, selectors
from sunshine.portal.openinfo.forms import CalculatorForm, CatalogueDateForm, ContractorFilterForm, StatisticsForm
from sunshine.spreadsheets import safe_row


def _en() -> bool:
    return (get_language() or "").startswith("en")


@require_GET
def fees(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    date_form = CatalogueDateForm(request.GET or None)
    on = today
    if date_form.is_bound and date_form.is_valid() and date_form.cleaned_data["on"]:
        on = date_form.cleaned_data["on"]
    schedule = selectors.schedule_in_force(on)
    items = selectors.items_of(schedule)
    rates = selectors.rates_of(items)
    levels = [(i.voltage_level, i.get_voltage_level_display()) for i in rates]
    calc_data = request.GET if "capacity_kva" in request.GET else None
    calc = CalculatorForm(calc_data, levels=levels, prefix=None)
    result = None
    if calc.is_bound and calc.is_valid():
        rate = next(i for i in rates if i.voltage_level == calc.cleaned_data["voltage_level"])
        result = {
            "rate": rate,
            "capacity": calc.cleaned_data["capacity_kva"],
            "amount": rules.high_reliability_fee(calc.cleaned_data["capacity_kva"], rate.amount),
        }
    en = _en()
    return render(
        request,
        "portal_openinfo/fees.html",
        {
            "on": on,
            "today": today,
            "date_form": date_form,
            "schedule": schedule,
            "items": [(i, i.name_en if en else i.name_zh) for i in items],
            "versions": selectors.schedules(),
            "abolished": [(a, a.name_en if en else a.name_zh) for a in selectors.abolished_charges()],
            "calc": calc,
            "result": result,
        },
    )


@require_GET
def contractors(request: HttpRequest) -> HttpResponse:
    form = ContractorFilterForm(request.GET)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    page = selectors.contractor_page(
        timezone.localdate(),
        kind=data.get("kind") or None,
        licence_class=data.get("licence_class") or None,
        text=data.get("q") or None,
        seed=data.get("seed") or None,
        page=data.get("page") or 1,
    )
    base = {
        k: v
        for k, v in {"kind": data.get("kind"), "licence_class": data.get("licence_class"), "q": data.get("q")}.items()
        if v
    }
    base["seed"] = page.seed

    def link(n: int) -> str:
        return "?" + urlencode({**base, "page": n})

    return render(
        request,
        "portal_openinfo/contractors.html",
        {
            "form": form,
            "page": page,
            "seed": page.seed,
            "prev_url": link(page.page - 1) if page.page > 1 else None,
            "next_url": link(page.page + 1) if page.page < page.pages else None,
        },
    )


def _range(request: HttpRequest) -> tuple[StatisticsForm, date, date, str | None, units.Node | None]:
    """The range, category and company unit asked for; the last full month of the whole company
    when none (or an invalid one) is given (the days of the current month so far are too few to
    say anything)."""
    today = timezone.localdate()
    to_d = today.replace(day=1) - timedelta(days=1)
    from_d, category, code = to_d.replace(day=1), None, ""
    form = StatisticsForm(request.GET or None, initial={"month": f"{from_d:%Y-%m}"})
    if form.is_bound and form.is_valid():
        to_d = form.cleaned_data.get("to_date") or today
        from_d = form.cleaned_data.get("from_date") or to_d.replace(day=1)
        category = form.cleaned_data.get("category") or None
        code = form.cleaned_data.get("unit") or ""
    return form, from_d, to_d, category, _public_unit(code)


def _unit_id(node: units.Node | None) -> int | None:
    """The unit to narrow the statistics to: None for the top unit (the whole company)."""
    return None if node is None or node.parent_id is None else node.id


def _chart_data(result: dict[str, Any]) -> dict[str, Any]:
    def num(v: Decimal | None) -> float | None:
        return None if v is None else float(v)

    cats = result["categories"]
    return {
        "stages": {
            "title": _("On-time rate per node (%)"),
            "labels": [s["name"] for s in result["overall"]["stages"]],
            "series": [
                {"name": _("On-time rate (%)"), "data": [num(s["on_time_rate"]) for s in result["overall"]["stages"]]}
            ],
            "max": 100,
        },
        "days": {
            "title": _("Average utility working days"),
            "labels": [c["category_label"] for c in cats],
            "series": [
                {"name": _("Average utility working days"), "data": [num(c["average_working_days"]) for c in cats]},
                {"name": _("Median utility working days"), "data": [num(c["median_working_days"]) for c in cats]},
            ],
        },
        "volume": {
            "title": _("Applications accepted and completed"),
            "labels": [c["category_label"] for c in cats],
            "series": [
                {"name": pgettext("public statistics", "Accepted"), "data": [c["accepted"] for c in cats]},
                {"name": pgettext("public statistics", "Completed"), "data": [c["completed"] for c in cats]},
            ],
        },
    }


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    from sunshine.metrics.selectors import statistics as compute

    form, from_d, to_d, category, node = _range(request)
    result = compute(from_d, to_d, category, _unit_id(node))
    query = urlencode(
        {
            "from_date": from_d.isoformat(),
            "to_date": to_d.isoformat(),
            "category": category or "",
            "unit": node.code if node is not None and node.parent_id is not None else "",
        }
    )
    return render(
        request,
        "portal_openinfo/statistics.html",
        {
            "form": form,
            "from_date": from_d,
            "to_date": to_d,
            "result": result,
            "charts": _chart_data(result),
            "query": query,
            "unit": node,
        },
    )


def _cell(v: Any) -> Any:
    return "" if v is None else v


def _header() -> list[str]:
    return [
        pgettext("public statistics", "Category"),
        pgettext("public statistics", "Node"),
        pgettext("public statistics", "Accepted"),
        pgettext("public statistics", "Completed"),
        pgettext("public statistics", "On time"),
        pgettext("public statistics", "On-time rate (%)"),
        pgettext("public statistics", "Completed beyond the limit"),
        pgettext("public statistics", "Still open past the limit"),
        pgettext("public statistics", "Average utility working days"),
        pgettext("public statistics", "Median utility working days"),
        pgettext("public statistics", "Average calendar days"),
        pgettext("public statistics", "Median calendar days"),
    ]


def _filename(from_d: date, to_d: date, ext: str) -> str:
    return f"statistics-{from_d:%Y%m%d}-{to_d:%Y%m%d}.{ext}"


@require_GET
def statistics_csv(request: HttpRequest) -> HttpResponse:
    from sunshine.metrics.selectors import TABLE_COLUMNS, table_rows
    from sunshine.metrics.selectors import statistics as compute

    _form, from_d, to_d, category, node = _range(request)
    rows = table_rows(compute(from_d, to_d, category, _unit_id(node)))
    buf = io.StringIO()
    buf.write("\ufeff")  # Excel opens UTF-8 CSV as Chinese only with a BOM
    writer = csv.writer(buf)
    writer.writerow(safe_row(_header()))
    for r in rows:
        writer.writerow(safe_row(_cell(r[c]) for c in TABLE_COLUMNS))
    response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(from_d, to_d, "csv")}"'
    return response


@require_GET
def statistics_xlsx(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook

    from sunshine.metrics.selectors import TABLE_COLUMNS, table_rows
    from sunshine.metrics.selectors import statistics as compute

    _form, from_d, to_d, category, node = _range(request)
    rows = table_rows(compute(from_d, to_d, category, _unit_id(node)))
    wb = Workbook()
    ws = wb.active
    ws.title = _("Statistics")[:31]
    ws.append([pgettext("public statistics", "Period"), f"{from_d:%Y-%m-%d} – {to_d:%Y-%m-%d}"])
    ws.append(safe_row(_header()))
    for r in rows:
        ws.append(safe_row(_cell(r[c]) for c in TABLE_COLUMNS))
    for col in "CDEFGHIJKL":
        for cell in ws[col][2:]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "0.00"
    ws.freeze_panes = "C3"
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(
        out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(from_d, to_d, "xlsx")}"'
    return response


# --- hotlines and service halls per unit (issue 19) ----------------------------------------------


def _public_unit(raw: str) -> units.Node | None:
    """The company level a visitor chose (province, city or county); the top unit otherwise."""
    tree = units.tree()
    node = tree.by_code(raw) if raw else None
    if node is None or node.kind not in units.PUBLIC_KINDS:
        node = tree.nodes.get(tree.top) if tree.top is not None else None
    return node


@require_GET
def places(request: HttpRequest) -> HttpResponse:
    """A unit's hotline and the service halls and supply stations under it, with a selector of
    the company's levels (province, city, county). A unit without its own hotline gives the
    nearest one above it, else the supervision hotline."""
    tree = units.tree()
    chosen = _public_unit(request.GET.get("unit", ""))
    fallback = settings.SUNSHINE_HOTLINE
    choices = [(n.code, "\u3000" * (n.depth - 1) + n.name) for n in tree.public_units()]
    halls = [
        {"name": n.name, "kind": n.kind, "address": n.address, "hotline": tree.hotline(n.id) or fallback}
        for n in tree.places(chosen.id if chosen is not None else None)
    ]
    return render(
        request,
        "portal_openinfo/places.html",
        {
            "unit": chosen,
            "choices": choices if len(choices) > 1 else [],
            "hotline": (tree.hotline(chosen.id) if chosen is not None else "") or fallback,
            "halls": halls,
        },
    )
