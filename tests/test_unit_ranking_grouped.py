"""The ranking of units (reports.sections.Computer.unit_figures) computed in one grouped statement
per figure equals the figures of each unit computed on its own (a Computer per unit, as the unit's
own report computes them), for a city's counties and for all the counties of the province."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sunshine.accounts import units
from sunshine.accounts.models import UnitKind
from sunshine.reports.sections import Computer, _r1, _rate

NOW = "2026-11-27 10:00 +0800"
START, END = date(2026, 11, 1), date(2026, 11, 15)


def one_by_one(parent: Computer, code: str) -> dict[str, object]:
    """What the ranking said of one unit before it was grouped: a report of that unit."""
    sub = Computer(parent.start, parent.end, {**parent.filters, "unit": code})
    done = sub.completed_apps(parent.start_dt, parent.end_dt, parent.start, parent.end)
    cats = sub.category_counts(parent.start_dt, parent.end_dt)
    overdue = len(sub.overdue_rows(parent.end, parent.end_dt))
    tree = units.tree()
    below = set(tree.below(tree.by_code(code).id))
    complaints = sum(n for unit_id, n in parent._complaints_by_unit().items() if unit_id in below)
    return {
        "accepted": sum(r["accepted"] for r in cats.values()),
        "completed": done["n"],
        "on_time_rate": _rate(done["on_time"], done["n"]),
        "avg_days": _r1(done["avg"]),
        "complaints": complaints,
        "promises_broken": done["n"] - done["on_time"] + overdue,
    }


@pytest.mark.django_db
def test_grouped_ranking_equals_each_units_own_figures():
    with time_machine.travel(NOW, tick=False):
        call_command("generate_load", applications=1500, seed=9, batch_size=500, stdout=StringIO())
        for unit, kind, count in (("ty", None, 10), (None, UnitKind.COUNTY, 117), ("dt", UnitKind.COUNTY, 10)):
            report = Computer(START, END, {"unit": unit} if unit else {})
            with CaptureQueriesContext(connection) as ctx:
                ranking = report.unit_figures(kind)
            assert len(ranking) == count
            assert len(ctx.captured_queries) <= 8  # whatever the number of units ranked
            assert [r["rank"] for r in ranking] == list(range(1, count + 1))
            assert sum(r["completed"] for r in ranking) > 0
            for r in ranking:
                keys = ("accepted", "completed", "on_time_rate", "avg_days", "complaints", "promises_broken")
                got = {k: r[k] for k in keys}
                assert got == one_by_one(report, r["code"]), r["code"]
