from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "openiop.recovery"
    label = "recovery"
    verbose_name = "Recovery tracking"

    def ready(self) -> None:
        from openiop.recovery import permissions  # noqa: F401
