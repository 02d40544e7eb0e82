"""Reporters' phones and visit contacts encrypted at rest (sunshine.pii), existing rows included.

Reversible: the reverse writes the plaintext back (it needs the keys that encrypted it)."""

from django.db import migrations

import sunshine.pii.fields
from sunshine.pii.migrate import decrypt_table, encrypt_table, flush_deferred


def forward(apps, schema_editor):
    encrypt_table(schema_editor.connection, "feedback_supervisioncase", [("reporter_phone", None, None)])
    encrypt_table(schema_editor.connection, "feedback_visit", [("contact", None, None)])
    flush_deferred(schema_editor.connection)


def backward(apps, schema_editor):
    decrypt_table(schema_editor.connection, "feedback_supervisioncase", [("reporter_phone", None, None)])
    decrypt_table(schema_editor.connection, "feedback_visit", [("contact", None, None)])
    flush_deferred(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_cases_followups_visits")]

    operations = [
        migrations.AlterField(
            model_name="supervisioncase",
            name="reporter_phone",
            field=sunshine.pii.fields.EncryptedCharField(blank=True, max_length=20, verbose_name="reporter phone"),
        ),
        migrations.AlterField(
            model_name="visit",
            name="contact",
            field=sunshine.pii.fields.EncryptedCharField(
                blank=True, max_length=100, verbose_name="contact person and phone"
            ),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
