"""Intake validation (domain.md §7): identities, phones, capacity, all errors at once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from sunshine.applications.validation import (
    ValidationFailed,
    check_resident_id,
    check_uscc,
    normalise_phone,
    resident_id_check_character,
    validate_intake,
)
from tests.conftest import intake_body

TODAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English (Chinese is the default language)."""
    with translation.override("en"):
        yield


# --- resident ID ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["11010519491231002X", "360426199101010071"])
def test_resident_id_vectors_are_valid(number):
    assert check_resident_id(number, TODAY) == (number, None)


def test_lowercase_x_is_normalised_and_spaces_trimmed():
    assert check_resident_id(" 11010519491231002x ", TODAY) == ("11010519491231002X", None)


def test_domain_formula_matches_the_vectors():
    assert resident_id_check_character("11010519491231002") == "X"
    assert resident_id_check_character("36042619910101007") == "1"


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310020",  # wrong check character
        "110105194912310021",
        "360426199101010070",
        "360426199101010079",
        "36042619910101007X",
    ],
)
def test_wrong_check_character_is_rejected(number):
    normalised, message = check_resident_id(number, TODAY)
    assert normalised is None
    assert message and "not valid" in message


@pytest.mark.parametrize(
    "number",
    [
        "1101051949123100",
        "11010519491231002X1",
        "",
        "   ",
        "11010519491231002Y",
        "1101051949123100AX",
        "１10105194912310０2X",
    ],
)
def test_malformed_resident_ids_are_rejected(number):
    assert check_resident_id(number, TODAY)[0] is None


def _ric(first14: str, seq: str = "002") -> str:
    body = first14 + seq
    return body + ric.calc_check_digit(body + "0")


def test_impossible_birth_date_is_rejected_even_with_a_correct_check_character():
    number = _ric("11010519490231")  # 31 February
    normalised, message = check_resident_id(number, TODAY)
    assert normalised is None
    assert message and "birth date" in message


def test_birth_date_in_the_future_is_rejected_today_is_accepted():
    tomorrow = _ric("110105" + (TODAY + timedelta(days=1)).strftime("%Y%m%d"))
    normalised, message = check_resident_id(tomorrow, TODAY)
    assert normalised is None and message and "future" in message
    born_today = _ric("110105" + TODAY.strftime("%Y%m%d"))
    assert check_resident_id(born_today, TODAY) == (born_today, None)


def test_a_region_code_unknown_to_stdnum_is_accepted():
    # domain.md §7 checks the birth date and the check character only; a region code missing
    # from a library's county table must not turn a customer away.
    number = _ric("99999919900101")
    assert not ric.is_valid(number)
    assert check_resident_id(number, TODAY) == (number, None)


resident_ids = st.builds(
    lambda region, birth, seq: region + birth.strftime("%Y%m%d") + seq,
    st.from_regex(r"[1-8][0-9]{5}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.from_regex(r"[0-9]{3}", fullmatch=True),
)


@given(resident_ids)
def test_any_valid_generated_resident_id_is_accepted(first17):
    number = first17 + ric.calc_check_digit(first17 + "0")
    assert check_resident_id(number, TODAY) == (number, None)
    assert check_resident_id(number.lower(), TODAY) == (number, None)


@given(resident_ids, st.sampled_from("0123456789Xx"))
def test_any_corruption_of_the_check_character_is_rejected(first17, replacement):
    good = ric.calc_check_digit(first17 + "0")
    if replacement.upper() == good:
        replacement = "0" if good != "0" else "1"
    assert check_resident_id(first17 + replacement, TODAY)[0] is None


# --- USCC -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["91110000600037341L", "91350100M000100Y43"])
def test_uscc_vectors_are_valid(number):
    assert check_uscc(number) == (number, None)
    assert check_uscc(number.lower()) == (number, None)


@pytest.mark.parametrize(
    "number",
    [
        "91110000600037341M",
        "91350100M000100Y44",
        "91110000600037341",
        "91110000600037341LL",
        "91110000600O37341L",
        "9111000060003734IL",
        "",
    ],
)
def test_invalid_usccs_are_rejected(number):
    normalised, message = check_uscc(number)
    assert normalised is None and message


def test_uscc_with_a_letter_registration_code_is_accepted():
    # rural collective economic organisations carry codes beginning with N (domain.md §7: the
    # 18 characters come from the alphabet; only the check character is computed)
    from sunshine.applications.validation import uscc_check_character

    body = "N2110000MA0000000"
    assert check_uscc(body + uscc_check_character(body)) == (body + uscc_check_character(body), None)


# --- phone ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "008613800138000",
        "+86 138 0013 8000",
        "138-0013-8000",
        " 0086-138-0013-8000 ",
        "+86-13800138000",
    ],
)
def test_phone_is_normalised(raw):
    assert normalise_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    "raw", ["", "12800138000", "1380013800", "138001380000", "03511234567", "+85213800138000", "abc", "86"]
)
def test_bad_phones_are_rejected(raw):
    assert normalise_phone(raw) is None


# --- the whole body -------------------------------------------------------------------------------


def test_a_valid_body_is_normalised():
    data = validate_intake(
        intake_body(
            customer__id_number="11010519491231002x",
            customer__phone="+86 138-0013-8000",
            requested_capacity="8.50",
        ),
        TODAY,
    )
    assert data.id_number == "11010519491231002X"
    assert data.phone == "13800138000"
    assert data.requested_capacity == Decimal("8.50")
    assert data.customer_name == "张三"


def test_every_failing_field_is_reported_at_once_with_dotted_paths():
    body = intake_body(
        category="lv_residential",
        business_type="renovation",
        channel="",
        customer__name="  ",
        customer__id_number="110105194912310020",
        customer__phone="12345",
        address="",
        requested_capacity=0,
        capacity_unit="MW",
        key_project="yes",
    )
    with pytest.raises(ValidationFailed) as exc:
        validate_intake(body, TODAY)
    assert set(exc.value.fields) == {
        "business_type",
        "channel",
        "customer.name",
        "customer.id_number",
        "customer.phone",
        "address",
        "requested_capacity",
        "capacity_unit",
        "key_project",
    }
    assert all(isinstance(m, list) and m and all(isinstance(x, str) for x in m) for m in exc.value.fields.values())


def test_missing_customer_object_is_reported():
    body = intake_body()
    del body["customer"]
    with pytest.raises(ValidationFailed) as exc:
        validate_intake(body, TODAY)
    assert "customer" in exc.value.fields


def test_wrong_id_type_for_the_number():
    with pytest.raises(ValidationFailed) as exc:
        validate_intake(intake_body(customer__id_type="uscc"), TODAY)
    assert set(exc.value.fields) == {"customer.id_number"}


@pytest.mark.parametrize(
    ("category", "capacity", "ok"),
    [
        ("lv_residential", 8, True),
        ("lv_residential", "0.01", True),
        ("lv_residential", 100, True),
        ("lv_residential", "100.01", False),
        ("lv_residential", 0, False),
        ("lv_residential", -5, False),
        ("lv_non_residential", 160, True),
        ("lv_non_residential", 161, False),
        ("hv_single", 5000, True),
        ("hv_dual", 400000, True),
        ("hv_dual", 400001, False),
        ("lv_residential", "8.123", False),
        ("lv_residential", "NaN", False),
        ("lv_residential", "Infinity", False),
        ("lv_residential", "eight", False),
        ("lv_residential", True, False),
        ("lv_residential", None, False),
        ("lv_residential", [8], False),
    ],
)
def test_capacity_positive_and_plausible_per_category(category, capacity, ok):
    body = intake_body(category=category, requested_capacity=capacity)
    if ok:
        assert validate_intake(body, TODAY).requested_capacity == Decimal(str(capacity))
    else:
        with pytest.raises(ValidationFailed) as exc:
            validate_intake(body, TODAY)
        assert set(exc.value.fields) == {"requested_capacity"}


# --- choices ---------------------------------------------------------------------------------------


def test_a_choice_that_is_not_one_of_the_values_is_refused_whatever_its_type():
    body = {**intake_body(), "channel": ["counter"], "business_type": 5, "capacity_unit": "MW"}
    with pytest.raises(ValidationFailed) as caught:
        validate_intake(body, TODAY)
    assert caught.value.fields == {
        "channel": ["Choose one of: counter, online, mobile_app, hotline."],
        "business_type": ["Choose one of: new_connection, capacity_increase."],
        "capacity_unit": ["Choose one of: kW, kVA."],
    }
    assert validate_intake({**intake_body(), "channel": "online"}, TODAY).channel == "online"
