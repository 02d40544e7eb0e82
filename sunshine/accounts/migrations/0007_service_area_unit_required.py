"""Every service area belongs to a unit (a migration of its own: PostgreSQL refuses to alter a
table with the previous migration's row updates still pending their deferred checks)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_units"),
    ]

    operations = [
        migrations.AlterField(
            model_name="servicearea",
            name="unit",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="areas",
                to="accounts.unit",
                verbose_name="unit",
            ),
        ),
    ]
