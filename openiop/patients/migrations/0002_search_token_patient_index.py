"""Search tokens: index (patient, token) instead of the plain patient_id index.

Found by benchmarks/patient_search.py: probing "does this patient have a token in this range?"
through the patient_id index reads every token row of the patient; (patient, token) answers it
with one index-only lookup. The new index is built before the old one goes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="patientsearchtoken",
            index=models.Index(fields=["patient", "token"], name="patient_token_rev_idx"),
        ),
        migrations.AlterField(
            model_name="patientsearchtoken",
            name="patient",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="search_tokens",
                to="patients.patient",
            ),
        ),
    ]
