"""Room on each page of the application table for the new version of a row (``fillfactor = 80``),
so a transition's UPDATE of the row (its current stage and audit head: no indexed column) is a
HOT update: no new entry in any of the table's 14 indexes.

At the default (100) a page is filled to the brim when fresh applications are inserted, so the
first transition of each has no room beside it: the new version goes to another page and every
index of the table gets an entry (about 13 B-tree inserts of a transition's 30). With room for
about two new versions per page, and the dead ones pruned when the engine's lock reads the page,
transitions of fresh applications were HOT updates in every run measured (docs/bench.md, "Issue
17: the transition's cost, second pass": B-tree leaf inserts per transition 34 -> 18).

PostgreSQL only, and only a storage parameter: no row is rewritten (pages written from now on
keep the room; the existing ones fill up as before until they are rewritten)."""

from django.db import migrations


def roomy(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE applications_application SET (fillfactor = 80)")


def full(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE applications_application RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0024_queue_stamp_shards"),
    ]

    operations = [migrations.RunPython(roomy, full)]
