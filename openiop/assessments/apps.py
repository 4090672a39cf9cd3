from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "openiop.assessments"
    label = "assessments"
    verbose_name = "Assessments"

    def ready(self) -> None:
        from openiop.assessments import disclosure, permissions  # noqa: F401  (registers)
