"""Company units (issue 19): the tree, its audit trail, and the unit of every service area and
staff member. An existing installation is one company: one unit, holding everything."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

DEFAULT_CODE = "company"


def one_unit(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    unit = Unit.objects.filter(parent__isnull=True).order_by("id").first()
    if unit is None:
        unit = Unit.objects.create(code=DEFAULT_CODE, name="本公司", kind="county", path=f"/{DEFAULT_CODE}/", depth=1)
    # One statement per table, whatever the number of rows.
    apps.get_model("accounts", "ServiceArea").objects.filter(unit__isnull=True).update(unit=unit)
    apps.get_model("accounts", "User").objects.filter(unit__isnull=True).update(unit=unit)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_verbose_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="Unit",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=40, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=60, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("province", "provincial company"),
                            ("city", "city company"),
                            ("county", "county or district company"),
                            ("station", "supply station"),
                            ("hall", "service hall"),
                        ],
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                ("path", models.CharField(editable=False, max_length=400, unique=True, verbose_name="path")),
                ("depth", models.PositiveSmallIntegerField(default=1, editable=False, verbose_name="depth")),
                ("hotline", models.CharField(blank=True, max_length=20, verbose_name="hotline")),
                ("address", models.CharField(blank=True, max_length=200, verbose_name="address")),
                (
                    "parent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="children",
                        to="accounts.unit",
                        verbose_name="parent unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "unit",
                "verbose_name_plural": "units",
                "ordering": ["path"],
                "indexes": [models.Index(fields=["path"], name="unit_path_prefix", opclasses=["varchar_pattern_ops"])],
            },
        ),
        migrations.CreateModel(
            name="UnitChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.CharField(max_length=40, verbose_name="code")),
                (
                    "action",
                    models.CharField(
                        choices=[("created", "created"), ("changed", "changed"), ("deleted", "deleted")],
                        max_length=10,
                        verbose_name="action",
                    ),
                ),
                ("at", models.DateTimeField(verbose_name="at")),
                ("before", models.JSONField(blank=True, default=dict, verbose_name="before")),
                ("after", models.JSONField(blank=True, default=dict, verbose_name="after")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="changes",
                        to="accounts.unit",
                        verbose_name="unit",
                    ),
                ),
            ],
            options={
                "verbose_name": "unit change",
                "verbose_name_plural": "unit changes",
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="servicearea",
            name="unit",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="areas",
                to="accounts.unit",
                verbose_name="unit",
            ),
        ),
        migrations.AddField(
            model_name="user",
            name="unit",
            field=models.ForeignKey(
                blank=True,
                help_text="The person sees and acts on this unit's applications and those of the units below it.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="staff",
                to="accounts.unit",
                verbose_name="unit",
            ),
        ),
        migrations.RunPython(one_unit, migrations.RunPython.noop),
    ]
