"""The ledger is append-only in the database too (PostgreSQL).

``invoices.models.AppendOnly`` refuses ``save()`` of an existing row and ``delete()``, but a
bulk ``QuerySet.update()``/``delete()`` or raw SQL never reaches the model. A row trigger
refuses every UPDATE and DELETE of ledger transactions and entries; corrections are reversing
transactions. TRUNCATE (how a test database is flushed) fires no row trigger.

SQLite, the embedded default, has no such trigger: Django flushes a SQLite test database with
DELETE, which it would refuse. The model-level guard still applies there.
"""

from django.db import migrations

TABLES = ("invoices_ledgertransaction", "invoices_entry")

FUNCTION = """
CREATE OR REPLACE FUNCTION invoices_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
"""


def triggers_add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION invoices_ledger_append_only()"
        )


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS invoices_ledger_append_only()")


class Migration(migrations.Migration):
    dependencies = [("invoices", "0003_gateway_refunds")]

    operations = [migrations.RunPython(triggers_add, triggers_drop)]
