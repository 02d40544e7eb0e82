from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes for the reports' period selections (applications completed, stages completed)."""

    dependencies = [("applications", "0004_chain_existing_events_and_protect_them")]

    operations = [
        migrations.AddIndex(
            model_name="application",
            index=models.Index(fields=["completed_at"], name="app_completed_at"),
        ),
        migrations.AddIndex(
            model_name="stageinstance",
            index=models.Index(
                condition=models.Q(("status", "completed")), fields=["completed_on"], name="stage_completed_on"
            ),
        ),
    ]
