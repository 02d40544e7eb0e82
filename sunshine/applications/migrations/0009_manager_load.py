"""The open-application count per customer manager (assignment reads it instead of counting)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def count(apps, schema_editor):
    Application = apps.get_model("applications", "Application")
    ManagerLoad = apps.get_model("applications", "ManagerLoad")
    rows = (
        Application.objects.filter(status__in=["in_progress", "paused"], customer_manager__isnull=False)
        .values_list("customer_manager")
        .annotate(n=models.Count("id"))
        .order_by()
    )
    ManagerLoad.objects.bulk_create([ManagerLoad(user_id=user_id, open_count=n) for user_id, n in rows])


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("applications", "0008_customer_identity_by_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ManagerLoad",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="open_load",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("open_count", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunPython(count, migrations.RunPython.noop),
    ]
