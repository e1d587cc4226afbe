"""Course upload benchmark: a 300-page course as a zip, through /teach/content/'s path.

    .venv/bin/python perf/upload_bench.py [--pages 300]

Generates the course of perf/import_bench.py, zips it, then times, on a
throwaway SQLite database: the command line's dry run over the folder (the
baseline), staging the zip (checks, unpacking and the same dry run), reading the
stored preview back (what a GET of the preview page does), confirming it, and
grouping the modules into chapters. Prints each as a ratio to the baseline, so
the figures mean the same on a busy machine.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import zipfile
from pathlib import Path

from import_bench import generate, setup_django


def seconds(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    count = parser.parse_args().pages
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        course = tmp / "course"
        generate(course, count)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(course.rglob("*.md")):
                archive.write(path, f"course/{path.relative_to(course)}")
        connection = setup_django(tmp)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile

        from learning.models import Module
        from learning.selectors import module_chapters
        from learning.services import uploads
        from learning.services.importing import import_course

        settings.UPLOAD_DIR = tmp / "uploads"
        user = get_user_model().objects.create_user("bench-instructor")
        upload = SimpleUploadedFile("course.zip", buffer.getvalue())
        print(f"{count} pages, zip {len(buffer.getvalue()) / 2**20:.1f} MiB, {connection.vendor}")
        try:
            base, _ = seconds(lambda: import_course(directory=course, dry_run=True))
            stage, staged = seconds(
                lambda: uploads.stage_upload(user=user, upload=upload, whole_course=True)
            )
            show, summary = seconds(lambda: uploads.preview(staged=staged))
            apply, _ = seconds(lambda: uploads.apply(staged=staged))
            modules = list(Module.objects.all())
            group, chapters = seconds(lambda: module_chapters(modules))
            rows = [
                ("CLI dry run over the folder (baseline)", base),
                ("stage the zip: check, unpack, dry run", stage),
                ("show the stored preview", show),
                ("confirm: the import itself", apply),
                (f"group {len(modules)} modules into {len(chapters)} chapters", group),
            ]
            for label, value in rows:
                print(f"{label:<44} {value * 1000:8.1f} ms  {value / base:6.2f}× baseline")
            assert summary.count("imported") == count, summary.count("failed")
        finally:
            connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


if __name__ == "__main__":
    main()
