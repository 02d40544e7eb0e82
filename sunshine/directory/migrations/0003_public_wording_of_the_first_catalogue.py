"""The first catalogue's reference told the public what the administrator does ("管理员按文件发布
新版本"): the public page now says only what the rates rest on."""

from django.db import migrations

OLD = "以省级价格主管部门现行文件为准，管理员按文件发布新版本）"
NEW = "以省级价格主管部门现行文件为准）"


def reword(apps, schema_editor):
    FeeSchedule = apps.get_model("directory", "FeeSchedule")
    for schedule in FeeSchedule.objects.filter(published_reference__contains=OLD):
        schedule.published_reference = schedule.published_reference.replace(OLD, NEW)
        schedule.save(update_fields=["published_reference"])


class Migration(migrations.Migration):
    dependencies = [("directory", "0002_seed_fee_catalogue")]
    operations = [migrations.RunPython(reword, migrations.RunPython.noop)]
