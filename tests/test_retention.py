"""Retention: applications closed past the retention period lose their personal data; the open
ones, the statistics and the audit chain do not change."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.management import call_command

from sunshine.applications import services
from sunshine.applications.audit import verify
from sunshine.applications.models import Application, Customer, StageInstance
from sunshine.applications.validation import validate_intake
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db


def at(day: str):
    return time_machine.travel(f"{day} 10:00 +0800", tick=False)


def intake(personas, day: str, **overrides) -> Application:
    with at(day):
        return services.intake(
            validate_intake(intake_body(**overrides), date.fromisoformat(day)), personas["clerk"]
        ).application


@pytest.fixture
def cases(personas):
    """The same customer (one ID number): an application cancelled in 2020 and one open now."""
    old = intake(personas, "2020-03-02", customer__name="王老", address="太原市晋源区老街1号")
    with at("2020-03-03"):
        services.cancel(old.number, None, reason="客户撤回")
    recent = intake(
        personas, "2026-11-02", customer__name="李新", customer__phone="13900000002", address="太原市晋源区新街2号"
    )
    return old, recent


def test_only_applications_closed_past_retention_are_anonymised(cases, capsys):
    old, recent = cases
    stages_before = list(StageInstance.objects.order_by("pk").values_list("pk", "status", "started_on", "deadline"))
    with at("2026-11-27"):
        call_command("anonymise")
    assert capsys.readouterr().out.startswith("Retention 1825 days: 1 applications")
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.customer_name, old.contact_phone, old.address) == ("（已匿名）", "", "（已匿名）")
    assert (recent.customer_name, recent.address) == ("李新", "太原市晋源区新街2号")
    assert list(StageInstance.objects.order_by("pk").values_list("pk", "status", "started_on", "deadline")) == (
        stages_before
    )
    assert verify() == []
    # A second run changes nothing.
    with at("2026-11-27"):
        call_command("anonymise")
    assert "0 applications and 0 customers" in capsys.readouterr().out


def test_a_customer_keeps_their_identity_while_another_application_is_within_retention(cases):
    old, recent = cases
    assert old.customer_id == recent.customer_id  # the same ID number: one customer
    with at("2026-11-27"):
        call_command("anonymise")
    customer = Customer.objects.get(pk=old.customer_id)
    assert customer.id_number == "11010519491231002X"
    with at("2032-01-01"):
        services.cancel(recent.number, None, reason="撤回")
    with at("2037-06-01"):
        call_command("anonymise")
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.id_number) == ("（已匿名）", "", f"X{customer.pk:017d}")
