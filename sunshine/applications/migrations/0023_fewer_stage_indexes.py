"""Drop two indexes of the stage table that no query needs, so each stage row a transition updates
(its status changes: never a HOT update) and each one an intake inserts maintains two fewer:

- the stage's application (``applications_stageinstance_application_id_…``): stage_seq_unique
  (application, seq) and stage_round_unique (application, code, round) lead with it and serve
  every read by application (the engine's read of a case's stages, in ``seq`` order, and the
  cascade of a deleted application);
- ``stage_code_status`` (code, status): no query selects stages by their code (a stage filter
  goes through the application's ``current_stage``; reports group completed stages by code
  after selecting them through stage_completed_on).

Only the indexes are dropped: Django's own AlterField would also drop and re-add the foreign-key
constraint, re-checking every stage row (ten million at a million applications). The state
changes as AlterField says; the database only loses the indexes (instant).
tests/test_explain_pg.py shows the reads by application use stage_seq_unique."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("applications", "0022_queue_stamp"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="stageinstance",
            name="stage_code_status",
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="stageinstance",
                    name="application",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stages",
                        to="applications.application",
                        verbose_name="application",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "applications_stageinstance_application_id_312a453b"',
                    'CREATE INDEX IF NOT EXISTS "applications_stageinstance_application_id_312a453b"'
                    ' ON "applications_stageinstance" ("application_id")',
                ),
            ],
        ),
    ]
