"""The open-application counts that assignment reads (ManagerLoad) follow every change the services
make, and a recount from the applications gives the same numbers."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from sunshine.applications import services
from sunshine.applications.models import Application, ManagerLoad
from sunshine.applications.validation import validate_intake
from sunshine.errors import Conflict
from tests.conftest import intake_body


def at(day: str = "2026-11-02"):
    return time_machine.travel(f"{day} 10:00 +0800", tick=False)


def new_app(clerk, i: int) -> Application:
    with at():
        body = intake_body(address=f"晋源区{i}号")
        return services.intake(validate_intake(body, date(2026, 11, 2)), clerk).application


def loads() -> dict[str, int]:
    return {m.user.username: m.open_count for m in ManagerLoad.objects.select_related("user") if m.open_count}


def recounted() -> dict[str, int]:
    services.recount_manager_loads()
    return loads()


@pytest.mark.django_db
def test_counts_follow_intake_completion_cancellation_and_reassignment(personas):
    clerk, admin = personas["clerk"], personas["admin"]
    apps = [new_app(clerk, i) for i in range(5)]
    assert [a.customer_manager.username for a in apps] == ["alice", "bob", "alice", "bob", "alice"]
    assert loads() == {"alice": 3, "bob": 2}
    with at():
        services.cancel(apps[0].number, clerk, reason="客户撤回")
        services.reassign(apps[2].number, admin, username="bob", reason="调整")
        services.pause(apps[1].number, admin, reason_code="customer_request", reason="客户要求")  # still open
        # alice's last one through to the end: survey, then connection completes the application
        services.complete_stage(apps[4].number, "survey", admin)
        services.complete_stage(apps[4].number, "connection", admin)
    assert Application.objects.get(pk=apps[4].pk).status == "completed"
    assert loads() == {"bob": 3}
    assert recounted() == {"bob": 3}
    # the least-loaded manager gets the next one: alice (0) before bob (3)
    assert new_app(clerk, 9).customer_manager.username == "alice"
    assert loads() == {"alice": 1, "bob": 3}


@pytest.mark.django_db
def test_a_refused_change_leaves_the_counts_alone(personas):
    clerk = personas["clerk"]
    app = new_app(clerk, 1)
    with at(), pytest.raises(Conflict):
        services.reassign(app.number, personas["admin"], username="alice", reason="同一人")
    assert loads() == {"alice": 1}


@pytest.mark.django_db
def test_the_recount_command_repairs_counts_after_a_load_that_bypassed_the_services(personas):
    from io import StringIO

    from django.core.management import call_command

    new_app(personas["clerk"], 1)
    new_app(personas["clerk"], 2)
    ManagerLoad.objects.all().delete()  # as after a bulk load
    out = StringIO()
    call_command("recount_manager_loads", stdout=out)
    assert out.getvalue().strip() == "2 customer manager(s) with open applications recounted."
    assert loads() == {"alice": 1, "bob": 1}
