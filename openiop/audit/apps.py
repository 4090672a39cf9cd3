from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "openiop.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from openiop.audit.purge import register_sqlite_function

        connection_created.connect(register_sqlite_function, dispatch_uid="openiop_audit_sqlite")
