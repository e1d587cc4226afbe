"""Instructors' live dashboards: telling them that a class's students did something.

Every service that writes what the dashboard's live region shows of a student
(progress, resources done, reports through their evidence) calls
`activity_touch` after its write, which counts up the student's StudentActivity
row (in the same transaction where there is one; after the write where there is
none, so that a poll that sees the new count also sees the write). The
dashboard's poll (learning.dashboard.live_version) sums those counts over the
class instead of reading the rows themselves.
"""

from functools import lru_cache

from django.db import connection

from learning.models import StudentActivity


def activity_touch(*, student_id: int) -> None:
    """Count one change for the student: one upsert, inside the caller's transaction,
    so a poll sees the new count only with the committed data."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [student_id])


@lru_cache(maxsize=1)
def _upsert_sql() -> str:
    # Raw SQL: the ORM has no "add one, or insert" in one statement. PostgreSQL and
    # SQLite (3.24+) both take ON CONFLICT.
    table = connection.ops.quote_name(StudentActivity._meta.db_table)
    return (
        f"INSERT INTO {table} (student_id, changes) VALUES (%s, 1) "
        f"ON CONFLICT (student_id) DO UPDATE SET changes = {table}.changes + 1"
    )
