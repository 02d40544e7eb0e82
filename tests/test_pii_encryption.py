"""ID numbers and phones are encrypted at rest (AES-GCM, key from the environment), found through
a keyed blind index, readable after a key rotation, and refused with a clear error under a
wrong key."""

from __future__ import annotations

import base64
import importlib
import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.checks import run_checks
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import Client, override_settings

from sunshine.applications.models import Application, Customer
from sunshine.notifications.models import Message
from sunshine.pii import crypto
from sunshine.pii.crypto import PiiError, id_index, phone_index
from tests.conftest import intake_body

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
ID = "11010519491231002X"
PHONE = "13912345678"
KEY_1 = base64.b64encode(bytes(range(32))).decode()
KEY_2 = base64.b64encode(bytes(range(100, 132))).decode()
INDEX_KEY = base64.b64encode(b"i" * 32).decode()

COUNTER_FORM = {
    "customer_name": "张三",
    "id_type": "resident_id",
    "id_number": ID,
    "phone": PHONE,
    "address": "太原市晋源区晋祠路一段1号",
    "business_type": "new_connection",
    "requested_capacity": "8",
    "capacity_unit": "kW",
    "category": "lv_residential",
    "channel": "counter",
    "idempotency_key": "k-1",
}


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=TZ), tick=False)


def tables_holding(*needles: str) -> dict[str, list[str]]:
    """Every table whose raw content (read with a cursor, every column) contains a needle."""
    found: dict[str, list[str]] = {}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {qn(table)}")
            text = "\n".join(repr(row) for row in cursor.fetchall())
            hits = [n for n in needles if n in text]
            if hits:
                found[table] = hits
    return found


def raw(table: str, column: str, pk: int) -> str:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {qn(column)} FROM {qn(table)} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def write_raw(table: str, values: dict[str, str], pk: int) -> None:
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(c)} = %s" for c in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(table)} SET {sets} WHERE id = %s", [*values.values(), pk])


def staff(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


# --- at rest ------------------------------------------------------------------------------------


def test_an_api_intake_stores_no_plaintext_id_or_phone_in_any_table(api_as, django_capture_on_commit_callbacks):
    with at(2026, 11, 2, 10, 0), django_capture_on_commit_callbacks(execute=True):
        r = api_as("clerk").post(
            "/api/v1/applications",
            intake_body(customer__id_number=ID, customer__phone=PHONE),
            HTTP_IDEMPOTENCY_KEY="a1",
        )
    assert r.status_code == 201, r.content
    # The staff API still answers with the values (api-v1.md), decrypted in process.
    assert (r.json()["customer"]["id_number"], r.json()["customer"]["phone"]) == (ID, PHONE)
    app = Application.objects.select_related("customer").get()
    assert (app.customer.id_number, app.customer.phone, app.contact_phone) == (ID, PHONE, PHONE)
    assert Message.objects.filter(channel="sms", application=app).exists()  # the outbox was written
    assert tables_holding(ID, PHONE, ID.lower()) == {}
    stored = raw("applications_customer", "id_number", app.customer.pk)
    assert re.fullmatch(r"\$dev\$[A-Za-z0-9_-]+", stored)
    assert raw("applications_customer", "id_number_index", app.customer.pk) == id_index(ID)
    assert raw("applications_application", "contact_phone_index", app.pk) == phone_index(PHONE)


def test_a_counter_intake_stores_no_plaintext_id_or_phone_in_any_table(personas, django_capture_on_commit_callbacks):
    with at(2026, 11, 2, 10, 0), django_capture_on_commit_callbacks(execute=True):
        r = staff(personas["clerk"]).post("/workbench/intake/", COUNTER_FORM)
    assert r.status_code == 302
    app = Application.objects.select_related("customer").get()
    assert (app.customer.id_number, app.contact_phone) == (ID, PHONE)
    assert tables_holding(ID, PHONE) == {}
    # Equal values encrypt differently (random nonce): the ciphertext says nothing about equality.
    assert raw("applications_customer", "phone", app.customer.pk) != raw(
        "applications_application", "contact_phone", app.pk
    )


# --- look-ups -----------------------------------------------------------------------------------


def test_desk_search_duplicate_warning_and_unique_identity_work_through_the_blind_index(personas):
    c = staff(personas["clerk"])
    with at(2026, 11, 2, 10, 0):
        first = c.post("/workbench/intake/", COUNTER_FORM)
    number = first["Location"].split("/")[3]
    rows = re.compile(r'<tr data-number="(YK\d+)">')
    leader = staff(personas["leader"])  # whose queue holds every open application
    # search by phone (any usual spelling) and by ID number (lower-case x too)
    for q in (PHONE, "+86 139-1234-5678", ID, ID.lower()):
        assert rows.findall(leader.get("/workbench/", {"q": q}).content.decode()) == [number], q
    assert rows.findall(leader.get("/workbench/", {"q": "13912345679"}).content.decode()) == []
    # the duplicate warning: same ID, another address
    again = {**COUNTER_FORM, "idempotency_key": "k-2", "address": "太原市晋源区晋祠路一段2号", "id_number": ID.lower()}
    r = c.post("/workbench/intake/", again)
    assert r.status_code == 409 and number in r.content.decode()
    # the second intake of the same ID reuses the customer, and the database refuses a second one
    r = c.post("/workbench/intake/", {**again, "confirm_duplicate": "on"})
    assert r.status_code == 302
    assert Customer.objects.count() == 1
    assert Application.objects.filter(customer__id_number_index=id_index(ID)).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(id_type="resident_id", id_number=ID.lower(), name="李四", phone="13700000000")


def test_comparing_an_encrypted_column_by_value_is_refused_not_silently_empty():
    with pytest.raises(FieldError, match="blind index"):
        list(Customer.objects.filter(id_number=ID))
    with pytest.raises(FieldError):
        list(Application.objects.filter(contact_phone__endswith="5678"))
    assert list(Application.objects.filter(contact_phone="")) == []


def test_public_progress_matches_the_last_four_digits_of_the_decrypted_phone(api_as):
    with at(2026, 11, 2, 10, 0):
        number = api_as("clerk").post("/api/v1/applications", intake_body(customer__phone=PHONE)).json()["number"]
        assert Client().get("/progress/", {"number": number, "phone_tail": "5678"}).status_code == 200
        assert Client().get("/progress/", {"number": number, "phone_tail": "8000"}).status_code == 404


# --- keys ---------------------------------------------------------------------------------------


def customer(**extra) -> Customer:
    return Customer.objects.create(id_type="resident_id", id_number=ID, name="张三", phone=PHONE, **extra)


def test_a_wrong_key_gives_a_clear_error_not_garbage():
    with override_settings(SUNSHINE_PII_KEYS=f"k1:{KEY_1}"):
        pk = customer().pk
    with override_settings(SUNSHINE_PII_KEYS=f"k1:{KEY_2}"), pytest.raises(PiiError) as wrong:
        Customer.objects.get(pk=pk)
    assert str(wrong.value) == (
        "personal data encrypted with key 'k1' cannot be decrypted: the key configured under that id is not "
        "the one that encrypted it, or the stored value was altered"
    )
    with override_settings(SUNSHINE_PII_KEYS=f"k2:{KEY_2}"), pytest.raises(PiiError) as missing:
        Customer.objects.get(pk=pk)
    assert str(missing.value) == (
        "personal data was encrypted with key 'k1', which SUNSHINE_PII_KEYS does not list: "
        "add that key (after the current one) to read it"
    )
    # an altered ciphertext is refused the same way
    stored = raw("applications_customer", "phone", pk)
    write_raw("applications_customer", {"phone": stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]}, pk)
    with override_settings(SUNSHINE_PII_KEYS=f"k1:{KEY_1}"), pytest.raises(PiiError, match="altered"):
        Customer.objects.get(pk=pk)


def test_rows_under_an_old_key_still_decrypt_after_a_new_key_is_put_first(capsys):
    with override_settings(SUNSHINE_PII_KEYS=f"k1:{KEY_1}", SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        old = customer()
    assert raw("applications_customer", "id_number", old.pk).startswith("$k1$")
    with override_settings(SUNSHINE_PII_KEYS=f"k2:{KEY_2},k1:{KEY_1}", SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        new = Customer.objects.create(id_type="uscc", id_number="91350100M000100Y43", name="某公司", phone=PHONE)
        assert raw("applications_customer", "id_number", new.pk).startswith("$k2$")
        assert (Customer.objects.get(pk=old.pk).id_number, Customer.objects.get(pk=new.pk).id_number) == (
            ID,
            "91350100M000100Y43",
        )
        assert Customer.objects.get(id_type="resident_id", id_number_index=id_index(ID)).pk == old.pk
        # reencrypt_pii moves the old rows onto the new key; then k1 can go
        call_command("reencrypt_pii")
        assert "applications_customer: 2 rows (id_number, phone)" in capsys.readouterr().out
    assert raw("applications_customer", "id_number", old.pk).startswith("$k2$")
    with override_settings(SUNSHINE_PII_KEYS=f"k2:{KEY_2}", SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        assert Customer.objects.get(pk=old.pk).phone == PHONE


def test_deploy_check_warns_without_explicit_keys_and_fails_on_a_malformed_one():
    def pii_checks():
        return sorted(m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("pii."))

    with override_settings(SUNSHINE_PII_KEYS="", SUNSHINE_PII_INDEX_KEY=""):
        assert pii_checks() == ["pii.W001", "pii.W002"]
    with override_settings(SUNSHINE_PII_KEYS=f"k1:{KEY_1}", SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        assert pii_checks() == []
    with override_settings(SUNSHINE_PII_KEYS="k1:not-a-key", SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        assert pii_checks() == ["pii.E001"]


def test_the_blind_index_depends_on_the_index_key_and_the_normalised_value():
    with override_settings(SUNSHINE_PII_INDEX_KEY=INDEX_KEY):
        a = phone_index("13912345678")
        assert phone_index("+86 139 1234 5678") == phone_index("0086-13912345678") == a
        assert id_index(ID.lower()) == id_index(f" {ID} ")
        assert crypto.blind_index("id", "13912345678") != a
    with override_settings(SUNSHINE_PII_INDEX_KEY=base64.b64encode(b"j" * 32).decode()):
        assert phone_index("13912345678") != a
    assert len(a) == 32 and phone_index("") == ""


# --- the data migration ---------------------------------------------------------------------------


def test_the_data_migration_encrypts_plaintext_rows_and_reverses(api_as):
    with at(2026, 11, 2, 10, 0):
        api_as("clerk").post("/api/v1/applications", intake_body(customer__id_number=ID, customer__phone=PHONE))
    app = Application.objects.get()
    cid = app.customer_id
    # as the rows were before encryption: plaintext, no index
    write_raw("applications_customer", {"id_number": ID, "phone": PHONE, "id_number_index": ""}, cid)
    write_raw("applications_application", {"contact_phone": PHONE, "contact_phone_index": ""}, app.pk)
    assert set(tables_holding(ID, PHONE)) == {"applications_customer", "applications_application"}

    migration = importlib.import_module("sunshine.applications.migrations.0007_encrypt_existing_pii")
    editor = SimpleNamespace(connection=connection)
    migration.forward(None, editor)
    assert set(tables_holding(ID, PHONE)) == set()
    assert raw("applications_customer", "id_number_index", cid) == id_index(ID)
    assert raw("applications_application", "contact_phone_index", app.pk) == phone_index(PHONE)
    app = Application.objects.select_related("customer").get()
    assert (app.customer.id_number, app.customer.phone, app.contact_phone) == (ID, PHONE, PHONE)
    migration.forward(None, editor)  # twice is harmless
    assert Customer.objects.get().id_number == ID

    migration.backward(None, editor)
    assert (
        raw("applications_customer", "id_number", cid),
        raw("applications_application", "contact_phone", app.pk),
    ) == (
        ID,
        PHONE,
    )


def test_the_outbox_migration_names_customers_by_index_and_encrypts_the_address(
    api_as, django_capture_on_commit_callbacks
):
    with at(2026, 11, 2, 10, 0), django_capture_on_commit_callbacks(execute=True):
        api_as("clerk").post("/api/v1/applications", intake_body(customer__phone=PHONE))
    sms = Message.objects.get(channel="sms", template="accepted")
    assert sms.recipient == f"phone:{phone_index(PHONE)}" and sms.address == PHONE
    write_raw("notifications_message", {"recipient": f"phone:{PHONE}", "address": PHONE}, sms.pk)
    migration = importlib.import_module("sunshine.notifications.migrations.0003_encrypted_addresses")
    migration.forward(None, SimpleNamespace(connection=connection))
    assert tables_holding(PHONE) == {}
    sms.refresh_from_db()
    assert (sms.recipient, sms.address) == (f"phone:{phone_index(PHONE)}", PHONE)


@pytest.mark.django_db(transaction=True)
def test_check_deploy_in_the_production_profile_warns_when_the_pii_keys_are_missing(tmp_path):
    from tests.test_deploy_settings import manage, production_env

    env = production_env(tmp_path)
    del env["SUNSHINE_PII_KEYS"], env["SUNSHINE_PII_INDEX_KEY"]
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 1
    assert "(pii.W001) SUNSHINE_PII_KEYS is not set" in done.stderr
    assert "(pii.W002) SUNSHINE_PII_INDEX_KEY is not set" in done.stderr
    env["SUNSHINE_PII_KEYS"] = "k1:c2hvcnQ="  # base64 of b"short"
    done = manage(env, "check")
    assert done.returncode == 1
    assert "SUNSHINE_PII_KEYS key 'k1': the key must be 32 bytes (256 bits), got 5" in done.stderr


# --- the blind indexes are indexed (PostgreSQL plans) ---------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN plans are PostgreSQL's: run with DATABASE_URL=postgres://… (apt-get install postgresql)",
)
def test_the_desk_search_by_phone_or_id_uses_the_blind_index_indexes():
    from sunshine.workbench.desk import queries
    from tests.test_explain_pg import indexes_used

    call_command("generate_load", applications=400, seed=11, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    app = Application.objects.select_related("customer").order_by("pk")[200]
    assert app.contact_phone and app.customer.id_number  # generated rows decrypt
    by_phone = queries.search(Application.objects.all(), app.contact_phone)
    assert "app_contact_phone_index" in indexes_used(by_phone)
    assert list(by_phone.values_list("pk", flat=True)) == [app.pk]
    by_id = queries.search(Application.objects.all(), app.customer.id_number)
    assert "customer_identity_index_unique" in indexes_used(by_id)
    assert app.pk in by_id.values_list("pk", flat=True)
