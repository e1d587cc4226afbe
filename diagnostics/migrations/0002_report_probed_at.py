from django.db import migrations, models
from django.db.models import F


class Migration(migrations.Migration):
    dependencies = [("diagnostics", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="report",
            name="probed_at",
            field=models.DateTimeField(
                null=True, help_text="When the probe ran (the report's created_at)."
            ),
        ),
        migrations.RunPython(
            lambda apps, schema_editor: apps.get_model("diagnostics", "Report")
            .objects.update(probed_at=F("received_at")),
            migrations.RunPython.noop,
        ),
        migrations.AlterField(
            model_name="report",
            name="probed_at",
            field=models.DateTimeField(help_text="When the probe ran (the report's created_at)."),
        ),
    ]
