"""Encrypt the ID numbers and phones already stored, fill their blind indexes, and key the
public idempotency records by the phone's blind index instead of the phone.

Reversible: the reverse writes the plaintext back (it needs the keys that encrypted it); the
idempotency scopes stay keyed by index (they only serve replays of recent requests).
"""

from django.db import migrations

from sunshine.pii import crypto
from sunshine.pii.migrate import decrypt_table, encrypt_table, flush_deferred

CUSTOMER = [("id_number", "id_number_index", "id"), ("phone", None, None)]
APPLICATION = [("contact_phone", "contact_phone_index", "phone")]


def scope_by_index(connection):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, scope FROM applications_idempotencyrecord WHERE scope LIKE %s", ["public:%"])
        rows = [
            (f"public:{crypto.phone_index(scope[7:])}", pk) for pk, scope in cursor.fetchall() if scope[7:].isdigit()
        ]
        if rows:
            cursor.executemany("UPDATE applications_idempotencyrecord SET scope = %s WHERE id = %s", rows)


def forward(apps, schema_editor):
    connection = schema_editor.connection
    encrypt_table(connection, "applications_customer", CUSTOMER)
    encrypt_table(connection, "applications_application", APPLICATION)
    scope_by_index(connection)
    flush_deferred(connection)


def backward(apps, schema_editor):
    connection = schema_editor.connection
    decrypt_table(connection, "applications_customer", CUSTOMER)
    decrypt_table(connection, "applications_application", APPLICATION)
    flush_deferred(connection)


class Migration(migrations.Migration):
    dependencies = [("applications", "0006_encrypted_pii_columns")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
