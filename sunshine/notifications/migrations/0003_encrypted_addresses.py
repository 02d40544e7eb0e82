"""Message addresses (customers' phones) encrypted at rest, and a customer recipient named by the
phone's blind index ("phone:<index>") instead of the phone (sunshine.pii), existing rows included.

Reversible: the reverse writes the plaintext back (it needs the keys that encrypted it)."""

from django.db import migrations

import sunshine.pii.fields
from sunshine.pii import crypto
from sunshine.pii.migrate import decrypt_table, encrypt_table, flush_deferred


def _recipients(connection, to_index: bool):
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, recipient, address FROM notifications_message WHERE recipient LIKE %s", ["phone:%"])
        rows = []
        for pk, recipient, address in cursor.fetchall():
            phone = crypto.decrypt(address or "") or recipient[6:]
            rows.append((f"phone:{crypto.phone_index(phone) if to_index else phone}", pk))
        if rows:
            cursor.executemany("UPDATE notifications_message SET recipient = %s WHERE id = %s", rows)


def forward(apps, schema_editor):
    _recipients(schema_editor.connection, to_index=True)
    encrypt_table(schema_editor.connection, "notifications_message", [("address", None, None)])
    flush_deferred(schema_editor.connection)


def backward(apps, schema_editor):
    decrypt_table(schema_editor.connection, "notifications_message", [("address", None, None)])
    _recipients(schema_editor.connection, to_index=False)
    flush_deferred(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_seed_chinese_templates")]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="address",
            field=sunshine.pii.fields.EncryptedCharField(blank=True, max_length=254, verbose_name="address"),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
