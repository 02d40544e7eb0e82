from django.db import migrations


def seed(apps, schema_editor):
    from sunshine.directory.seed import seed_fee_catalogue

    FeeSchedule = apps.get_model("directory", "FeeSchedule")
    if FeeSchedule.objects.exists():
        return
    seed_fee_catalogue(
        FeeSchedule, apps.get_model("directory", "FeeItem"), apps.get_model("directory", "AbolishedCharge")
    )


def unseed(apps, schema_editor):
    apps.get_model("directory", "FeeSchedule").objects.filter(version=1).delete()
    apps.get_model("directory", "AbolishedCharge").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("directory", "0001_fees_and_contractors")]

    operations = [migrations.RunPython(seed, unseed)]
