from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "openiop.accounts"
    label = "accounts"
    verbose_name = "Organization and staff"

    def ready(self) -> None:
        from openiop.accounts import permissions, signals  # noqa: F401
