from django.apps import AppConfig


class AttachmentsConfig(AppConfig):
    name = "openiop.attachments"
    label = "attachments"
    verbose_name = "Attachments"

    def ready(self) -> None:
        from openiop.attachments import checks, header, permissions  # noqa: F401
