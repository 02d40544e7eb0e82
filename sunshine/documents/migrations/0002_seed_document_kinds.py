from django.db import migrations


def seed(apps, schema_editor):
    from sunshine.documents.defaults import seed_document_kinds

    seed_document_kinds(apps.get_model("documents", "DocumentKind"))


def unseed(apps, schema_editor):
    from sunshine.documents.defaults import KINDS

    apps.get_model("documents", "DocumentKind").objects.filter(code__in=[k[0] for k in KINDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("documents", "0001_documents")]
    operations = [migrations.RunPython(seed, unseed)]
