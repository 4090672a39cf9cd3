"""Emergency contacts become support contacts (data kept; existing rows are emergency contacts)."""

from typing import Any

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The registration form's free-text relationship, as people typed it, to the new kinds.
KINDS = {
    "mother": "parent",
    "father": "parent",
    "mom": "parent",
    "dad": "parent",
    "parent": "parent",
    "stepmother": "parent",
    "stepfather": "parent",
    "wife": "partner",
    "husband": "partner",
    "spouse": "partner",
    "partner": "partner",
    "girlfriend": "partner",
    "boyfriend": "partner",
    "fiance": "partner",
    "fiancée": "partner",
    "son": "child",
    "daughter": "child",
    "child": "child",
    "adult child": "child",
    "sister": "sibling",
    "brother": "sibling",
    "sibling": "sibling",
    "aunt": "other_family",
    "uncle": "other_family",
    "cousin": "other_family",
    "grandmother": "other_family",
    "grandfather": "other_family",
    "grandparent": "other_family",
    "niece": "other_family",
    "nephew": "other_family",
    "friend": "friend",
    "sponsor": "sponsor",
    "employer": "employer",
    "boss": "employer",
    "probation officer": "probation",
    "parole officer": "probation",
}


def kinds_from_words(apps: Any, schema_editor: Any) -> None:
    SupportContact = apps.get_model("patients", "SupportContact")
    for contact in SupportContact.objects.all().only("id", "relationship"):
        words = " ".join(contact.relationship.split()).casefold()
        kind = KINDS.get(words, "other")
        SupportContact.objects.filter(pk=contact.pk).update(
            relationship_kind=kind, is_sponsor=kind == "sponsor"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0003_clinicalalert"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameModel(old_name="EmergencyContact", new_name="SupportContact"),
        migrations.RenameModel(
            old_name="HistoricalEmergencyContact", new_name="HistoricalSupportContact"
        ),
        migrations.AlterModelOptions(
            name="historicalsupportcontact",
            options={
                "get_latest_by": ("history_date", "history_id"),
                "ordering": ("-history_date", "-history_id"),
                "verbose_name": "historical support contact",
                "verbose_name_plural": "historical support contacts",
            },
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="active",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="address",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="e-mail"),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="family_program_participant",
            field=models.BooleanField(
                default=False, verbose_name="takes part in the family program"
            ),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="in_recovery",
            field=models.CharField(
                choices=[("yes", "Yes"), ("no", "No"), ("unknown", "Don't know")],
                default="unknown",
                max_length=7,
                verbose_name="in recovery themselves",
            ),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="is_emergency_contact",
            field=models.BooleanField(default=True, verbose_name="emergency contact"),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="is_sponsor",
            field=models.BooleanField(default=False, verbose_name="12-step sponsor"),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="notes",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="historicalsupportcontact",
            name="relationship_kind",
            field=models.CharField(
                choices=[
                    ("parent", "Parent"),
                    ("partner", "Spouse or partner"),
                    ("child", "Child"),
                    ("sibling", "Sibling"),
                    ("other_family", "Other family"),
                    ("friend", "Friend"),
                    ("sponsor", "Sponsor"),
                    ("employer", "Employer"),
                    ("probation", "Probation or parole officer"),
                    ("other", "Other"),
                ],
                default="other",
                max_length=12,
                verbose_name="relationship",
            ),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="active",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="address",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="e-mail"),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="family_program_participant",
            field=models.BooleanField(
                default=False, verbose_name="takes part in the family program"
            ),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="in_recovery",
            field=models.CharField(
                choices=[("yes", "Yes"), ("no", "No"), ("unknown", "Don't know")],
                default="unknown",
                max_length=7,
                verbose_name="in recovery themselves",
            ),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="is_emergency_contact",
            field=models.BooleanField(default=True, verbose_name="emergency contact"),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="is_sponsor",
            field=models.BooleanField(default=False, verbose_name="12-step sponsor"),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="notes",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="supportcontact",
            name="relationship_kind",
            field=models.CharField(
                choices=[
                    ("parent", "Parent"),
                    ("partner", "Spouse or partner"),
                    ("child", "Child"),
                    ("sibling", "Sibling"),
                    ("other_family", "Other family"),
                    ("friend", "Friend"),
                    ("sponsor", "Sponsor"),
                    ("employer", "Employer"),
                    ("probation", "Probation or parole officer"),
                    ("other", "Other"),
                ],
                default="other",
                max_length=12,
                verbose_name="relationship",
            ),
        ),
        migrations.AlterField(
            model_name="historicalsupportcontact",
            name="phone",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name="historicalsupportcontact",
            name="relationship",
            field=models.CharField(
                blank=True, max_length=60, verbose_name="relationship (own words)"
            ),
        ),
        migrations.AlterField(
            model_name="supportcontact",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="support_contacts",
                to="patients.patient",
            ),
        ),
        migrations.AlterField(
            model_name="supportcontact",
            name="phone",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name="supportcontact",
            name="relationship",
            field=models.CharField(
                blank=True, max_length=60, verbose_name="relationship (own words)"
            ),
        ),
        migrations.CreateModel(
            name="Consent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("tpo", "Treatment, payment and operations (single consent)"),
                            ("named", "A named person or organization"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "disclosing_party",
                    models.CharField(max_length=200, verbose_name="who may disclose"),
                ),
                (
                    "information_description",
                    models.TextField(verbose_name="information to be disclosed"),
                ),
                (
                    "categories",
                    models.JSONField(
                        default=list, help_text="Codes from consent_rules.CATEGORIES."
                    ),
                ),
                ("recipients_description", models.TextField(verbose_name="recipients")),
                ("recipient_name", models.CharField(blank=True, max_length=200)),
                ("recipient_organization", models.CharField(blank=True, max_length=200)),
                ("purpose", models.TextField(verbose_name="purpose of the disclosure")),
                ("revocation_statement", models.TextField(editable=False)),
                (
                    "expiry_kind",
                    models.CharField(
                        choices=[
                            ("date", "On a date"),
                            ("end_of_treatment", "At the end of treatment"),
                            ("none", "No end (TPO consents only)"),
                        ],
                        max_length=16,
                        verbose_name="ends",
                    ),
                ),
                ("expires_on", models.DateField(blank=True, null=True, verbose_name="end date")),
                (
                    "signer",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("patient", "The patient"),
                            ("representative", "A guardian or legal representative"),
                        ],
                        max_length=14,
                        verbose_name="signed by",
                    ),
                ),
                ("representative_name", models.CharField(blank=True, max_length=200)),
                (
                    "representative_authority",
                    models.CharField(
                        blank=True, max_length=100, verbose_name="representative's authority"
                    ),
                ),
                (
                    "typed_signature",
                    models.CharField(blank=True, max_length=200, verbose_name="typed full name"),
                ),
                ("signature_attested", models.BooleanField(default=False)),
                ("signed_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_on", models.DateField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "revocation_method",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("writing", "In writing"),
                            ("verbal", "Verbally (documented here)"),
                        ],
                        max_length=8,
                    ),
                ),
                ("revocation_note", models.TextField(blank=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="consents",
                        to="patients.patient",
                    ),
                ),
                (
                    "revocation_received_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "support_contact",
                    models.ForeignKey(
                        blank=True,
                        help_text="When the recipient is someone in the patient's support system.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="consents",
                        to="patients.supportcontact",
                    ),
                ),
                (
                    "witnessed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="Disclosure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("recipient_name", models.CharField(max_length=200)),
                ("recipient_organization", models.CharField(blank=True, max_length=200)),
                (
                    "tpo_class",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("treating_provider", "a treating provider"),
                            ("payer", "a health plan or third-party payer"),
                            ("operations", "people helping to operate this program"),
                        ],
                        max_length=20,
                        verbose_name="recipient class",
                    ),
                ),
                ("categories", models.JSONField(default=list)),
                ("description", models.TextField(verbose_name="what was released")),
                ("purpose", models.TextField()),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("printed", "Printed and handed over or mailed"),
                            ("pdf", "PDF download"),
                            ("fax", "Fax"),
                            ("electronic", "Electronic (secure e-mail or portal)"),
                        ],
                        default="pdf",
                        max_length=10,
                    ),
                ),
                (
                    "exception",
                    models.CharField(
                        blank=True,
                        choices=[("medical_emergency", "Medical emergency (§2.51)")],
                        max_length=20,
                    ),
                ),
                ("exception_note", models.TextField(blank=True)),
                ("disclosed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "consent",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.RESTRICT,
                        related_name="disclosures",
                        to="patients.consent",
                    ),
                ),
                (
                    "disclosed_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="disclosures",
                        to="patients.patient",
                    ),
                ),
            ],
            options={
                "ordering": ["-disclosed_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="consent",
            index=models.Index(fields=["patient", "signed_at"], name="consent_patient_signed"),
        ),
        migrations.AddIndex(
            model_name="disclosure",
            index=models.Index(fields=["patient", "disclosed_at"], name="disclosure_patient_at"),
        ),
        migrations.AlterField(
            model_name="supportcontact",
            name="is_emergency_contact",
            field=models.BooleanField(default=False, verbose_name="emergency contact"),
        ),
        migrations.AlterField(
            model_name="historicalsupportcontact",
            name="is_emergency_contact",
            field=models.BooleanField(default=False, verbose_name="emergency contact"),
        ),
        migrations.RunPython(kinds_from_words, migrations.RunPython.noop),
    ]
