"""Course content from /teach/content/: upload, a dry-run preview, then confirm."""

import io
import re
import stat
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from learning.models import Module, Objective, ObjectiveProgress, Section
from learning.selectors import module_chapters

pytestmark = pytest.mark.django_db

PAGE = """---
sort: 2
---
# GPU basics

After this module, you will be able to:

- Explain what CUDA is
- Check the driver version

## Drivers

Text about drivers.
"""


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.COURSE_DIR = tmp_path / "course"
    settings.VERIFIERS_FILE = tmp_path / "no-verifiers.yaml"
    return settings.UPLOAD_DIR


@pytest.fixture
def teacher(client, instructor):
    client.force_login(instructor)
    return client


def upload(client, name, content, whole_course=False):
    data = {"file": SimpleUploadedFile(name, content)}
    if whole_course:
        data["whole_course"] = "on"
    return client.post(reverse("learning:content_upload"), data)


def zipped(files: dict[str, bytes], *, links=()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def preview_of(client, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url, client.get(response.url).content.decode()


def confirm(client, url):
    return client.post(url, {"action": "confirm"})


def test_a_page_is_previewed_first_and_imported_only_on_confirm(teacher):
    url, html = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    assert "Nothing has changed yet" in html
    assert "New module" in html and "Explain what CUDA is" in html
    assert not Module.objects.exists()
    assert confirm(teacher, url).url == reverse("learning:content")
    module = Module.objects.get()
    assert (module.title, module.sort, module.source_path) == ("GPU basics", 2, "gpu-basics.md")
    assert module.objectives.count() == 2
    # The staged copy is gone: the preview can't be applied twice.
    assert teacher.get(url).status_code == 404


def test_cancel_imports_nothing(teacher):
    url, _ = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    teacher.post(url, {"action": "cancel"})
    assert not Module.objects.exists()
    assert teacher.get(url).status_code == 404


def test_a_preview_is_its_instructors_own(teacher, client, make_user):
    url, _ = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    client.force_login(make_user("olga", role="instructor"))
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "confirm"}).status_code == 404
    assert not Module.objects.exists()


@pytest.mark.parametrize(
    "name, content",
    [("notes.txt", b"hello"), ("course.zip", b"not a zip at all"), ("page.pdf", b"%PDF-1.4")],
)
def test_anything_but_markdown_or_a_zip_is_refused(teacher, upload_dir, name, content):
    response = upload(teacher, name, content)
    assert response.status_code == 400
    assert "Upload a Markdown page (.md) or a .zip of a course folder." in response.content.decode()
    assert not list(upload_dir.glob("*")) or not any(upload_dir.iterdir())


@pytest.mark.parametrize(
    "files, links, message",
    [
        ({"../evil.md": b"# Evil"}, (), "points outside its folder"),
        ({"course/../../evil.md": b"# Evil"}, (), "points outside its folder"),
        ({"/etc/evil.md": b"# Evil"}, (), "points outside its folder"),
        ({"C:/evil.md": b"# Evil"}, (), "points outside its folder"),
        ({"ok.md": b"# Ok"}, [("link.md", "/etc/passwd")], "is a symbolic link"),
    ],
)
def test_a_zip_whose_paths_escape_is_refused_whole(teacher, upload_dir, files, links, message):
    response = upload(teacher, "course.zip", zipped(files, links=links))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Module.objects.exists()
    assert not any(upload_dir.iterdir())


def test_a_zip_bomb_is_refused(teacher, upload_dir):
    bomb = zipped({"bomb.md": b"# x\n" + b"0" * (20 * 2**20)})  # 20 MB of zeros: ~20 KB packed
    response = upload(teacher, "bomb.zip", bomb)
    assert response.status_code == 400
    assert "zip bomb" in response.content.decode()
    assert not any(upload_dir.iterdir())


def test_a_zip_too_big_unpacked_or_with_too_many_files_is_refused(teacher, monkeypatch):
    from learning.services import uploads

    monkeypatch.setattr(uploads, "MAX_ZIP_FILES", 3)
    response = upload(teacher, "many.zip", zipped({f"p{i}.md": b"# P" for i in range(4)}))
    assert "at most 3 are allowed" in response.content.decode()
    monkeypatch.setattr(uploads, "MAX_UNPACKED_BYTES", 1000)
    response = upload(teacher, "big.zip", zipped({"big.md": b"# Big\n" + b"words " * 400}))
    assert response.status_code == 400 and "unpacks to" in response.content.decode()


def test_a_zip_that_lies_about_its_sizes_is_stopped_while_unpacking(teacher, upload_dir):
    data = bytearray(zipped({"a.md": b"# A\n" + b"text " * 100}))
    # Shrink the declared size in the central directory: the bytes are counted anyway.
    offset = data.rfind(b"PK\x01\x02")
    data[offset + 24 : offset + 28] = (10).to_bytes(4, "little")
    response = upload(teacher, "liar.zip", bytes(data))
    assert response.status_code == 400
    assert not Module.objects.exists()


def test_a_course_zip_keeps_its_folders_and_skips_what_is_not_a_page(teacher):
    course = {
        "course/index.md": b"---\ntitle: Home\n---\nWelcome.\n",
        "course/part-1/index.md": b"---\nsort: 1\n---\n# Part 1: Basics\n",
        "course/part-1/b.md": b"---\nsort: 2\n---\n# B page\n",
        "course/part-1/a.md": b"---\nsort: 1\n---\n# A page\n",
        "course/part-2/c.md": b"---\nsort: 5\nparent: Labs\n---\n# C page\n",
        "course/empty.md": b"",
        "course/image.png": b"\x89PNG",
    }
    url, html = preview_of(teacher, upload(teacher, "course.zip", zipped(course)))
    assert "empty file" in html  # skipped, with its reason
    assert "1 file in the zip is not a Markdown page" in html
    confirm(teacher, url)
    paths = set(Module.objects.values_list("source_path", flat=True))
    assert paths == {"index.md", "part-1/index.md", "part-1/a.md", "part-1/b.md", "part-2/c.md"}
    chapters = module_chapters(Module.objects.all())
    layout = [(c.title, [m.title for m in c.modules]) for c in chapters]
    assert layout == [
        ("Part 1: Basics", ["Part 1: Basics", "A page", "B page"]),
        ("Part 2", ["C page"]),
        ("", ["Home"]),
    ]
    assert Module.objects.get(source_path="part-2/c.md").parent == "Labs"


def test_front_matter_parent_groups_top_level_pages(db):
    for slug, title, sort, parent in [
        ("intro", "Introduction", 1, ""),
        ("labs", "Labs", 5, ""),
        ("lab-2", "Lab 2", 2, "Labs"),
        ("lab-1", "Lab 1", 1, "Labs"),
    ]:
        Module.objects.create(
            slug=slug, source_path=f"{slug}.md", title=title, sort=sort, parent=parent
        )
    layout = [
        (c.title, [m.title for m in c.modules]) for c in module_chapters(Module.objects.all())
    ]
    assert layout == [("", ["Introduction"]), ("Labs", ["Labs", "Lab 1", "Lab 2"])]


def test_removing_an_objective_archives_it_and_the_preview_counts_its_students(
    teacher, student, other_student
):
    url, _ = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    confirm(teacher, url)
    driver = Objective.objects.get(text="Check the driver version")
    for who in (student, other_student):
        ObjectiveProgress.objects.create(student=who, objective=driver, confidence=3)

    shorter = PAGE.replace("- Check the driver version\n", "")
    url, html = preview_of(teacher, upload(teacher, "gpu-basics.md", shorter.encode()))
    assert "Archived (progress kept)" in html
    assert re.search(r"Check the driver version\s*<span[^>]*>· 2 students with progress", html)
    assert Objective.objects.get(pk=driver.pk).archived_at is None  # only a preview
    confirm(teacher, url)
    driver.refresh_from_db()
    assert driver.archived_at is not None
    assert ObjectiveProgress.objects.filter(objective=driver).count() == 2


def test_a_whole_course_upload_archives_missing_modules_and_brings_them_back(teacher, student):
    two = {"a.md": b"# A\n\nAfter this module, you will be able to:\n\n- Do A\n", "b.md": b"# B\n"}
    confirm(teacher, preview_of(teacher, upload(teacher, "c.zip", zipped(two), True))[0])
    done = Objective.objects.get(text="Do A")
    ObjectiveProgress.objects.create(student=student, objective=done, confidence=5)

    url, html = preview_of(teacher, upload(teacher, "c.zip", zipped({"b.md": b"# B\n"}), True))
    assert "Modules archived" in html and "1 student with progress, kept" in html
    confirm(teacher, url)
    assert Module.objects.get(source_path="a.md").archived_at is not None
    assert ObjectiveProgress.objects.filter(objective=done).exists()

    confirm(teacher, preview_of(teacher, upload(teacher, "c.zip", zipped(two), True))[0])
    assert Module.objects.get(source_path="a.md").archived_at is None


def test_html_reaches_pages_only_through_the_sanitiser(teacher, student, klass):
    hostile = (
        "# Hostile\n\n"
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">\n\n'
        "## Part\n\n"
        '<script>alert(1)</script><img src=x onerror="alert(2)">'
        '<a href="javascript:alert(3)">x</a>\n'
    )
    confirm(teacher, preview_of(teacher, upload(teacher, "hostile.md", hostile.encode()))[0])
    module = Module.objects.get()
    stored = module.intro_html + "".join(Section.objects.values_list("html", flat=True))
    for bad in ("<meta", "http-equiv", "<script", "onerror", "javascript:"):
        assert bad not in stored
    teacher.force_login(student)
    page = teacher.get(reverse("learning:module", args=[module.slug])).content.decode()
    assert "http-equiv" not in page and "evil.example" not in page


def test_the_configured_course_folder_is_previewed_and_imported(teacher, settings):
    settings.COURSE_DIR.mkdir()
    (settings.COURSE_DIR / "gpu-basics.md").write_text(PAGE)
    response = teacher.post(reverse("learning:content_folder"))
    url, html = preview_of(teacher, response)
    assert "gpu-basics.md" in html and not Module.objects.exists()
    # A change to the folder after the preview is not what the instructor confirms.
    (settings.COURSE_DIR / "gpu-basics.md").write_text(PAGE.replace("GPU basics", "Changed"))
    (settings.COURSE_DIR / "late.md").write_text("# Late page\n")
    confirm(teacher, url)
    assert Module.objects.get().title == "GPU basics"
    assert (settings.COURSE_DIR / "gpu-basics.md").exists()  # read, left alone


def test_a_missing_course_folder_is_a_clear_message(teacher):
    response = teacher.post(reverse("learning:content_folder"), follow=True)
    assert "does not exist on the server" in response.content.decode()


def test_a_page_that_fails_to_parse_shows_its_line_and_imports_nothing(teacher):
    broken = b"---\nsort: [1\n---\n# Broken\n"
    url, html = preview_of(teacher, upload(teacher, "broken.md", broken))
    assert "Failed" in html and "front matter is not valid YAML" in html
    confirm(teacher, url)
    assert not Module.objects.exists()


def test_showing_the_preview_writes_nothing(teacher):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url, _ = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    with CaptureQueriesContext(connection) as queries:
        html = teacher.get(url).content.decode()
    assert "Explain what CUDA is" in html
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == []


def test_a_broken_verifiers_file_is_a_clear_message_not_a_500(teacher, settings):
    settings.VERIFIERS_FILE.write_text("- just\n- a list\n")
    response = upload(teacher, "gpu-basics.md", PAGE.encode())
    assert response.status_code == 400
    assert "The import cannot start" in response.content.decode()


def test_a_zip_or_course_folder_without_pages_is_refused_not_an_archive_of_everything(
    teacher, module, settings
):
    response = upload(teacher, "photos.zip", zipped({"a.png": b"\x89PNG"}), whole_course=True)
    assert response.status_code == 400
    assert "The zip holds no Markdown (.md) pages." in response.content.decode()
    settings.COURSE_DIR.mkdir()
    response = teacher.post(reverse("learning:content_folder"), follow=True)
    assert "holds no Markdown (.md) pages" in response.content.decode()
    module.refresh_from_db()
    assert module.archived_at is None


def test_a_zip_made_by_macos_finder_keeps_its_course_paths(teacher):
    course = {
        "course/a.md": b"# A\n",
        "course/.DS_Store": b"\0",
        "__MACOSX/course/._a.md": b"\0\5\26\7",
    }
    url, html = preview_of(teacher, upload(teacher, "course.zip", zipped(course)))
    confirm(teacher, url)
    assert list(Module.objects.values_list("source_path", flat=True)) == ["a.md"]


def test_a_page_uploaded_with_a_windows_path_keeps_only_its_name(teacher):
    url, _ = preview_of(teacher, upload(teacher, "C:\\Users\\ines\\gpu-basics.md", PAGE.encode()))
    confirm(teacher, url)
    assert Module.objects.get().source_path == "gpu-basics.md"


def test_an_edited_page_updates_its_module_in_whatever_folder_it_sits(teacher):
    course = {"part-1/gpu-basics.md": PAGE.encode(), "index.md": b"# Home\n"}
    url, _ = preview_of(teacher, upload(teacher, "course.zip", zipped(course)))
    confirm(teacher, url)
    module = Module.objects.get(source_path="part-1/gpu-basics.md")
    edited = PAGE.replace(
        "- Check the driver version\n", "- Check the driver version\n- Read nvidia-smi\n"
    )
    url, html = preview_of(teacher, upload(teacher, "gpu-basics.md", edited.encode()))
    assert "New module" not in html and "Read nvidia-smi" in html
    confirm(teacher, url)
    assert Module.objects.count() == 2
    assert module.objectives.filter(text="Read nvidia-smi").exists()


def test_a_page_name_two_modules_share_is_refused_with_the_way_out(teacher, upload_dir):
    course = {"part-1/lab.md": b"# Lab one\n", "part-2/lab.md": b"# Lab two\n"}
    url, _ = preview_of(teacher, upload(teacher, "course.zip", zipped(course)))
    confirm(teacher, url)
    response = upload(teacher, "lab.md", b"# Lab\n")
    assert response.status_code == 400
    html = response.content.decode()
    assert "part-1/lab.md, part-2/lab.md" in html and ".zip" in html
    assert not any(upload_dir.iterdir())  # nothing staged


def test_a_preview_where_every_page_is_unchanged_says_so_without_an_empty_table(teacher):
    url, _ = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    confirm(teacher, url)
    _, html = preview_of(teacher, upload(teacher, "gpu-basics.md", PAGE.encode()))
    assert "1 page unchanged since the last import, not listed." in html
    assert "preview-table" not in html
