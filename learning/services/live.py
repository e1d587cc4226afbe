"""Instructors' live dashboards: telling them that a class's students did something.

Every service that writes what the dashboard's live region shows of a student
(progress, resources done, reports through their evidence) calls
`dashboards_touch`, which renews the activity stamp of each of the student's
classes. The dashboard's poll reads that stamp (learning.dashboard.live_version)
instead of scanning the class's rows.
"""

import uuid
from collections.abc import Iterable

from django.core.cache import cache
from django.db import connection, transaction

from learning.dashboard import activity_key
from learning.models import Klass


def dashboards_touch(*, student_ids: Iterable[int]) -> None:
    """Renew the activity stamp of these students' classes, now and once the
    transaction commits.

    The second stamp is the one that counts: a poll between the two may build
    the region from the data as it was before the commit, and the stamp written
    after the commit makes the next poll build it again.
    """
    members = Klass.students.through.objects.filter(user_id__in=list(student_ids))
    klass_ids = set(members.values_list("klass_id", flat=True))
    if not klass_ids:
        return

    def renew() -> None:
        stamp = uuid.uuid4().hex
        cache.set_many({activity_key(pk): stamp for pk in klass_ids}, timeout=None)

    renew()
    if connection.in_atomic_block:
        transaction.on_commit(renew)
