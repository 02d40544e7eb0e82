"""Every application belongs to a company unit (issue 19). An existing installation's applications
all go to its one unit (accounts.0006): one UPDATE, however many rows."""

import django.db.models.deletion
from django.db import migrations, models


def into_the_one_unit(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    root = Unit.objects.filter(parent__isnull=True).order_by("id").values_list("id", flat=True).first()
    if root is None:  # accounts.0005 always leaves one
        return
    apps.get_model("applications", "Application").objects.filter(unit__isnull=True).update(unit_id=root)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_service_area_unit_required"),
        ("applications", "0013_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.unit",
                verbose_name="unit",
            ),
        ),
        migrations.RunPython(into_the_one_unit, migrations.RunPython.noop),
    ]
