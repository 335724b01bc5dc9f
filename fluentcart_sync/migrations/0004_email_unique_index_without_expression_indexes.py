"""Emails unique ignoring case on databases without indexes on expressions (MariaDB, MySQL < 8.0.13).

There Django skips the `Lower("email")` unique constraint (models.W044). MySQL and MariaDB compare
strings with the column's collation, and their default collations (`*_ci`) ignore case, so a plain
unique index on `email` refuses the same emails the constraint refuses elsewhere. Nothing happens on
databases that created the constraint.
"""

from django.db import migrations

INDEX = "fluentcart_sync_customer_email_ci_uniq"


def _needed(schema_editor) -> bool:
    connection = schema_editor.connection
    return connection.vendor == "mysql" and not connection.features.supports_expression_indexes


def create_index(apps, schema_editor):
    if not _needed(schema_editor):
        return
    table = apps.get_model("fluentcart_sync", "Customer")._meta.db_table
    qn = schema_editor.quote_name
    schema_editor.execute(f"CREATE UNIQUE INDEX {qn(INDEX)} ON {qn(table)} ({qn('email')})")


def drop_index(apps, schema_editor):
    if not _needed(schema_editor):
        return
    table = apps.get_model("fluentcart_sync", "Customer")._meta.db_table
    qn = schema_editor.quote_name
    schema_editor.execute(f"DROP INDEX {qn(INDEX)} ON {qn(table)}")


class Migration(migrations.Migration):
    dependencies = [("fluentcart_sync", "0003_notes_validation")]

    # Not atomic: MySQL and MariaDB cannot roll DDL back, and Django refuses DDL inside a transaction there.
    operations = [migrations.RunPython(create_index, drop_index, atomic=False, elidable=False)]
