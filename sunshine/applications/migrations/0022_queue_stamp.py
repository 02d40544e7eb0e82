"""The work queue's stamps (models.QueueStamp): a table, empty at first (every scope at 0), and the
triggers that bump it with every change of an application row. No row of the applications is
read or written here.

PostgreSQL: statement-level AFTER triggers with transition tables, so a statement that writes
many applications (the generator, a bulk update) bumps each scope once with its count of rows, in
scope order (two statements never lock the same stamps in opposite orders). SQLite: row-level
triggers (SQLite has one writer at a time).

A bulk load that turns triggers off (``generate_load`` as a superuser: session_replication_role =
replica) bumps nothing: a queue kept before it is served until it is 30 s old (kept.py)."""

from django.db import migrations, models

PG_FUNCTION = """
-- a few hundred rows bumped all day long: room on each page for the new version (HOT updates)
ALTER TABLE applications_queuestamp SET (fillfactor = 50);
CREATE FUNCTION applications_queue_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO applications_queuestamp (scope, n)
        SELECT s, COUNT(*) FROM (
            SELECT 'm' || customer_manager_id AS s FROM stamp_new WHERE customer_manager_id IS NOT NULL
            UNION ALL SELECT 'u' || unit_id FROM stamp_new
        ) AS c GROUP BY s ORDER BY s
        ON CONFLICT (scope) DO UPDATE SET n = applications_queuestamp.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO applications_queuestamp (scope, n)
        SELECT s, COUNT(*) FROM (
            SELECT 'm' || customer_manager_id AS s FROM stamp_new WHERE customer_manager_id IS NOT NULL
            UNION ALL SELECT 'u' || unit_id FROM stamp_new
            UNION ALL SELECT 'm' || customer_manager_id FROM stamp_old WHERE customer_manager_id IS NOT NULL
            UNION ALL SELECT 'u' || unit_id FROM stamp_old
        ) AS c GROUP BY s ORDER BY s
        ON CONFLICT (scope) DO UPDATE SET n = applications_queuestamp.n + EXCLUDED.n;
    ELSE
        INSERT INTO applications_queuestamp (scope, n)
        SELECT s, COUNT(*) FROM (
            SELECT 'm' || customer_manager_id AS s FROM stamp_old WHERE customer_manager_id IS NOT NULL
            UNION ALL SELECT 'u' || unit_id FROM stamp_old
        ) AS c GROUP BY s ORDER BY s
        ON CONFLICT (scope) DO UPDATE SET n = applications_queuestamp.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER applications_queue_stamp_ins AFTER INSERT ON applications_application
    REFERENCING NEW TABLE AS stamp_new FOR EACH STATEMENT EXECUTE FUNCTION applications_queue_stamp();
CREATE TRIGGER applications_queue_stamp_upd AFTER UPDATE ON applications_application
    REFERENCING OLD TABLE AS stamp_old NEW TABLE AS stamp_new FOR EACH STATEMENT
    EXECUTE FUNCTION applications_queue_stamp();
CREATE TRIGGER applications_queue_stamp_del AFTER DELETE ON applications_application
    REFERENCING OLD TABLE AS stamp_old FOR EACH STATEMENT EXECUTE FUNCTION applications_queue_stamp();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS applications_queue_stamp_ins ON applications_application;
DROP TRIGGER IF EXISTS applications_queue_stamp_upd ON applications_application;
DROP TRIGGER IF EXISTS applications_queue_stamp_del ON applications_application;
DROP FUNCTION IF EXISTS applications_queue_stamp();
"""


# ``ROW``: NEW or OLD, the trigger's own row
_SQLITE_BUMP = (
    "INSERT OR IGNORE INTO applications_queuestamp (scope, n) "
    "SELECT 'm' || ROW.customer_manager_id, 0 WHERE ROW.customer_manager_id IS NOT NULL; "
    "UPDATE applications_queuestamp SET n = n + 1 WHERE scope = 'm' || ROW.customer_manager_id; "
    "INSERT OR IGNORE INTO applications_queuestamp (scope, n) VALUES ('u' || ROW.unit_id, 0); "
    "UPDATE applications_queuestamp SET n = n + 1 WHERE scope = 'u' || ROW.unit_id; "
)


def _sqlite_bump(row: str) -> str:
    return _SQLITE_BUMP.replace("ROW", row)


SQLITE_TRIGGERS = [
    "CREATE TRIGGER applications_queue_stamp_ins AFTER INSERT ON applications_application "
    f"BEGIN {_sqlite_bump('NEW')}END",
    "CREATE TRIGGER applications_queue_stamp_upd AFTER UPDATE ON applications_application "
    f"BEGIN {_sqlite_bump('OLD')}{_sqlite_bump('NEW')}END",
    "CREATE TRIGGER applications_queue_stamp_del AFTER DELETE ON applications_application "
    f"BEGIN {_sqlite_bump('OLD')}END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS applications_queue_stamp_ins",
    "DROP TRIGGER IF EXISTS applications_queue_stamp_upd",
    "DROP TRIGGER IF EXISTS applications_queue_stamp_del",
]


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0021_report_first_day_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueueStamp",
            fields=[
                ("scope", models.CharField(max_length=24, primary_key=True, serialize=False, verbose_name="scope")),
                ("n", models.BigIntegerField(default=0, verbose_name="changes")),
            ],
            options={
                "verbose_name": "queue stamp",
                "verbose_name_plural": "queue stamps",
            },
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
