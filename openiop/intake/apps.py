from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "openiop.intake"
    label = "intake"
    verbose_name = "Inquiries and screening"

    def ready(self) -> None:
        from openiop.intake import home, permissions  # noqa: F401  (registers rules and panel)
