from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fluentcart_sync", "0008_merge_base_provenance")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="retry_not_before",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="synccircuit",
            name="last_answer_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="PushOutcomeMinute",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("minute", models.DateTimeField()),
                ("outcome", models.CharField(max_length=16)),
                ("count", models.PositiveBigIntegerField(default=0)),
            ],
            options={"verbose_name": "push outcomes of a minute"},
        ),
        migrations.AddConstraint(
            model_name="pushoutcomeminute",
            constraint=models.UniqueConstraint(
                fields=("minute", "outcome"), name="fluentcart_sync_outcome_minute_unique"
            ),
        ),
        migrations.CreateModel(
            name="SyncRun",
            fields=[
                ("kind", models.CharField(max_length=16, primary_key=True, serialize=False)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("duration_seconds", models.FloatField(default=0)),
                ("ok", models.BooleanField(default=True)),
                ("result", models.TextField(blank=True)),
                ("last_success_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={"verbose_name": "last run"},
        ),
    ]
