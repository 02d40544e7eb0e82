"""The customer managers' open counts in shards (models.ManagerLoad.SHARDS): rows (user, shard),
a change adding its delta to the shard of its transaction id modulo 16, so concurrent intakes given
the same manager no longer wait for each other's COMMIT on the manager's one row (docs/bench.md,
"the intake's ManagerLoad waits"); the count is the sum of the manager's rows.

The table of 0009 (one row per manager) is dropped and made again, then filled from the
applications as 0009 did (shard 0); backwards, the old table is filled the same way."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OPEN = ["in_progress", "paused"]  # models.OPEN_STATUSES, as of this migration


def _counts(apps):
    Application = apps.get_model("applications", "Application")
    return (
        Application.objects.filter(status__in=OPEN, customer_manager__isnull=False)
        .values_list("customer_manager")
        .annotate(n=models.Count("id"))
        .order_by()
    )


def count_sharded(apps, schema_editor):
    ManagerLoad = apps.get_model("applications", "ManagerLoad")
    ManagerLoad.objects.bulk_create([ManagerLoad(user_id=pk, shard=0, open_count=n) for pk, n in _counts(apps)])


def count_unsharded(apps, schema_editor):
    ManagerLoad = apps.get_model("applications", "ManagerLoad")
    ManagerLoad.objects.bulk_create([ManagerLoad(user_id=pk, open_count=n) for pk, n in _counts(apps)])


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("applications", "0025_application_fillfactor"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, count_unsharded),
        migrations.DeleteModel(name="ManagerLoad"),
        migrations.CreateModel(
            name="ManagerLoad",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "user_id", "shard", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="open_loads",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="customer manager",
                    ),
                ),
                ("shard", models.SmallIntegerField(default=0, verbose_name="shard")),
                ("open_count", models.IntegerField(default=0, verbose_name="open applications")),
            ],
            options={
                "verbose_name": "manager load",
                "verbose_name_plural": "manager loads",
            },
        ),
        migrations.RunPython(count_sharded, migrations.RunPython.noop),
    ]
