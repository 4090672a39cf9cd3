from django.apps import AppConfig


class MeasuresConfig(AppConfig):
    name = "openiop.measures"
    label = "measures"
    verbose_name = "Measurement-based care"

    def ready(self) -> None:
        from openiop.measures import permissions  # noqa: F401  (registers the rules)
