from django.apps import AppConfig


class AdmissionsConfig(AppConfig):
    name = "openiop.admissions"
    label = "admissions"
    verbose_name = "Admissions and episodes of care"

    def ready(self) -> None:
        from openiop.admissions import disclosure, home, permissions, selectors  # noqa: F401
