"""The queue stamps' INSERT and UPDATE triggers (0022/0024) skip a statement that bumps the
stamps itself: the engine's combined change statement (``writes.Batch``) starts with
``writes.STAMPED`` and bumps, in a clause of its own, exactly what the trigger would have bumped
for its application rows. Every other writer (ORM saves, bulk updates, the admin, raw SQL) is
bumped by the trigger as before.

The test is ``current_query()`` (the text of the statement the client sent: a prepared
statement's own text, not ``EXECUTE``) in the statement-level trigger's ``WHEN``: when it is false
PostgreSQL neither queues the trigger nor calls its function, so the engine's statement no longer
pays the PL/pgSQL call and its query over the transition tables. The marker must open the
statement; an ``EXECUTE`` of an SQL-level ``PREPARE`` of a marked statement fires the trigger as
well (a double bump, never a missed one). PostgreSQL only (SQLite's row-level triggers stay: its
engine writes one statement per part). The DELETE trigger is unchanged (the engine deletes no
application row)."""

from django.db import migrations

MARKER = "/* queue stamps */ "  # writes.STAMPED, as of this migration

_CREATE = """
DROP TRIGGER IF EXISTS applications_queue_stamp_ins ON applications_application;
DROP TRIGGER IF EXISTS applications_queue_stamp_upd ON applications_application;
CREATE TRIGGER applications_queue_stamp_ins AFTER INSERT ON applications_application
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT {when}
    EXECUTE FUNCTION applications_queue_stamp();
CREATE TRIGGER applications_queue_stamp_upd AFTER UPDATE ON applications_application
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT {when}
    EXECUTE FUNCTION applications_queue_stamp();
"""

_WHEN = f"WHEN (current_query() NOT LIKE '{MARKER}%')"  # no % or _ in the marker


def skip_stamped(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CREATE.format(when=_WHEN), params=None)  # a literal %


def fire_always(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_CREATE.format(when=""))


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0026_manager_load_shards"),
    ]

    operations = [migrations.RunPython(skip_stamped, fire_always)]
