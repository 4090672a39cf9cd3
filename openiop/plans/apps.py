from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "openiop.plans"
    label = "plans"
    verbose_name = "Treatment plans"

    def ready(self) -> None:
        from openiop.plans import disclosure, home, permissions, selectors, signals  # noqa: F401
