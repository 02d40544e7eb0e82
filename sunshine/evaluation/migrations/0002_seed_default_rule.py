import datetime

from django.db import migrations


def seed(apps, schema_editor):
    Rule = apps.get_model("evaluation", "EvaluationRule")
    Rule.objects.get_or_create(
        effective_from=datetime.date(2020, 1, 1),
        defaults={
            "weights": {"on_time": 40, "speed": 20, "satisfaction": 30, "volume": 10},
            "complaint_penalty": 5,
            "bottom_n": 1,
            "consecutive_periods": 2,
            "min_ranked": 3,
            "note": "默认考核办法：按时率40分、办理速度20分、客户满意度30分、业务量10分；每起属实投诉扣5分；三不指定或违规收费属实一票否决。",
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("evaluation", "EvaluationRule").objects.filter(effective_from=datetime.date(2020, 1, 1)).delete()


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_evaluation_rules_and_snapshots")]
    operations = [migrations.RunPython(seed, unseed)]
