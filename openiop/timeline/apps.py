from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "openiop.timeline"
    label = "timeline"
    verbose_name = "Chart timeline"
