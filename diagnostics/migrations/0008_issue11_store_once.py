"""Issue 11, third step: drop the copies 0006 made redundant (the raw text, the facts,
the stored response) and the (student, probed_at) index. A migration of its own:
PostgreSQL refuses to ALTER a table in the transaction that just updated its rows."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('diagnostics', '0007_issue11_fill'),
    ]

    operations = [
        # A default, so that unapplying the removal below can add the column back.
        migrations.AlterField(
            model_name='report',
            name='raw_body',
            field=models.TextField(default="", help_text="The request body exactly as received."),
        ),
        migrations.RemoveIndex(
            model_name='report',
            name='diagnostics_student_e377c7_idx',
        ),
        migrations.RemoveField(
            model_name='report',
            name='raw_body',
        ),
        migrations.RemoveField(
            model_name='report',
            name='response',
        ),
        # The facts are read back from the raw body: storing them too doubled every report.
        migrations.AlterField(
            model_name='report',
            name='facts',
            field=models.JSONField(default=dict, help_text="The validated report."),
        ),
        migrations.RemoveField(
            model_name='report',
            name='facts',
        ),
    ]
