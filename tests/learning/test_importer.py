"""The page parser and renderer (learning.importer): no database involved."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learning.importer import (
    NotACoursePage,
    PageError,
    ParsedPage,
    decode,
    parse_file,
    parse_minutes,
    parse_page,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "content" / "modules" / "virtual-environments-pytorch.md"
PAGES = Path(__file__).parent / "pages"


def page(name: str, **options):
    path = PAGES / name
    return parse_page(decode(path.read_bytes()), fallback_title=path.stem, **options)


@pytest.fixture(scope="module")
def seed():
    return parse_page(decode(SEED.read_bytes()))


# --- The seed ---------------------------------------------------------------


def test_the_seed_has_its_title_sort_and_intro(seed):
    assert seed.title == "Virtual environments & PyTorch"
    assert seed.sort == 3
    assert "list of online resources" in seed.intro_html
    assert "After this module" not in seed.intro_html


def test_the_seed_has_its_three_objectives_in_order(seed):
    assert [o.text for o in seed.objectives] == [
        "Create a virtual conda environment, which enables you to use PyTorch with GPU support",
        "Describe the trends regarding the Paper Implementations grouped by framework",
        "Explain why PyTorch/Tensorflow is most prevalent in academia/industry",
    ]
    assert {o.group for o in seed.objectives} == {""}


def test_the_seed_has_two_sections(seed):
    assert [(s.title, s.anchor) for s in seed.sections] == [
        ("1. Virtual environment", "1-virtual-environment"),
        ("2. PyTorch", "2-pytorch"),
    ]


def test_the_seed_video_is_captioned_by_the_line_below_it(seed):
    [video] = [r for r in seed.resources if r.kind == "video"]
    assert video.title == "Video 1. PyTorch & CUDA Setup - Windows 10."
    assert video.url == "https://www.youtube.com/watch?v=GMSjDTU8Zlc"
    assert video.section == 0
    assert 'src="https://www.youtube-nocookie.com/embed/GMSjDTU8Zlc"' in seed.sections[0].html


def test_the_seed_link_lists_become_resources_in_their_sections(seed):
    links = [(r.title, r.section) for r in seed.resources if r.kind == "link"]
    assert links == [
        ("Managing environments in Anaconda", 0),
        ("cudatoolkit", 0),
        ("The State of Machine Learning Frameworks in 2019", 1),
        ("Paper Implementations grouped by framework", 1),
    ]


def test_inline_links_and_prose_items_ending_in_a_source_link_are_not_resources(seed):
    titles = {r.title for r in seed.resources}
    assert "mmdetection" not in titles and "Source" not in titles
    assert "A replacement for NumPy" in seed.sections[1].html
    assert "mmdetection</a>" in seed.sections[0].html


def test_the_seed_table_rows_become_resources_with_minutes(seed):
    rows = [r for r in seed.resources if r.kind == "table"]
    assert [(r.title, r.time_text, r.minutes) for r in rows] == [
        ("Deep Learning with PyTorch", "3 hours", 180),
        ("Deep Learning with PyTorch: A 60 Minute Blitz", "1 hours", 60),
        ("Learn PyTorch for Deep Learning: Zero to Mastery book", "... hours", None),
        ("PyTorch Fundamentals", "3.5 hours", 210),
    ]
    assert (rows[0].material_type, rows[0].developer, rows[0].level) == (
        "Course",
        "DataCamp",
        "Intermediate",
    )
    assert "<table" not in seed.sections[1].html


def test_an_unresolvable_relative_image_shows_its_alt_text(seed):
    assert '<span class="image-alt">detectron2</span>' in seed.sections[1].html
    assert "<img" not in seed.sections[1].html


def test_relative_images_resolve_against_the_base_url():
    parsed = parse_page(decode(SEED.read_bytes()), base_url="https://course.example.org/modules")
    assert (
        '<img src="https://course.example.org/modules/images/PyTorch.jpg"'
        in parsed.sections[1].html
    )


def test_every_resource_key_is_unique(seed):
    keys = [r.key for r in seed.resources]
    assert len(keys) == len(set(keys)) == 9


# --- Time to complete --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("3 hours", 180),
        ("1 hours", 60),
        ("90 min", 90),
        ("1.5h", 90),
        ("3.5 hours", 210),
        ("45 minutes", 45),
        ("2h 30m", 150),
        ("1 hour 30 minutes", 90),
        ("1-2 hours", 120),
        ("1 to 2 hours", 120),
        ("approx. 3 hours", 180),
        ("1,5 hours", 90),
        ("... hours", None),
        ("3 hours per week", None),
        ("2 days", None),
        ("3", None),
        ("", None),
    ],
)
def test_time_to_complete_is_parsed_to_minutes_where_possible(text, minutes):
    assert parse_minutes(text) == minutes


# --- Objectives ----------------------------------------------------------------


@pytest.mark.parametrize(
    "lead_in",
    [
        "After this module, you will be able to:",
        "After this chapter you will be able to:",
        "After this datalab, you will be able to:",
        "After this datalab, you can:",
        "**After this module, you will be able to:**",
        "__After this module, you will be able to:__",
        "### After this part you will be able to",
        "By the end of this lesson you will be able to:",
    ],
)
def test_each_lead_in_wording_introduces_objectives(lead_in):
    parsed = parse_page(f"# T\n\n{lead_in}\n\n- [ ] Do one thing\n- [x] Do another\n")
    assert [o.text for o in parsed.objectives] == ["Do one thing", "Do another"]


def test_bold_lead_in_with_mixed_bullets_and_empty_items():
    parsed = page("bold-lead-in.md")
    assert [o.text for o in parsed.objectives] == [
        "Load a dataset with torch.utils.data",
        "Batch samples with a DataLoader",
    ]
    assert "[ ]" not in parsed.intro_html


def test_several_objective_lists_are_grouped_by_their_part_heading():
    parsed = page("part-2/several-parts.md")
    assert [(o.group, o.text) for o in parsed.objectives] == [
        ("Part 1: Tensors", "Create tensors on the GPU"),
        ("Part 1: Tensors", "Move tensors between devices"),
        ("Part 2: Training", "Write a training loop"),
        ("Part 2: Training", "Measure the time of an epoch"),
    ]
    assert "able to" not in parsed.sections[1].html


def test_a_checkbox_list_without_a_lead_in_is_content_not_objectives():
    parsed = page("checkbox-fields.md")
    assert parsed.objectives == []
    assert "sepal length" in parsed.intro_html
    assert parsed.resources == []


def test_a_lead_in_paragraph_that_is_prose_is_not_a_lead_in():
    parsed = parse_page("# T\n\nAfter this module we recommend a break.\n\n- [ ] a field\n")
    assert parsed.objectives == []


# --- Structure ----------------------------------------------------------------


def test_hash_lines_in_code_blocks_are_not_headings():
    parsed = page("code-blocks.md")
    assert parsed.title == "Shell basics"
    assert [s.title for s in parsed.sections] == ["Commands", "Next steps"]
    assert "# this is a comment, not a heading" in parsed.sections[0].html
    assert "# Also not a heading" in parsed.sections[0].html


def test_deeper_headings_stay_inside_their_section():
    html = page("code-blocks.md").sections[0].html
    assert "<h3>A deeper heading</h3>" in html and "Still inside" in html


def test_text_before_the_title_is_part_of_the_intro():
    assert "Some text before the title." in page("code-blocks.md").intro_html


def test_without_a_level_one_heading_the_first_heading_is_the_title():
    parsed = page("only-subheadings.md")
    assert parsed.title == "Getting started"
    assert [s.title for s in parsed.sections] == ["Afterwards"]
    assert "<h3>Details</h3>" in parsed.intro_html


def test_the_front_matter_title_is_used_when_there_is_no_heading():
    parsed = page("front-matter-title.md")
    assert (parsed.title, parsed.sort) == ("A page titled by its front matter", 7)


def test_the_file_name_is_the_last_resort_title():
    assert parse_page("---\nsort: 1\n---\ntext\n", fallback_title="my page").title == "my page"


def test_the_heading_wins_over_the_front_matter_title():
    assert page("bold-lead-in.md").title == "Data loading 🚀"


def test_crlf_bom_tabs_and_closing_hashes_are_understood():
    raw = "\ufeff---\r\nsort: 2\r\n---\r\n# Title ##\r\n\r\n"
    raw += "After this module, you will be able to:\r\n"
    raw += "\r\n-\t[ ] Tabbed objective\r\n\r\n## Part ##\r\n\r\n\tindented code\r\n"
    parsed = parse_page(decode(raw.encode()))
    assert (parsed.title, parsed.sort) == ("Title", 2)
    assert [o.text for o in parsed.objectives] == ["Tabbed objective"]
    assert parsed.sections[0].title == "Part"
    assert "<pre><code>indented code" in parsed.sections[0].html


# --- Tables and link lists -------------------------------------------------------


def test_table_columns_map_to_fields_and_other_columns_are_kept():
    rows = [r for r in page("tables.md").resources if r.kind == "table"]
    assert [(r.title, r.minutes) for r in rows] == [
        ("Course A", 150),
        ("Course B", 90),
        ("Course C", None),
        ("Course D", 120),
        ("Course E without a link", 45),
    ]
    assert rows[0].material_type == "Course" and rows[0].extra == {"Notes": "free"}
    assert rows[1].extra == {}
    assert rows[2].url == ""  # relative, and no base URL to resolve it


def test_a_table_whose_first_column_has_no_links_stays_content():
    parsed = page("tables.md")
    assert "<td>PyTorch</td>" in parsed.sections[1].html
    assert all(r.section == 0 for r in parsed.resources)


def test_link_items_keep_the_rest_of_their_text_as_a_note():
    links = [r for r in page("part-2/several-parts.md").resources if r.kind == "link"]
    assert [(r.title, r.extra, r.section) for r in links] == [
        ("Exercise notebook", {"note": "the starting point"}, 1),
        ("Solutions", {}, 1),
    ]


def test_a_list_mixing_links_and_prose_stays_in_the_page():
    parsed = parse_page("# T\n\n- [Docs](https://a.example)\n- Plain words here\n")
    assert [r.title for r in parsed.resources] == ["Docs"]
    assert "Plain words here" in parsed.intro_html


# --- Rendering and sanitising -------------------------------------------------------


@pytest.fixture(scope="module")
def html_page():
    parsed = page("html-content.md")
    return parsed, parsed.intro_html


def test_callouts_details_and_line_breaks_are_kept(html_page):
    _, html = html_page
    assert '<div class="alert alert-warning">' in html
    assert "<details>" in html and "<summary>Show the answer</summary>" in html
    assert "<br>" in html


def test_scripts_styles_and_handlers_are_removed(html_page):
    _, html = html_page
    for bad in ("<script", "<style", "onclick", "onerror", "onload", 'href="javascript:'):
        assert bad not in html
    assert "[Click me](javascript:alert(1))" in html  # not a link: shown as the text it is


def test_only_youtube_iframes_are_kept_and_become_videos(html_page):
    parsed, html = html_page
    assert 'src="https://www.youtube.com/embed/abc123XYZ"' in html
    assert "evil.com" not in html
    assert [(r.kind, r.title, r.url) for r in parsed.resources] == [
        ("video", "Video 2. CUDA in ten minutes.", "https://www.youtube.com/watch?v=abc123XYZ")
    ]


def test_absolute_links_open_safely_and_unresolved_ones_show_their_text(html_page):
    _, html = html_page
    assert '<img src="https://example.org/chip.png" alt="A chip">' in html
    assert '<span class="image-alt">A GPU</span>' in html
    assert 'href="mailto:course@example.org"' in html and 'href="#top"' in html
    assert "raw link" in html and "<a>" not in html
    seed = parse_page(decode(SEED.read_bytes()))
    assert 'target="_blank" href="https://mmdetection' in seed.sections[0].html
    assert 'rel="noopener noreferrer"' in seed.sections[0].html


def test_relative_links_resolve_against_the_base_url_and_the_page_folder():
    parsed = page("bold-lead-in.md", base_url="https://c.example/course/", page_dir="part-1")
    assert 'href="https://c.example/course/other/page.md"' in parsed.intro_html
    assert 'src="https://c.example/course/part-1/img/diagram.png"' in parsed.intro_html


def test_relative_links_without_a_base_url_show_their_text():
    assert "Intro with a relative link and" in page("bold-lead-in.md").intro_html


def test_emoji_shortcodes_become_emoji_outside_code_only():
    parsed = page("code-blocks.md")
    html = parsed.sections[0].html
    assert "<code>:warning:</code> in code and ⚠️ outside it" in html
    assert "# :warning: stays as text in code" in html
    assert "⚠️ Check your driver" in page("html-content.md").intro_html


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [
        ("bad-yaml.md", 4, "not valid YAML"),
        ("bad-sort.md", 3, "`sort` must be a whole number"),
        ("bad-mapping.md", 2, "must be a mapping"),
    ],
)
def test_bad_front_matter_names_the_line(name, line, words):
    with pytest.raises(PageError) as error:
        page(name)
    assert error.value.line == line
    assert words in str(error.value)


def test_front_matter_that_never_closes_is_an_error():
    with pytest.raises(PageError, match="never closed"):
        parse_page("---\nsort: 1\n# Title\n")


def test_non_utf8_names_the_byte_and_line():
    with pytest.raises(PageError) as error:
        decode(b"# Title\n\nCaf\xe9 au lait\n")
    assert error.value.line == 3
    assert "byte 12" in str(error.value)


@pytest.mark.parametrize("name", ["empty.md", "untitled-notes.md"])
def test_empty_files_and_pages_without_any_heading_are_not_course_pages(name):
    with pytest.raises(NotACoursePage):
        page(name)


# --- Any text at all ---------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "# ",
        "## ",
        "- [ ] ",
        "* ",
        "| a | b |\n|---|---|\n",
        "```\n",
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[x](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<iframe src="https://www.youtube.com/embed/x" onload="alert(1)"></iframe>',
        '<div class="alert" style="x" onmouseover="alert(1)">',
        "After this module, you will be able to:\n",
        "---\n",
        ":warning:",
        "\n\n",
        "<details><summary>",
        "![a](./b.png)",
    ]
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=30))
def test_any_text_parses_without_crashing_or_unsafe_html(pieces):
    text = "".join(pieces)
    try:
        parsed = parse_page(text, base_url="https://c.example/", fallback_title="t")
    except (PageError, NotACoursePage):
        return
    html = parsed.intro_html + "".join(section.html for section in parsed.sections)
    lowered = html.lower()
    assert "<script" not in lowered
    assert not re.search(r"<[^>]*\s(href|src)=\"\s*javascript:", lowered)
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", lowered)  # no event handlers


def test_a_readme_without_front_matter_is_skipped_as_repository_notes():
    result = parse_file(b"# Course material\n\nBuild with `jekyll serve`.\n", "README.md", "")
    assert isinstance(result, NotACoursePage)
    assert "README" in str(result)


def test_a_readme_with_front_matter_is_a_course_page():
    page = parse_file(b"---\nsort: 1\n---\n# Part 1\n\nIntro.\n", "part-1/README.md", "")
    assert isinstance(page, ParsedPage) and page.title == "Part 1"
