"""Database triggers that keep a signed discharge unchanged.

The services already refuse; these make it hold for raw SQL, the admin and any future code
path (the discharge summary is a legal record). Once ``signed_at`` is set the row refuses
UPDATE and DELETE; deletion is let through only inside
``openiop.audit.purge.allow_audit_purge()`` (the retention purge; the test flush).
"""

from django.db import migrations

LOCKED = "a signed discharge is locked"
TABLE = "discharge_discharge"


def _sqlite_forward() -> list[str]:
    return [
        f"CREATE TRIGGER {TABLE}_signed_no_update BEFORE UPDATE ON {TABLE} "
        f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;",
        f"CREATE TRIGGER {TABLE}_signed_no_delete BEFORE DELETE ON {TABLE} "
        "WHEN OLD.signed_at IS NOT NULL AND openiop_audit_purge_allowed() = 0 "
        f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;",
    ]


def _sqlite_backward() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TABLE}_signed_no_update;",
        f"DROP TRIGGER IF EXISTS {TABLE}_signed_no_delete;",
    ]


PURGING_POSTGRES = "coalesce(current_setting('openiop.audit_purge', true), '') = 'on'"


def _postgres_forward() -> list[str]:
    return [
        f"""
        CREATE OR REPLACE FUNCTION discharge_refuse_signed() RETURNS trigger AS $$
        BEGIN
            IF OLD.signed_at IS NOT NULL AND NOT (TG_OP = 'DELETE' AND {PURGING_POSTGRES}) THEN
                RAISE EXCEPTION '{LOCKED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql;
        """,
        f"CREATE TRIGGER {TABLE}_signed_locked BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION discharge_refuse_signed();",
    ]


def _postgres_backward() -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {TABLE}_signed_locked ON {TABLE};",
        "DROP FUNCTION IF EXISTS discharge_refuse_signed();",
    ]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": _sqlite_forward, "postgresql": _postgres_forward}.get(vendor)
    for sql in statements() if statements else []:
        schema_editor.execute(sql, None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": _sqlite_backward, "postgresql": _postgres_backward}.get(vendor)
    for sql in statements() if statements else []:
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):
    dependencies = [("discharge", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
