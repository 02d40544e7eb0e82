"""Voltages written one way (the typography rule of tests/test_typography.py): the seeded fee
names said "高可靠性供电费（10千伏）" while the rest of the site writes "10 kV"."""

import re

from django.db import migrations

CHINESE_VOLTAGE = re.compile(r"(\d+(?:\.\d+)?)\s*千伏")


def to_kv(apps, schema_editor):
    FeeItem = apps.get_model("directory", "FeeItem")
    for item in FeeItem.objects.filter(name_zh__contains="千伏"):
        item.name_zh = CHINESE_VOLTAGE.sub(r"\1 kV", item.name_zh)
        item.save(update_fields=["name_zh"])


def to_chinese(apps, schema_editor):
    FeeItem = apps.get_model("directory", "FeeItem")
    for item in FeeItem.objects.filter(name_zh__regex=r"[0-9] kV）"):
        item.name_zh = re.sub(r"(\d+(?:\.\d+)?) kV", r"\1千伏", item.name_zh)
        item.save(update_fields=["name_zh"])


class Migration(migrations.Migration):
    dependencies = [("directory", "0005_choice_holder_and_answer")]
    operations = [migrations.RunPython(to_kv, to_chinese)]
