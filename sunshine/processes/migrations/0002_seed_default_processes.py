import datetime

from django.db import migrations


def seed(apps, schema_editor):
    from sunshine.processes.defaults import seed_default_processes

    seed_default_processes(
        apps.get_model("processes", "ProcessTemplate"),
        apps.get_model("processes", "StageTemplate"),
        effective_from=datetime.date(2020, 1, 1),
    )


def unseed(apps, schema_editor):
    apps.get_model("processes", "ProcessTemplate").objects.filter(version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("processes", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
