"""The circuit's one row exists from the start, so opening it is always an UPDATE: two workers
refused at once never race to INSERT it (InnoDB answers that race with a deadlock)."""

from django.db import migrations


def create_row(apps, schema_editor):
    SyncCircuit = apps.get_model("fluentcart_sync", "SyncCircuit")
    SyncCircuit.objects.using(schema_editor.connection.alias).get_or_create(key="fluentcart")


class Migration(migrations.Migration):
    dependencies = [("fluentcart_sync", "0005_two_way_sync")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
