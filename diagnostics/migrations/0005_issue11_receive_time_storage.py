"""Issue 11: the server's receive time is the authority, raw bodies compressed,
fingerprints to spot copies across students, and the stored response derived."""

import hashlib
import json
import zlib
from datetime import timedelta

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def _fingerprints(facts: dict) -> dict:
    devices = (facts.get("nvml") or {}).get("devices") or (facts.get("torch") or {}).get(
        "devices"
    )
    uuid = next((d.get("uuid") for d in devices or () if d.get("uuid")), None)
    results = sorted(
        (r["name"], r["device"], r["median"])
        for r in ((facts.get("bench") or {}).get("results") or ())
        if r.get("median")
    )
    return {
        "gpu_uuid_hash": hashlib.sha256(uuid.encode()).hexdigest() if uuid else "",
        "bench_hash": hashlib.sha256(repr(results).encode()).hexdigest() if results else "",
    }


def forwards(apps, schema_editor):
    Report = apps.get_model("diagnostics", "Report")
    # A created_at years off (e.g. 9999-12-31T23:59:59-14:00) broke every read of the
    # row on PostgreSQL; the raw body keeps what was sent, the column the receive time.
    two_days = timedelta(days=2)
    Report.objects.exclude(
        probed_at__range=(F("received_at") - two_days, F("received_at") + two_days)
    ).update(probed_at=F("received_at"))
    rows = Report.objects.values_list("pk", "raw_body", "facts", "probed_at", "received_at")
    for pk, raw, facts, probed_at, received_at in rows.iterator(chunk_size=200):
        Report.objects.filter(pk=pk).update(
            raw_gz=zlib.compress(raw.encode(), 6),
            clock_skew_s=round((probed_at - received_at).total_seconds()),
            **_fingerprints(facts or {}),
        )


def backwards(apps, schema_editor):
    Report = apps.get_model("diagnostics", "Report")
    rows = Report.objects.exclude(raw_gz=None).values_list(
        "pk", "raw_gz", "report_id", "run_id", "objective_met", "verdict", "flags"
    )
    for pk, raw, report_id, run_id, met, verdict, flags in rows.iterator(chunk_size=200):
        body = zlib.decompress(bytes(raw)).decode()
        data = json.loads(body)
        response = {
            "report_id": str(report_id),
            "run_id": run_id,
            "objective_met": met,
            "verdict": verdict,
            "flags": flags,
        }
        Report.objects.filter(pk=pk).update(
            raw_body=body, response=response, facts=data.get("report", data)
        )


class Migration(migrations.Migration):

    dependencies = [
        ('diagnostics', '0004_report_summary'),
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
        migrations.RunPython(forwards, backwards),
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
