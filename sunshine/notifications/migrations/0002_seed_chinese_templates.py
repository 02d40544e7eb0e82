"""Seed the Chinese message templates (administrators edit them afterwards; existing rows are kept)."""

from django.db import migrations

from sunshine.notifications.defaults import DEFAULT_TEMPLATES


def seed(apps, schema_editor):
    Template = apps.get_model("notifications", "Template")
    for code, audience, channels, title, body, when in DEFAULT_TEMPLATES:
        Template.objects.get_or_create(
            code=code,
            defaults={"audience": audience, "channels": channels, "title": title, "body": body, "description": when},
        )


def unseed(apps, schema_editor):
    Template = apps.get_model("notifications", "Template")
    Template.objects.filter(code__in=[row[0] for row in DEFAULT_TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_outbox_and_templates")]
    operations = [migrations.RunPython(seed, unseed)]
