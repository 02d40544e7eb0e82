"""Drop three single-column indexes that composite indexes already serve (the application's
customer and customer manager: app_customer_status, app_manager_status; the event's application:
event_application_id), so each transition and intake maintains fewer of them.

Only the indexes are dropped: Django's own AlterField would also drop and re-add the foreign-key
constraints, re-checking every row of a million applications and eleven million events. The
state changes as AlterField says; the database only loses the indexes (instant)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0019_stage_skipped_on"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="application",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="applications.customer",
                        verbose_name="customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="application",
                    name="customer_manager",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="managed_applications",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="customer manager",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="application",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="applications.application",
                        verbose_name="application",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "applications_application_customer_id_aa0d1545"',
                    'CREATE INDEX IF NOT EXISTS "applications_application_customer_id_aa0d1545"'
                    ' ON "applications_application" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "applications_application_customer_manager_id_f1263de4"',
                    'CREATE INDEX IF NOT EXISTS "applications_application_customer_manager_id_f1263de4"'
                    ' ON "applications_application" ("customer_manager_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "applications_event_application_id_11a853b8"',
                    'CREATE INDEX IF NOT EXISTS "applications_event_application_id_11a853b8"'
                    ' ON "applications_event" ("application_id")',
                ),
            ],
        ),
    ]
