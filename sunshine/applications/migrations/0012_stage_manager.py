"""Each utility stage records the customer manager who held the work while it ran.

Existing rows are filled from history: a started utility stage belongs to the application's
manager, unless the application was reassigned; then a completed stage belongs to the manager
in charge when it was completed (the ``to`` of the last ``reassigned`` event at or before its
completion, or the ``from`` of the first one), and a stage still running to the current manager.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    StageInstance = apps.get_model("applications", "StageInstance")
    Application = apps.get_model("applications", "Application")
    Event = apps.get_model("applications", "Event")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    started = StageInstance.objects.filter(owner="utility", started_at__isnull=False)
    # 1. Everyone: the application's manager (one set-based UPDATE).
    started.update(
        manager_id=Subquery(Application.objects.filter(pk=OuterRef("application_id")).values("customer_manager_id")[:1])
    )
    # 2. Reassigned applications: who was in charge at each completion.
    history: dict[int, list[tuple]] = {}
    for app_id, at, data in (
        Event.objects.filter(type="reassigned")
        .order_by("application_id", "at", "id")
        .values_list("application_id", "at", "data")
    ):
        history.setdefault(app_id, []).append((at, data or {}))
    if not history:
        return
    ids = {u: pk for u, pk in User.objects.values_list("username", "pk")}
    app_ids = sorted(history)
    for i in range(0, len(app_ids), 500):
        batch = app_ids[i : i + 500]
        for pk, app_id, completed_at in started.filter(
            application_id__in=batch, completed_at__isnull=False
        ).values_list("pk", "application_id", "completed_at"):
            moves = history[app_id]
            holder = moves[0][1].get("from")
            for at, data in moves:
                if at <= completed_at:
                    holder = data.get("to")
            StageInstance.objects.filter(pk=pk).update(manager_id=ids.get(holder) if holder else None)


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0011_outbox"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="stageinstance",
            name="manager",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
