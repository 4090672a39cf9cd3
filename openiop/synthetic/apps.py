from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "openiop.synthetic"
    label = "synthetic"
