"""The feed's counter row (the feed starts after the events that exist now: those are never
published) and the message template that tells an owner their subscription was paused."""

from django.db import migrations

PAUSED = {
    "code": "webhook_paused",
    "audience": "staff",
    "channels": "inbox,email",
    "title": "事件推送订阅已暂停",
    "body": "事件推送订阅“{{ subscription }}”（{{ url }}）连续一天推送失败，已暂停。"
    "最后一次错误：{{ reason }}。请检查接收方后在管理后台恢复订阅，并按需重新推送。",
    "description": "a webhook subscription was paused after a day of failures",
}


def forwards(apps, schema_editor):
    Event = apps.get_model("applications", "Event")
    FeedCounter = apps.get_model("webhooks", "FeedCounter")
    Template = apps.get_model("notifications", "Template")
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    FeedCounter.objects.update_or_create(pk=1, defaults={"position": 0, "since_event": newest})
    Template.objects.get_or_create(code=PAUSED["code"], defaults={k: v for k, v in PAUSED.items() if k != "code"})


def backwards(apps, schema_editor):
    apps.get_model("notifications", "Template").objects.filter(code=PAUSED["code"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("notifications", "0004_manager_changed_template"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
