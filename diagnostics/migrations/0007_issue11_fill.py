"""Issue 11, second step: compress the stored bodies, fill the skew and fingerprints,
and reset created_at values years off (they broke every read on PostgreSQL). Data
only: PostgreSQL refuses to ALTER a table in the transaction that updated its rows."""

import hashlib
import json
import zlib
from datetime import timedelta

from django.db import migrations
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
    dependencies = [("diagnostics", "0006_issue11_receive_time_storage")]

    operations = [migrations.RunPython(forwards, backwards)]
