"""The unit is required, and indexed with the status for the views scoped to a subtree (after
the UPDATE of 0014, so the index is built once; a migration of its own for PostgreSQL's
deferred checks)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0014_application_unit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="application",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.unit",
                verbose_name="unit",
            ),
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["unit", "status"], name="app_unit_status"),
        ),
    ]
