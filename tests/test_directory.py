"""The fee catalogue and the qualified contractors: rules, selectors and services.

Dates: 2026-11-27 is a Friday. The first catalogue (migration) is in force from 2021-03-01;
10 kV high-reliability rate 165.00 yuan/kVA.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from sunshine.applications import services as app_services
from sunshine.applications.models import Application, Event
from sunshine.applications.validation import validate_intake
from sunshine.directory import rules, selectors, services
from sunshine.directory.models import Charge, Contractor, ContractorChoice, FeeItem, FeeSchedule
from sunshine.directory.seed import DEMO_CONTRACTORS, demo_credit_code, seed_demo_contractors
from sunshine.errors import Conflict, NotFound, ValidationFailed
from tests.conftest import intake_body

D = date


@pytest.fixture(autouse=True)
def _chinese():
    """Selectors outside a request speak the active language: Chinese, whatever ran before."""
    with translation.override("zh-hans"):
        yield


def at(day: str, hm: str = "10:00"):
    return time_machine.travel(f"{day} {hm} +0800", tick=False)


def new_app(actor, when: str = "2026-11-23", **overrides: Any) -> Application:
    with at(when):
        data = validate_intake(intake_body(**overrides), D.fromisoformat(when))
        return app_services.intake(data, actor).application


# --- pure rules ----------------------------------------------------------------------------------


def test_the_high_reliability_fee_is_capacity_times_rate_exact_to_the_fen():
    assert rules.high_reliability_fee(Decimal("1250.5"), Decimal("165.00")) == Decimal("206332.50")
    assert rules.high_reliability_fee(Decimal("0.03"), Decimal("165.00")) == Decimal("4.95")
    # half up at the fen, once, at the end: 0.333 × 1.5 = 0.4995 → 0.50
    assert rules.high_reliability_fee(Decimal("0.333"), Decimal("1.50")) == Decimal("0.50")
    assert rules.high_reliability_fee(Decimal("2000"), Decimal("130.00")) == Decimal("260000.00")


@pytest.mark.parametrize("bad", [Decimal("0"), Decimal("-1"), Decimal("10000000.01")])
def test_the_calculator_refuses_impossible_capacities(bad):
    with pytest.raises(rules.BadAmount):
        rules.high_reliability_fee(bad, Decimal("165"))


@given(
    cents=st.integers(min_value=1, max_value=10**9),
    rate_cents=st.integers(min_value=1, max_value=10**6),
)
def test_the_fee_equals_integer_arithmetic_in_fen(cents, rate_cents):
    """Capacity in hundredths of a kVA × rate in fen, rounded half up to the fen, with integers only."""
    capacity = Decimal(cents) / 100
    rate = Decimal(rate_cents) / 100
    if capacity > rules.MAX_QUANTITY:
        return
    product = cents * rate_cents  # in hundredths of a fen
    fen, rest = divmod(product, 100)
    fen += 1 if rest >= 50 else 0
    assert rules.high_reliability_fee(capacity, rate) == Decimal(fen) / 100


def test_to_decimal_reads_strings_and_refuses_garbage():
    assert rules.to_decimal("12.30") == Decimal("12.30")
    assert rules.to_decimal(0.1) == Decimal("0.1")  # through str: no binary noise
    for bad in ("abc", "NaN", "Infinity", ""):
        with pytest.raises(rules.BadAmount):
            rules.to_decimal(bad)


def test_pinyin_search_key_has_full_pinyin_and_initials():
    assert rules.search_key("晋阳电力") == "jinyangdianli jydl"


def test_the_neutral_order_depends_only_on_the_seed_and_the_codes():
    codes = [demo_credit_code(i) for i in range(1, 16)]
    one = rules.neutral_order(codes, "abc", key=lambda c: c)
    assert rules.neutral_order(list(reversed(codes)), "abc", key=lambda c: c) == one  # input order is irrelevant
    assert sorted(one) == sorted(codes)
    others = {tuple(rules.neutral_order(codes, seed, key=lambda c: c)) for seed in ("1", "2", "3", "4", "5")}
    assert len(others) == 5  # another visit, another order


def test_every_unit_leads_equally_often_over_many_visits():
    codes = [demo_credit_code(i) for i in range(1, 6)]
    firsts: dict[str, int] = {c: 0 for c in codes}
    for n in range(5000):
        firsts[rules.neutral_order(codes, f"{n:x}", key=lambda c: c)[0]] += 1
    assert all(800 <= v <= 1200 for v in firsts.values()), firsts


# --- catalogue --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_migration_publishes_the_first_catalogue_and_the_abolished_charges():
    schedule = selectors.schedule_in_force(D(2026, 11, 27))
    assert schedule is not None and schedule.version == 1 and schedule.effective_from == D(2021, 3, 1)
    items = {i.code: i for i in selectors.items_of(schedule)}
    assert items["high_reliability_10kv"].amount == Decimal("165.00")
    assert items["high_reliability_10kv"].unit == "kVA"
    assert [i.voltage_level for i in selectors.rates_of(list(items.values()))] == ["0.4kV", "10kV", "35kV", "110kV"]
    names = [a.name_zh for a in selectors.abolished_charges()]
    assert names[:3] == ["移表费", "计量装置赔偿费", "调试费"]
    assert "建筑区划红线外工程费用" in names and "代收代缴其他费用" in names
    assert selectors.schedule_in_force(D(2021, 2, 28)) is None


@pytest.mark.django_db
def test_a_new_version_applies_from_its_effective_date():
    v2 = FeeSchedule.objects.create(version=2, title="新目录", effective_from=D(2027, 1, 1), published_reference="某文")
    FeeItem.objects.create(
        schedule=v2,
        code="high_reliability_10kv",
        name_zh="高可靠性供电费（10 kV）",
        name_en="x",
        legal_basis="某文",
        basis="per_unit",
        amount=Decimal("150.00"),
        unit="kVA",
        voltage_level="10kV",
        group="high_reliability",
    )
    assert selectors.schedule_in_force(D(2026, 12, 31)).version == 1
    assert selectors.schedule_in_force(D(2027, 1, 1)).version == 2
    assert [s.version for s in selectors.schedules()] == [2, 1]


# --- record_charge ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_catalogue_fee_is_charged_at_rate_times_quantity_with_an_event(personas):
    app = new_app(personas["clerk"], category="hv_dual", requested_capacity=2000, capacity_unit="kVA")
    with at("2026-11-27", "15:00"):
        charge = services.record_charge(app.number, "high_reliability_10kv", personas["alice"], quantity="1250.5")
    assert charge.amount == Decimal("206332.50") and charge.quantity == Decimal("1250.5")
    assert charge.fee_item.code == "high_reliability_10kv"
    event = Event.objects.filter(application=app).order_by("-id").first()
    assert event.type == "charge_recorded" and event.actor == personas["alice"]
    assert event.data == {
        "code": "high_reliability_10kv",
        "name": "高可靠性供电费（10 kV）",
        "quantity": "1250.5",
        "unit": "kVA",
        "amount": "206332.50",
        "schedule_version": 1,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["meter_relocation", "commissioning", "", "high_reliability_220kv"])
def test_anything_outside_the_catalogue_is_refused_and_nothing_written(personas, code):
    app = new_app(personas["clerk"])
    events = Event.objects.count()
    with pytest.raises(services.NotInCatalogue) as exc:
        services.record_charge(app.number, code, personas["alice"], quantity="10")
    assert exc.value.code == "charge_not_in_catalogue" and exc.value.status == 422
    assert Charge.objects.count() == 0 and Event.objects.count() == events


@pytest.mark.django_db
def test_an_item_of_a_version_not_yet_in_force_is_refused(personas):
    v2 = FeeSchedule.objects.create(version=2, title="新目录", effective_from=D(2027, 1, 1), published_reference="某文")
    FeeItem.objects.create(
        schedule=v2,
        code="new_fee",
        name_zh="新费",
        name_en="x",
        legal_basis="某文",
        basis="fixed",
        amount=Decimal("10"),
        unit="",
        group="",
    )
    app = new_app(personas["clerk"])
    with at("2026-12-31"), pytest.raises(services.NotInCatalogue):
        services.record_charge(app.number, "new_fee", personas["alice"])
    with at("2027-01-04"):
        assert services.record_charge(app.number, "new_fee", personas["alice"]).amount == Decimal("10.00")
    with at("2027-01-04"), pytest.raises(services.NotInCatalogue):  # v1 items are no longer in force
        services.record_charge(app.number, "high_reliability_10kv", personas["alice"], quantity="1")


@pytest.mark.django_db
def test_an_amount_other_than_the_catalogue_amount_is_refused(personas):
    app = new_app(personas["clerk"])
    with pytest.raises(services.NotInCatalogue) as exc:
        services.record_charge(app.number, "high_reliability_10kv", personas["alice"], quantity="10", amount="2000")
    assert exc.value.code == "charge_amount_mismatch"
    charge = services.record_charge(
        app.number, "high_reliability_10kv", personas["alice"], quantity="10", amount="1650"
    )
    assert charge.amount == Decimal("1650.00")
    assert Charge.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [None, "0", "-5", "abc"])
def test_a_per_unit_fee_needs_a_positive_quantity(personas, quantity):
    app = new_app(personas["clerk"])
    with pytest.raises(ValidationFailed) as exc:
        services.record_charge(app.number, "high_reliability_10kv", personas["alice"], quantity=quantity)
    assert list(exc.value.fields) == ["quantity"]
    assert Charge.objects.count() == 0


@pytest.mark.django_db
def test_no_charge_on_a_cancelled_or_unknown_application(personas):
    app = new_app(personas["clerk"])
    app_services.cancel(app.number, personas["alice"], reason="客户撤回")
    with pytest.raises(Conflict):
        services.record_charge(app.number, "high_reliability_10kv", personas["alice"], quantity="1")
    with pytest.raises(NotFound):
        services.record_charge("YK0000000000000", "high_reliability_10kv", personas["alice"], quantity="1")
    assert Charge.objects.count() == 0


# --- contractors ----------------------------------------------------------------------------------


@pytest.fixture
def contractors(db) -> dict[str, Contractor]:
    seed_demo_contractors(Contractor)
    return {c.name: c for c in Contractor.objects.all()}


@pytest.mark.django_db
def test_expired_and_inactive_units_are_never_listed(contractors):
    today = D(2026, 11, 27)
    listed = {c.name for c in selectors.contractor_page(today, page_size=200).results}
    assert len(contractors) == len(DEMO_CONTRACTORS) == 15
    assert "示例并州能源设计有限公司" not in listed  # expired 2026-08-31
    assert "示例杏花岭机电安装有限公司" not in listed  # expired 2026-10-31
    assert len(listed) == 13
    Contractor.objects.filter(name="示例三晋电气设备有限公司").update(active=False)
    assert "示例三晋电气设备有限公司" not in {c.name for c in selectors.contractor_page(today, page_size=200).results}
    # a licence is valid through its expiry day
    assert "示例杏花岭机电安装有限公司" in {c.name for c in selectors.contractor_page(D(2026, 10, 31)).results}


@pytest.mark.django_db
def test_filters_by_kind_licence_class_name_pinyin_and_area(contractors):
    today = D(2026, 11, 27)

    def names(**kw):
        return sorted(c.name for c in selectors.contractor_page(today, **kw).results)

    assert len(names(kind="construction")) == 5
    assert names(kind="construction", licence_class="ims_4") == ["示例尖草坪电气安装有限公司"]
    assert names(text="汾") == ["示例汾河工程设计院", "示例汾阳变压器制造有限公司"]
    assert names(text="FenHe") == ["示例汾河工程设计院"]  # pinyin, any case
    assert names(text="slfhgc") == ["示例汾河工程设计院"]  # initials
    assert names(kind="design", text="小店区") == ["示例龙城电气设计事务所"]


@pytest.mark.django_db
def test_pages_of_one_visit_keep_one_order_and_cover_everyone_once(contractors, django_assert_num_queries):
    today = D(2026, 11, 27)
    with django_assert_num_queries(1):
        first = selectors.contractor_page(today, seed="5eed", page=1, page_size=5)
    pages = [first] + [selectors.contractor_page(today, seed="5eed", page=n, page_size=5) for n in (2, 3)]
    seen = [c.credit_code for p in pages for c in p.results]
    assert len(seen) == 13 and len(set(seen)) == 13 and first.pages == 3
    again = selectors.contractor_page(today, seed="5eed", page=1, page_size=5)
    assert [c.pk for c in again.results] == [c.pk for c in first.results]
    fresh = selectors.contractor_page(today, page_size=5)
    assert fresh.seed != "5eed" and len(fresh.seed) == 16
    assert selectors.contractor_page(today, seed="<script>").seed != "<script>"


@pytest.mark.django_db
def test_a_choice_of_a_qualified_unit_is_recorded_once_per_kind_and_replaced_with_an_event(personas, contractors):
    app = new_app(personas["clerk"], category="hv_single", requested_capacity=800, capacity_unit="kVA")
    first = contractors["示例迎泽电力安装工程有限公司"]
    second = contractors["示例晋祠输变电工程有限公司"]
    with at("2026-11-27", "11:00"):
        choice = services.record_contractor_choice(app.number, "construction", first.pk, personas["alice"])
    assert (choice.kind, choice.contractor, choice.recorded_by) == ("construction", first, personas["alice"])
    before = Event.objects.count()
    services.record_contractor_choice(app.number, "construction", first.pk, personas["alice"])
    assert Event.objects.count() == before  # the same unit again changes nothing
    services.record_contractor_choice(app.number, "construction", second.pk, personas["bob"])
    services.record_contractor_choice(app.number, "design", contractors["示例汾河工程设计院"].pk, personas["bob"])
    assert sorted(ContractorChoice.objects.filter(application=app).values_list("kind", "contractor__name")) == [
        ("construction", "示例晋祠输变电工程有限公司"),
        ("design", "示例汾河工程设计院"),
    ]
    chosen = list(
        Event.objects.filter(application=app, type="contractor_chosen").order_by("id").values_list("data", flat=True)
    )
    assert [(d["kind"], d["contractor"], d["replaced"]) for d in chosen] == [
        ("construction", "示例迎泽电力安装工程有限公司", None),
        ("construction", "示例晋祠输变电工程有限公司", "示例迎泽电力安装工程有限公司"),
        ("design", "示例汾河工程设计院", None),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("construction", "示例杏花岭机电安装有限公司"),  # licence expired
        ("design", "示例迎泽电力安装工程有限公司"),  # wrong kind
    ],
)
def test_an_unqualified_choice_is_refused_and_nothing_changes(personas, contractors, kind, name):
    app = new_app(personas["clerk"])
    events = Event.objects.count()
    with at("2026-11-27"), pytest.raises(services.NotQualified) as exc:
        services.record_contractor_choice(app.number, kind, contractors[name].pk, personas["alice"])
    assert exc.value.code == "contractor_not_qualified"
    assert ContractorChoice.objects.count() == 0 and Event.objects.count() == events


@pytest.mark.django_db
def test_an_inactive_unit_or_an_unknown_kind_is_refused(personas, contractors):
    app = new_app(personas["clerk"])
    unit = contractors["示例三晋电气设备有限公司"]
    Contractor.objects.filter(pk=unit.pk).update(active=False)
    with pytest.raises(services.NotQualified):
        services.record_contractor_choice(app.number, "supply", unit.pk, personas["alice"])
    with pytest.raises(ValidationFailed):
        services.record_contractor_choice(app.number, "broker", unit.pk, personas["alice"])
    with pytest.raises(services.NotQualified):
        services.record_contractor_choice(app.number, "supply", 999999, personas["alice"])
    assert ContractorChoice.objects.count() == 0
