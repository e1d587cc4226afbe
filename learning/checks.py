"""`manage.py check`: verifier names must be in the registry (diagnostics.agent.verdict.ids).

A typo in content/verifiers.yaml would otherwise leave an objective that no
report can ever verify, silently.
"""

from django.core.checks import CheckMessage, Error, Tags, register
from django.db import connections

from learning.services.importing import KNOWN_VERIFIERS, CourseError, load_verifiers


@register()
def verifiers_file(app_configs, **kwargs) -> list[CheckMessage]:
    try:
        load_verifiers()
    except CourseError as exc:
        return [
            Error(
                str(exc),
                hint=f"Verifiers are: {', '.join(KNOWN_VERIFIERS)}. Fix the file, then re-import.",
                id="learning.E001",
            )
        ]
    return []


@register(Tags.database)
def objective_verifiers(app_configs, databases=None, **kwargs) -> list[CheckMessage]:
    """Stored objectives naming a verifier outside the registry (`check --database default`)."""
    from learning.models import Objective

    errors: list[CheckMessage] = []
    for alias in databases or ():
        if Objective._meta.db_table not in connections[alias].introspection.table_names():
            continue  # not migrated yet (migrate runs these checks first)
        unknown = (
            Objective.objects.using(alias)
            .exclude(verifier="")
            .exclude(verifier__in=KNOWN_VERIFIERS)
            .values_list("pk", "verifier")
        )
        errors += [
            Error(
                f"Objective {pk} names the unknown verifier {verifier!r}.",
                hint=f"Verifiers are: {', '.join(KNOWN_VERIFIERS)}. Fix content/verifiers.yaml "
                "and re-import, or pick one in the admin.",
                obj=f"learning.Objective({pk})",
                id="learning.E002",
            )
            for pk, verifier in unknown
        ]
    return errors
