from django.apps import AppConfig


class DischargeConfig(AppConfig):
    name = "openiop.discharge"
    label = "discharge"
    verbose_name = "Discharge and continuing care"

    def ready(self) -> None:
        from openiop.discharge import permissions, selectors  # noqa: F401
