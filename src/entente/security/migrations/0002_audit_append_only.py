"""The database itself refuses to change or remove audit rows and checkpoints.

Row triggers on both engines. TRUNCATE is not trapped on PostgreSQL because Django's test flush
uses it; in production the application's role must not own these tables (docs/architecture.md),
and a truncation is caught by `entente audit verify` through the signed checkpoints.
"""

from django.db import migrations

TABLES = ("security_auditevent", "security_auditcheckpoint")


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "sqlite":
            for op in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit log is append-only: {op} refused'); END;")
        elif vendor == "postgresql":
            schema_editor.execute(
                "CREATE OR REPLACE FUNCTION entente_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, "
                "TG_TABLE_NAME; END; $$ LANGUAGE plpgsql;", params=None)
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION entente_append_only();")
        else:
            raise RuntimeError(f"No append-only triggers for database '{vendor}'.")


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "sqlite":
            for op in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op};")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")


class Migration(migrations.Migration):
    dependencies = [("security", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
