from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "openiop.notes"
    label = "notes"
    verbose_name = "Clinical notes"

    def ready(self) -> None:
        from openiop.notes import permissions  # noqa: F401
