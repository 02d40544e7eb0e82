"""One customer per identity, now through the blind index of the encrypted ID number."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("applications", "0007_encrypt_existing_pii")]

    operations = [
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("id_type", "id_number_index"), name="customer_identity_index_unique"
            ),
        ),
    ]
