from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "openiop.intake"
    label = "intake"
    verbose_name = "Inquiries and screening"

    def ready(self) -> None:
        from openiop.intake import permissions  # noqa: F401  (registers the rules)
