"""Database triggers that keep signed documentation unchanged.

The services already refuse; these make it hold for raw SQL, the admin and any future code
path (a signed note is a legal record: a change is an addendum). Once ``signed_at`` is set,
a note or group note refuses UPDATE and DELETE; a signed group note's entries and a signed
note's linked objectives and participants refuse INSERT, UPDATE and DELETE; addenda and
co-signatures refuse UPDATE and DELETE always. Deletion is let through only inside
``openiop.audit.purge.allow_audit_purge()`` (the retention purge; the test flush).
"""

from django.db import migrations

LOCKED = "a signed note is locked: write an addendum instead"
PURGING_SQLITE = "openiop_audit_purge_allowed() = 0"

SIGNED_TABLES = ["notes_note", "notes_groupnote"]
# child table, parent table, foreign-key column
CHILD_TABLES = [
    ("notes_groupnoteentry", "notes_groupnote", "group_note_id"),
    ("notes_noteobjective", "notes_note", "note_id"),
    ("notes_noteparticipant", "notes_note", "note_id"),
]
APPEND_ONLY = ["notes_addendum", "notes_cosignature"]


def _sqlite_forward() -> list[str]:
    sql = []
    for table in SIGNED_TABLES:
        sql.append(
            f"CREATE TRIGGER {table}_signed_no_update BEFORE UPDATE ON {table} "
            f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
        sql.append(
            f"CREATE TRIGGER {table}_signed_no_delete BEFORE DELETE ON {table} "
            f"WHEN OLD.signed_at IS NOT NULL AND {PURGING_SQLITE} "
            f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
    for child, parent, column in CHILD_TABLES:
        locked_new = f"(SELECT signed_at FROM {parent} WHERE id = NEW.{column}) IS NOT NULL"  # noqa: S608 (constants)
        locked_old = f"(SELECT signed_at FROM {parent} WHERE id = OLD.{column}) IS NOT NULL"  # noqa: S608 (constants)
        sql.append(
            f"CREATE TRIGGER {child}_signed_no_insert BEFORE INSERT ON {child} "
            f"WHEN {locked_new} BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
        sql.append(
            f"CREATE TRIGGER {child}_signed_no_update BEFORE UPDATE ON {child} "
            f"WHEN {locked_old} OR {locked_new} BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
        sql.append(
            f"CREATE TRIGGER {child}_signed_no_delete BEFORE DELETE ON {child} "
            f"WHEN {locked_old} AND {PURGING_SQLITE} BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
    for table in APPEND_ONLY:
        sql.append(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
        sql.append(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"WHEN {PURGING_SQLITE} BEGIN SELECT RAISE(ABORT, '{LOCKED}'); END;"
        )
    return sql


def _sqlite_backward() -> list[str]:
    names = [f"{t}_signed_no_{op}" for t in SIGNED_TABLES for op in ("update", "delete")]
    names += [
        f"{c}_signed_no_{op}" for c, _, _ in CHILD_TABLES for op in ("insert", "update", "delete")
    ]
    names += [f"{t}_no_{op}" for t in APPEND_ONLY for op in ("update", "delete")]
    return [f"DROP TRIGGER IF EXISTS {name};" for name in names]


PURGING_POSTGRES = "coalesce(current_setting('openiop.audit_purge', true), '') = 'on'"

POSTGRES_FUNCTIONS = [
    f"""
    CREATE OR REPLACE FUNCTION notes_refuse_signed() RETURNS trigger AS $$
    BEGIN
        IF OLD.signed_at IS NOT NULL AND NOT (TG_OP = 'DELETE' AND {PURGING_POSTGRES}) THEN
            RAISE EXCEPTION '{LOCKED}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE OR REPLACE FUNCTION notes_refuse_child_of_signed() RETURNS trigger AS $$
    DECLARE
        parents bigint[];
        locked boolean;
    BEGIN
        -- TG_ARGV[0]: the parent table; TG_ARGV[1]: this table's column naming the parent.
        IF TG_OP = 'DELETE' AND {PURGING_POSTGRES} THEN RETURN OLD; END IF;
        IF TG_OP = 'INSERT' THEN
            parents := ARRAY[(to_jsonb(NEW) ->> TG_ARGV[1])::bigint];
        ELSIF TG_OP = 'DELETE' THEN
            parents := ARRAY[(to_jsonb(OLD) ->> TG_ARGV[1])::bigint];
        ELSE
            parents := ARRAY[(to_jsonb(OLD) ->> TG_ARGV[1])::bigint,
                             (to_jsonb(NEW) ->> TG_ARGV[1])::bigint];
        END IF;
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM %I WHERE id = ANY($1) AND signed_at IS NOT NULL)',
            TG_ARGV[0]
        ) INTO locked USING parents;
        IF locked THEN
            RAISE EXCEPTION '{LOCKED}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,  # noqa: S608 (constants only)
    f"""
    CREATE OR REPLACE FUNCTION notes_refuse_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND {PURGING_POSTGRES} THEN RETURN OLD; END IF;
        RAISE EXCEPTION '{LOCKED}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
]


def _postgres_forward() -> list[str]:
    sql = list(POSTGRES_FUNCTIONS)
    for table in SIGNED_TABLES:
        sql.append(
            f"CREATE TRIGGER {table}_signed_locked BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION notes_refuse_signed();"
        )
    for child, parent, column in CHILD_TABLES:
        sql.append(
            f"CREATE TRIGGER {child}_signed_locked BEFORE INSERT OR UPDATE OR DELETE ON {child} "
            f"FOR EACH ROW EXECUTE FUNCTION notes_refuse_child_of_signed('{parent}', '{column}');"
        )
    for table in APPEND_ONLY:
        sql.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION notes_refuse_change();"
        )
    return sql


def _postgres_backward() -> list[str]:
    sql = [f"DROP TRIGGER IF EXISTS {t}_signed_locked ON {t};" for t in SIGNED_TABLES]
    sql += [f"DROP TRIGGER IF EXISTS {c}_signed_locked ON {c};" for c, _, _ in CHILD_TABLES]
    sql += [f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};" for t in APPEND_ONLY]
    sql += [
        "DROP FUNCTION IF EXISTS notes_refuse_signed();",
        "DROP FUNCTION IF EXISTS notes_refuse_child_of_signed();",
        "DROP FUNCTION IF EXISTS notes_refuse_change();",
    ]
    return sql


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": _sqlite_forward, "postgresql": _postgres_forward}.get(vendor)
    for sql in statements() if statements else []:
        schema_editor.execute(sql, None)  # no parameters: "%I" is format()'s, not ours


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": _sqlite_backward, "postgresql": _postgres_backward}.get(vendor)
    for sql in statements() if statements else []:
        schema_editor.execute(sql, None)  # no parameters: "%I" is format()'s, not ours


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
