"""Chain the events recorded before the audit chain existed, then (PostgreSQL) refuse UPDATE and
DELETE on the event table with a trigger. Maintenance that must rewrite events (anonymisation
past retention) sets ``SET LOCAL sunshine.event_maintenance = 'on'`` in its transaction; the web
role's grants (docs/security.md) are the real barrier, the hash chain the evidence."""

from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION sunshine_events_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('sunshine.event_maintenance', true) = 'on' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'applications_event is append-only: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS applications_event_append_only ON applications_event;
CREATE TRIGGER applications_event_append_only
    BEFORE UPDATE OR DELETE ON applications_event
    FOR EACH ROW EXECUTE FUNCTION sunshine_events_append_only();
"""
UNTRIGGER = """
DROP TRIGGER IF EXISTS applications_event_append_only ON applications_event;
DROP FUNCTION IF EXISTS sunshine_events_append_only();
"""


def chain_existing(apps, schema_editor):
    from sunshine.applications.audit import event_hash

    Application = apps.get_model("applications", "Application")
    Event = apps.get_model("applications", "Event")
    fields = ("id", "application_id", "type", "at", "actor_id", "stage", "round", "data")
    batch, heads, current, prev = [], {}, None, ""
    for ev_id, app_id, type_, at, actor_id, stage, round_, data in (
        Event.objects.filter(hash="").order_by("application_id", "id").values_list(*fields).iterator(chunk_size=5000)
    ):
        if app_id != current:
            current, prev = app_id, ""
        h = event_hash(prev, app_id, type_, at, actor_id, stage, round_, data)
        batch.append(Event(id=ev_id, prev_hash=prev, hash=h))
        prev = heads[app_id] = h
        if len(batch) >= 5000:
            Event.objects.bulk_update(batch, ["prev_hash", "hash"])
            batch = []
    if batch:
        Event.objects.bulk_update(batch, ["prev_hash", "hash"])
    Application.objects.bulk_update(
        [Application(pk=pk, audit_head=h) for pk, h in heads.items()], ["audit_head"], batch_size=5000
    )


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNTRIGGER)


class Migration(migrations.Migration):
    dependencies = [("applications", "0003_audit_chain")]
    operations = [
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(protect, unprotect),
    ]
