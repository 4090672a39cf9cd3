from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "openiop.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling and attendance"

    def ready(self) -> None:
        from openiop.scheduling import family, home, permissions  # noqa: F401
