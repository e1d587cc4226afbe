"""`manage.py check` refuses verifier names outside the registry, in the file and the database."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from diagnostics.agent.verdict.ids import Verifier
from learning.models import Objective


def check(*args: str) -> str:
    out = StringIO()
    call_command("check", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_the_shipped_verifiers_file_passes():
    assert "no issues" in check()


def test_a_misspelt_verifier_in_the_file_fails_the_check(settings, tmp_path):
    settings.VERIFIERS_FILE = tmp_path / "verifiers.yaml"
    settings.VERIFIERS_FILE.write_text("page.md:\n  - objective: create\n    verifier: gpu_env\n")
    with pytest.raises(SystemCheckError, match=r"learning\.E001.*unknown verifier 'gpu_env'"):
        check()


def test_an_unreadable_verifiers_file_fails_the_check(settings, tmp_path):
    settings.VERIFIERS_FILE = tmp_path / "verifiers.yaml"
    settings.VERIFIERS_FILE.write_text("page.md: [unclosed\n")
    with pytest.raises(SystemCheckError, match=r"learning\.E001.*cannot be read as YAML"):
        check()


@pytest.mark.django_db
def test_a_stored_objective_with_an_unknown_verifier_fails_the_database_check(module):
    objective = module.objectives.get(order=1)
    # An update() bypasses the field's choices, as a raw SQL edit or an old import would.
    Objective.objects.filter(pk=objective.pk).update(verifier="gpu-evn")
    assert "no issues" in check()  # without --database the stored rows are not read
    with pytest.raises(
        SystemCheckError, match=rf"learning\.E002.*Objective {objective.pk} .*'gpu-evn'"
    ):
        check("--database", "default")


def test_the_admin_offers_only_registered_verifiers():
    field = Objective._meta.get_field("verifier")
    assert [value for value, _ in field.choices] == [v.value for v in Verifier]
