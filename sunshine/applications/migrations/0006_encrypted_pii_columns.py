"""Customers' ID numbers and phones and the applications' contact phones become encrypted columns
(sunshine.pii), with blind-index columns for look-ups. 0007 encrypts the existing rows; 0008
moves the identity constraint onto the index."""

from django.db import migrations, models

import sunshine.pii.fields


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0005_report_period_indexes"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="customer",
            name="customer_identity_unique",
        ),
        migrations.AddField(
            model_name="application",
            name="contact_phone_index",
            field=sunshine.pii.fields.BlindIndexField(kind="phone", source="contact_phone"),
        ),
        migrations.AddField(
            model_name="customer",
            name="id_number_index",
            field=sunshine.pii.fields.BlindIndexField(kind="id", source="id_number"),
        ),
        migrations.AlterField(
            model_name="application",
            name="contact_phone",
            field=sunshine.pii.fields.EncryptedCharField(max_length=11, verbose_name="phone"),
        ),
        migrations.AlterField(
            model_name="customer",
            name="id_number",
            field=sunshine.pii.fields.EncryptedCharField(max_length=18, verbose_name="ID number"),
        ),
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=sunshine.pii.fields.EncryptedCharField(max_length=11, verbose_name="phone"),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["contact_phone_index"], name="app_contact_phone_index"),
        ),
    ]
