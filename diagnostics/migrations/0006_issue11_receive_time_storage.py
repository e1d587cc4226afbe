"""Issue 11, first step: the columns for the server's receive time, the clock skew,
the compressed body and the fingerprints that spot a copy across students."""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('diagnostics', '0005_issue10_run_attempts'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='report',
            name='bench_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='report',
            name='clock_skew_s',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='report',
            name='gpu_uuid_hash',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='report',
            name='pruned_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='report',
            name='raw_gz',
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='report',
            name='probed_at',
            field=models.DateTimeField(help_text="When the probe ran by the student's clock (the report's created_at)."),
        ),
        migrations.AlterField(
            model_name='report',
            name='received_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['student', 'received_at'], name='report_student_received_idx'),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['gpu_uuid_hash', 'student'], name='report_gpu_uuid_idx'),
        ),
        migrations.AddIndex(
            model_name='report',
            index=models.Index(fields=['bench_hash', 'student'], name='report_bench_idx'),
        ),
    ]
