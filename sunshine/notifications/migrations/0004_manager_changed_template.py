"""Seed the customer's SMS about a new customer manager (an existing row is kept)."""

from django.db import migrations

from sunshine.notifications.defaults import DEFAULT_TEMPLATES

CODE = "manager_changed"


def seed(apps, schema_editor):
    Template = apps.get_model("notifications", "Template")
    for code, audience, channels, title, body, when in DEFAULT_TEMPLATES:
        if code == CODE:
            Template.objects.get_or_create(
                code=code,
                defaults={
                    "audience": audience,
                    "channels": channels,
                    "title": title,
                    "body": body,
                    "description": when,
                },
            )


def unseed(apps, schema_editor):
    apps.get_model("notifications", "Template").objects.filter(code=CODE).delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0003_encrypted_addresses")]
    operations = [migrations.RunPython(seed, unseed)]
