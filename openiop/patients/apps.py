from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "openiop.patients"
    label = "patients"

    def ready(self) -> None:
        # Registers the home panel, the support/consent permissions, the chart header's consent
        # status and the demographics section of released documents.
        from openiop.patients import consents, disclosure, home, permissions  # noqa: F401
