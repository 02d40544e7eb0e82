"""The work queue's stamps in shards (models.QueueStamp.SHARDS): one row per (scope, shard), the
transaction bumping the shard of its id modulo 32, so concurrent changes of one county no longer
wait for each other's COMMIT on the county's one row (docs/bench.md, "the work queue's version").

The table of 0022 (a few hundred rows, nothing else refers to it) is dropped and made again,
empty: every scope starts at 0 and a kept queue page is served until it is 30 s old at most.
No row of the applications is read or written."""

import importlib

from django.db import migrations, models

SHARDS = 32  # models.QueueStamp.SHARDS, as of this migration

_BUMP = """
        INSERT INTO applications_queuestamp (scope, shard, n)
        SELECT s, mod(txid_current(), {shards})::smallint, COUNT(*) FROM (
            {rows}
        ) AS c GROUP BY s ORDER BY s
        ON CONFLICT (scope, shard) DO UPDATE SET n = applications_queuestamp.n + EXCLUDED.n;"""


def _rows(*tables: str) -> str:
    parts = []
    for t in tables:
        # ``t``: the trigger's transition tables (names of this module)
        parts.append(f"SELECT 'm' || customer_manager_id AS s FROM {t} WHERE customer_manager_id IS NOT NULL")  # noqa: S608
        parts.append(f"SELECT 'u' || unit_id FROM {t}")  # noqa: S608
    return "\n            UNION ALL ".join(parts)


PG_FUNCTION = f"""
-- a few thousand rows bumped all day long: room on each page for the new version (HOT updates)
ALTER TABLE applications_queuestamp SET (fillfactor = 50);
CREATE FUNCTION applications_queue_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_BUMP.format(shards=SHARDS, rows=_rows("stamp_new"))}
    ELSIF TG_OP = 'UPDATE' THEN{_BUMP.format(shards=SHARDS, rows=_rows("stamp_new", "stamp_old"))}
    ELSE{_BUMP.format(shards=SHARDS, rows=_rows("stamp_old"))}
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

# ``ROW``: NEW or OLD, the trigger's own row. SQLite has one writer at a time: shard 0 only.
_SQLITE_BUMP = (
    "INSERT OR IGNORE INTO applications_queuestamp (scope, shard, n) "
    "SELECT 'm' || ROW.customer_manager_id, 0, 0 WHERE ROW.customer_manager_id IS NOT NULL; "
    "UPDATE applications_queuestamp SET n = n + 1 WHERE scope = 'm' || ROW.customer_manager_id AND shard = 0; "
    "INSERT OR IGNORE INTO applications_queuestamp (scope, shard, n) VALUES ('u' || ROW.unit_id, 0, 0); "
    "UPDATE applications_queuestamp SET n = n + 1 WHERE scope = 'u' || ROW.unit_id AND shard = 0; "
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


def _before():
    return importlib.import_module("sunshine.applications.migrations.0022_queue_stamp")


def drop_unsharded(apps, schema_editor):
    _before().drop_triggers(apps, schema_editor)


def add_unsharded(apps, schema_editor):
    _before().add_triggers(apps, schema_editor)


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION)
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    _before().drop_triggers(apps, schema_editor)  # the same names


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0023_fewer_stage_indexes"),
    ]

    operations = [
        migrations.RunPython(drop_unsharded, add_unsharded),
        migrations.DeleteModel(name="QueueStamp"),
        migrations.CreateModel(
            name="QueueStamp",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "scope", "shard", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("scope", models.CharField(max_length=24, verbose_name="scope")),
                ("shard", models.SmallIntegerField(default=0, verbose_name="shard")),
                ("n", models.BigIntegerField(default=0, verbose_name="changes")),
            ],
            options={
                "verbose_name": "queue stamp",
                "verbose_name_plural": "queue stamps",
            },
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
