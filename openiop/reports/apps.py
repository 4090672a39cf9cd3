from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "openiop.reports"
    label = "reports"
    verbose_name = "Reports and exports"

    def ready(self) -> None:
        from openiop.reports import checks, permissions  # noqa: F401
