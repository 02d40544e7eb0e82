from django.db import migrations


def seed(apps, schema_editor):
    from sunshine.calendar.seeding import seed_from_chinesecalendar

    seed_from_chinesecalendar(
        apps.get_model("workcalendar", "CalendarYear"), apps.get_model("workcalendar", "CalendarDay")
    )


def unseed(apps, schema_editor):
    apps.get_model("workcalendar", "CalendarDay").objects.filter(source__startswith="chinesecalendar").delete()
    apps.get_model("workcalendar", "CalendarYear").objects.filter(source__startswith="chinesecalendar").delete()


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
