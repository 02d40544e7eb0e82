"""Public pages: the fee catalogue, the qualified contractors and the statistics.

Thin views: parse a GET form, call a selector, render. Nothing here changes state.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from sunshine.directory import rules, selectors
from sunshine.portal.openinfo.forms import CalculatorForm, CatalogueDateForm, ContractorFilterForm


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
