"""Amounts stored before payload numbers were bounded ("1e300" on SQLite) cannot be read back as
numeric(14, 2): they made every queue page of their workspace fail. They are no amount at all, like a
payload amount that is not a number, so they become 0."""

from django.db import migrations

LIMIT = "1e12"  # numeric(14, 2) holds less than 10**12


def clear_out_of_bounds_amounts(apps, schema_editor):
    table = apps.get_model("queues", "ExceptionItem")._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "sqlite":
            # SQLite keeps what it was given; a NaN reads back as NULL and an infinity compares as huge.
            cursor.execute(f"UPDATE {table} SET amount = 0 WHERE amount IS NULL OR abs(amount) >= {LIMIT}")
        # PostgreSQL's numeric(14, 2) never took such a value.


class Migration(migrations.Migration):
    dependencies = [("queues", "0003_counts_index")]

    operations = [migrations.RunPython(clear_out_of_bounds_amounts, migrations.RunPython.noop)]
