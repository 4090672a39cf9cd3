from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "openiop.patients"
    label = "patients"

    def ready(self) -> None:
        from openiop.patients import home  # noqa: F401  (registers the home panel)
