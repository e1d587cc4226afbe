"""Importing into the database: the service, import_module and import_course."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from learning.models import Module, Objective, ObjectiveProgress, Resource, ResourceProgress
from learning.services.importing import import_course, import_file

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "content" / "modules" / "virtual-environments-pytorch.md"
PAGES = Path(__file__).parent / "pages"

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(tmp_path):
    """A course folder holding the seed."""
    shutil.copy(SEED, tmp_path / SEED.name)
    return tmp_path


@pytest.fixture
def seed_path(course):
    return course / SEED.name


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def run(command: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_course_imports_the_seed_with_its_verifier(course):
    summary = import_course(directory=course)
    assert [(r.source_path, r.status) for r in summary.results] == [(SEED.name, "imported")]
    module = Module.objects.get()
    assert (module.slug, module.title, module.sort) == (
        "virtual-environments-pytorch",
        "Virtual environments & PyTorch",
        3,
    )
    assert [o.verifier for o in module.objectives.order_by("order")] == ["gpu-env", "", ""]
    assert module.sections.count() == 2
    kinds = list(module.resources.order_by("order").values_list("kind", flat=True))
    assert kinds == ["video"] + ["link"] * 4 + ["table"] * 4
    assert module.resources.get(title="cudatoolkit").section.title == "1. Virtual environment"


def test_reimporting_an_unchanged_page_skips_it(course):
    import_course(directory=course)
    out, _ = run("import_course", course)
    assert "skipped       virtual-environments-pytorch.md: unchanged" in out
    assert "Summary: imported 0, updated 0, skipped 1, failed 0" in out


def test_changed_text_updates_rows_in_place(seed_path, course):
    import_course(directory=course)
    ids = set(Objective.objects.values_list("pk", flat=True))
    edit(seed_path, "# Virtual environments & PyTorch", "# Virtual environments and PyTorch")
    edit(seed_path, "| DataCamp |  3 hours", "| DataCamp |  4 hours")
    [result] = import_course(directory=course).results
    assert result.status == "updated"
    assert Module.objects.get().title == "Virtual environments and PyTorch"
    assert Resource.objects.get(title="Deep Learning with PyTorch").minutes == 240
    assert set(Objective.objects.values_list("pk", flat=True)) == ids
    assert result.changes["resources updated"] == 1
    assert result.changes["objectives updated"] == 0


def test_progress_survives_a_small_rewording_of_an_objective(seed_path, course, student):
    import_course(directory=course)
    objective = Objective.objects.get(order=3)
    ObjectiveProgress.objects.create(
        student=student, objective=objective, confidence=4, self_assessed_at=timezone.now()
    )
    edit(seed_path, "Explain why PyTorch/Tensorflow is", "Explain why PyTorch or TensorFlow are")
    import_course(directory=course)
    objective.refresh_from_db()
    assert (
        objective.text
        == "Explain why PyTorch or TensorFlow are most prevalent in academia/industry"
    )
    assert objective.archived_at is None
    assert objective.progress.get().confidence == 4


def test_a_removed_objective_is_archived_with_its_progress_and_restored_when_back(
    seed_path, course, student
):
    import_course(directory=course)
    objective = Objective.objects.get(order=2)
    ObjectiveProgress.objects.create(student=student, objective=objective, confidence=2)
    original = seed_path.read_text()
    edit(
        seed_path,
        "- [ ] Describe the trends regarding the Paper Implementations grouped by framework\n",
        "",
    )
    [result] = import_course(directory=course).results
    objective.refresh_from_db()
    assert objective.archived_at is not None
    assert objective.progress.exists()
    assert result.changes["objectives archived"] == 1
    assert Objective.objects.filter(archived_at=None).count() == 2

    seed_path.write_text(original)
    [result] = import_course(directory=course).results
    objective.refresh_from_db()
    assert objective.archived_at is None
    assert result.changes["objectives restored"] == 1


def test_a_removed_resource_is_archived_with_its_progress(seed_path, course, student):
    import_course(directory=course)
    resource = Resource.objects.get(title="cudatoolkit")
    ResourceProgress.objects.create(student=student, resource=resource)
    edit(seed_path, "- [cudatoolkit](https://anaconda.org/anaconda/cudatoolkit)\n", "")
    import_course(directory=course)
    resource.refresh_from_db()
    assert resource.archived_at is not None
    assert resource.progress.exists()


def test_a_bad_page_writes_nothing_and_the_others_still_import(tmp_path):
    shutil.copytree(PAGES, tmp_path / "course")
    (tmp_path / "course" / "latin1.md").write_bytes(b"# Caf\xe9\n")
    with pytest.raises(CommandError, match="4 file"):
        out, err = run("import_course", tmp_path / "course")
    summary = import_course(directory=tmp_path / "course")
    failed = {r.source_path: (r.line, r.detail) for r in summary.results if r.status == "failed"}
    assert failed == {
        "bad-yaml.md": (4, "front matter is not valid YAML: did not find expected ',' or ']'"),
        "bad-sort.md": (3, "front matter `sort` must be a whole number, not 'first'"),
        "bad-mapping.md": (2, "front matter must be a mapping such as `sort: 3`"),
        "latin1.md": (1, "not UTF-8: byte 5 cannot be decoded"),
    }
    skipped = {r.source_path: r.detail for r in summary.results if r.status == "skipped"}
    assert skipped["empty.md"] == "empty file"
    assert skipped["untitled-notes.md"].startswith("no heading")
    assert not Module.objects.filter(source_path__in=failed).exists()
    assert Module.objects.count() == 8
    assert Module.objects.filter(slug="part-2--several-parts").exists()


def test_the_command_names_the_file_and_line_of_each_failure(tmp_path):
    shutil.copy(PAGES / "bad-sort.md", tmp_path)
    shutil.copy(SEED, tmp_path)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_course", str(tmp_path), stdout=out, stderr=err)
    assert "failed        bad-sort.md line 3: front matter `sort`" in err.getvalue()
    assert "Summary: imported 1, updated 0, skipped 0, failed 1" in out.getvalue()


def test_a_missing_folder_is_a_command_error():
    with pytest.raises(CommandError, match="no such folder"):
        run("import_course", "/no/such/course")


def test_dry_run_reports_the_changes_and_writes_nothing(seed_path, course):
    out, _ = run("import_course", course, "--dry-run")
    assert "would import  virtual-environments-pytorch.md: 3 objectives created, 9 resources" in out
    assert "(dry run: nothing written)" in out
    assert not Module.objects.exists()

    import_course(directory=course)
    edit(
        seed_path,
        "- [ ] Describe the trends regarding the Paper Implementations grouped by framework\n",
        "",
    )
    out, _ = run("import_course", course, "--dry-run")
    assert "would update  virtual-environments-pytorch.md: 1 objectives archived" in out
    assert Objective.objects.filter(archived_at=None).count() == 3


def test_import_module_takes_several_paths_and_fails_on_a_missing_one(course, seed_path):
    shutil.copy(PAGES / "tables.md", course)
    with pytest.raises(CommandError, match="1 file"):
        run("import_module", seed_path, course / "tables.md", course / "missing.md")
    assert set(Module.objects.values_list("slug", flat=True)) == {
        "virtual-environments-pytorch",
        "tables",
    }


def test_base_url_resolves_links_and_resource_urls(course):
    shutil.copy(PAGES / "tables.md", course)
    import_file(path=course / "tables.md", course_dir=course, base_url="https://c.example/docs/")
    assert Resource.objects.get(title="Course C").url == "https://c.example/docs/courses/c.html"


def test_the_base_url_option_of_the_command_changes_the_rendered_page(seed_path, course):
    run("import_module", seed_path, "--course-dir", course)
    run("import_module", seed_path, "--course-dir", course, "--base-url", "https://c.example/m")
    assert (
        'src="https://c.example/m/images/PyTorch.jpg"' in Module.objects.get().sections.last().html
    )


def test_slugs_come_from_the_path_and_stay_unique(tmp_path):
    (tmp_path / "part 1").mkdir()
    (tmp_path / "part 1" / "Intro Page.md").write_text("# One\n")
    (tmp_path / "Intro Page.md").write_text("# Two\n")
    (tmp_path / "intro-page.md").write_text("# Three\n")
    import_course(directory=tmp_path)
    slugs = dict(Module.objects.values_list("source_path", "slug"))
    assert slugs["part 1/Intro Page.md"] == "part-1--intro-page"
    assert slugs["Intro Page.md"] == "intro-page"
    assert slugs["intro-page.md"].startswith("intro-page-")


def test_a_changed_verifiers_file_rebinds_objectives_on_the_next_import(course, settings, tmp_path):
    import_course(directory=course)
    verifiers = tmp_path / "verifiers.yaml"
    verifiers.write_text(
        f"{SEED.name}:\n  - objective: describe the TRENDS\n    verifier: gpu-env\n"
    )
    settings.VERIFIERS_FILE = verifiers
    [result] = import_course(directory=course).results
    assert result.status == "updated"
    assert dict(Objective.objects.values_list("order", "verifier")) == {1: "", 2: "gpu-env", 3: ""}


def test_a_broken_verifiers_file_stops_the_import(course, settings, tmp_path):
    settings.VERIFIERS_FILE = tmp_path / "verifiers.yaml"
    settings.VERIFIERS_FILE.write_text("page.md: [{objective: x}]\n")
    with pytest.raises(CommandError, match="verifiers.yaml"):
        run("import_course", course)


def test_a_misspelt_verifier_stops_the_import_and_names_it(course, settings, tmp_path):
    import_course(directory=course)
    settings.VERIFIERS_FILE = tmp_path / "verifiers.yaml"
    settings.VERIFIERS_FILE.write_text(
        f"{SEED.name}:\n  - objective: create\n    verifier: gpu-evn\n"
    )
    with pytest.raises(CommandError, match=r"unknown verifier 'gpu-evn' \(known: gpu-env\)"):
        run("import_course", course)
    # Nothing was re-imported: the objective keeps its verifier.
    assert Objective.objects.get(order=1).verifier == "gpu-env"


def test_parsing_in_worker_processes_gives_the_same_results(tmp_path, monkeypatch):
    shutil.copytree(PAGES, tmp_path / "course")
    serial = import_course(directory=tmp_path / "course", dry_run=True)
    monkeypatch.setattr("learning.services.importing.PARALLEL_FROM", 2)
    parallel = import_course(directory=tmp_path / "course", dry_run=True)
    assert parallel.results == serial.results
    assert parallel.count("failed") == 3 and parallel.count("imported") == 8


_LINES = st.sampled_from(
    [
        "# Title",
        "## Part :rocket:",
        "After this module, you will be able to:",
        "- [ ] Train a model on the GPU",
        "- [ ] Train the model on a GPU",
        "- [x] Explain CUDA",
        "- [Link](https://example.org/a)",
        "- [Link](https://example.org/a)",
        "| Title | Time to complete |\n|---|---|\n| [A](https://example.org/t) | 2h |",
        '<iframe src="https://www.youtube.com/embed/abc"></iframe>',
        "*Video 1. A video.*",
        "```\n# not a heading\n```",
        "",
    ]
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(pages=st.lists(st.lists(st.one_of(_LINES, st.text(max_size=15)), max_size=15), max_size=4))
def test_re_importing_any_sequence_of_pages_never_fails_unexpectedly(tmp_path, pages):
    path = tmp_path / "page.md"
    for lines in pages:
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        result = import_file(path=path, course_dir=tmp_path)
        assert "unexpected" not in result.detail, result.detail
        if result.status in ("imported", "updated"):
            module = Module.objects.get(source_path="page.md")
            active = module.objectives.filter(archived_at=None)
            assert active.count() == len(set(active.values_list("key", flat=True)))


def test_archive_missing_archives_modules_whose_page_is_gone(tmp_path, capsys, settings):
    from django.core.management import call_command

    from learning.models import Module

    settings.VERIFIERS_FILE = tmp_path / "none.yaml"
    (tmp_path / "a.md").write_text("# A\n")
    (tmp_path / "b.md").write_text("# B\n")
    call_command("import_course", tmp_path)
    (tmp_path / "b.md").unlink()
    call_command("import_course", tmp_path, "--archive-missing", "--dry-run")
    assert "would archive b.md: not in the course" in capsys.readouterr().out
    assert Module.objects.get(source_path="b.md").archived_at is None
    call_command("import_course", tmp_path)  # without the flag: left alone
    assert Module.objects.get(source_path="b.md").archived_at is None
    call_command("import_course", tmp_path, "--archive-missing")
    assert Module.objects.get(source_path="b.md").archived_at is not None
