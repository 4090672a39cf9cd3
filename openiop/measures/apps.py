from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "openiop.measures"
    label = "measures"
    verbose_name = "Measurement-based care"

    def ready(self) -> None:
        # Registers the permission rules and the home-page panel.
        from openiop.measures import home, permissions  # noqa: F401
