"""A held-out course folder in the style of a Jekyll / just-the-docs course site.

The pages live in tests/learning/heldout_pages/ (not under pages/, whose tests copy
that whole folder and count what it imports).
"""

import shutil
from pathlib import Path

import pytest

from learning.importer import PageError, parse_minutes, parse_page
from learning.models import Module, Objective, ObjectiveProgress, Resource
from learning.services.importing import import_course

COURSE = Path(__file__).parent / "heldout_pages"
BASE = "https://example.org/course/"


@pytest.fixture
def course(tmp_path):
    shutil.copytree(COURSE, tmp_path / "course")
    return tmp_path / "course"


def module(path: str) -> Module:
    return Module.objects.get(source_path=path)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("2 hrs", 120),
        ("30 mins", 30),
        ("1h30", 90),
        ("1 hr 30", 90),
        ("1.5 hours", 90),
        ("~2 hours", 120),
        ("2-3 hours", 180),
        ("1 h", 60),
        ("45 min", 45),
        ("... hours", None),
        ("self-paced", None),
    ],
)
def test_time_to_complete_in_the_course_formats(text, minutes):
    assert parse_minutes(text) == minutes


def test_markdown_inside_a_kramdown_callout_is_rendered():
    page = parse_page(
        '# T\n\n<div class="alert alert-info" markdown="1">\n'
        "**Note:** not complete :warning:\n- one\n</div>\n\nAfter.\n"
    )
    assert (
        '<div class="alert alert-info">\n<p><strong>Note:</strong> not complete ⚠️</p>'
        in page.intro_html
    )
    assert "<li>one</li>" in page.intro_html and "markdown=" not in page.intro_html


def test_an_unclosed_quote_in_front_matter_names_the_line_it_opened_on():
    with pytest.raises(PageError) as caught:
        parse_page('---\nsort: 9\ntitle: "Unclosed quote\nnav_order: 2\n---\n\n# B\n')
    assert "opened on line 3" in str(caught.value)


@pytest.mark.django_db
def test_the_heldout_course_imports_page_by_page(course):
    summary = import_course(directory=course, base_url="")
    by_path = {r.source_path: r for r in summary.results}
    # Gems under vendor/ and the built _site/ are no course pages.
    assert not [p for p in by_path if p.startswith(("vendor/", "_site/"))]
    failed = {p: (r.line, r.detail) for p, r in by_path.items() if r.status == "failed"}
    assert set(failed) == {"part2/binary.md", "part2/broken-yaml.md", "part2/latin1.md"}
    assert failed["part2/latin1.md"][0] == 5
    assert "opened on line 3" in failed["part2/broken-yaml.md"][1]
    skipped = {p for p, r in by_path.items() if r.status == "skipped"}
    # Both READMEs lack front matter: repository notes, not course pages.
    assert skipped == {"part2/empty.md", "part3/notes.md", "README.md", "part2/labs/README.md"}
    assert summary.count("imported") == 14

    intro = module("part1/intro.md")
    assert intro.title == "Introduction to deep learning"
    assert [o.text for o in intro.objectives.order_by("order")] == [
        "Explain what a neural network is",
        "Describe the difference between training and inference",
        "Name three frameworks for deep learning",
    ]
    rows = {r.title: r for r in intro.resources.all()}
    assert rows["3Blue1Brown: Neural networks"].minutes == 90  # "1h30"
    assert rows["Neural networks and deep learning"].extra == {"Notes": "Chapters 1-2 only"}
    assert (
        rows["Video 1. But what is a neural network?"].url
        == "https://www.youtube.com/watch?v=aircAruvnKk"
    )
    html = intro.sections.get().html
    assert '<span class="image-alt">Overview</span>' in html and "<img" not in html
    assert "the next page" in html and "setup.md" not in html

    history = module("part1/history.md")
    assert not history.resources.exists()  # links in the third column; vimeo is no video
    section = history.sections.get().html
    assert "player.vimeo.com" not in section and "<strong>Note:</strong>" in section
    assert "<details>" in section and "<summary>" in section

    setup = module("part2/setup.md")
    assert setup.objectives.count() == 2
    times = {r.time_text: r.minutes for r in setup.resources.all()}
    assert times == {"~2 hours": 120, "2-3 hours": 180, "... hours": None, "self-paced": None}
    assert "# a comment, not a heading" in setup.intro_html

    assert not module("part2/dataset.md").objectives.exists()  # fields, no lead-in
    groups = list(
        module("part2/two-parts.md").objectives.order_by("order").values_list("group", flat=True)
    )
    assert groups == ["Part A: training"] * 2 + ["Part B: evaluation"] * 2
    assert [o.text for o in module("part2/crlf.md").objectives.all()] == [
        "Handle CRLF files",
        "Still parse objectives",
    ]
    assert module("part2/labs/extra/deep.md").objectives.count() == 2
    assert module("part3/lead-in-heading.md").objectives.count() == 2
    assert module("part3/ordering.md").sort == 14
    assert module("index.md").title == "Deep Learning Course"


@pytest.mark.django_db
def test_the_base_url_resolves_pages_and_images_of_the_heldout_course(course):
    import_course(directory=course, base_url=BASE)
    html = module("part1/intro.md").sections.get().html
    assert 'src="https://example.org/course/images/overview.png"' in html
    assert 'href="https://example.org/course/part2/setup.md"' in html
    html = module("part3/transformers.md").sections.get().html
    assert 'src="https://example.org/course/part3/images/attention.png"' in html
    assert "<script" not in html


@pytest.mark.django_db
def test_reimport_rewording_and_removal_on_the_heldout_course(course, student):
    import_course(directory=course, base_url=BASE)
    again = import_course(directory=course, base_url=BASE)
    assert again.count("imported") == again.count("updated") == 0
    intro = module("part1/intro.md")
    first, second, _ = intro.objectives.order_by("order")
    for objective in (first, second):
        ObjectiveProgress.objects.create(student=student, objective=objective, confidence=4)
    page = course / "part1" / "intro.md"
    text = page.read_text()
    text = text.replace(
        "Explain what a neural network is", "Explain what a neural network is and does"
    )
    page.write_text(
        text.replace("- [ ] Describe the difference between training and inference\n", "")
    )
    summary = import_course(directory=course, base_url=BASE)
    assert summary.count("updated") == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.text.endswith("and does") and first.archived_at is None
    assert second.archived_at is not None
    assert ObjectiveProgress.objects.filter(student=student).count() == 2
    assert Objective.objects.filter(module=intro, archived_at=None).count() == 2
    assert Resource.objects.filter(module=intro, archived_at=None).count() == 5
