"""Course content from the instructor workspace: stage an upload, preview it, apply it.

An upload (one Markdown page or a .zip of a course folder) is unpacked into a
staging folder of its own under UPLOAD_DIR; the preview is the importer's dry
run over that folder, and confirming runs the same import for real. The
configured course folder (COURSE_DIR) is copied there too, so that what is
confirmed is what was previewed.
Nothing here parses Markdown: learning.services.importing does, and its
sanitiser is the only way HTML reaches a page.

The dry run happens once, when the upload is staged (a POST), and is stored
beside it: showing the preview is a plain read, and a GET never writes.
"""

from __future__ import annotations

import enum
import json
import shutil
import stat
import time
import uuid
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q

from learning.models import Module
from learning.services.importing import (
    ArchivedModule,
    CourseError,
    CourseSummary,
    FileResult,
    import_course,
    import_file,
)

# Limits on an upload and on what a zip may unpack to (a zip bomb stops here).
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ZIP_FILES = 5000
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 100  # unpacked / packed, for the whole archive
STAGED_FOR_SECONDS = 24 * 3600


class UploadError(ValidationError):
    """The upload cannot be used; the message says why. Nothing was staged."""


class Source(enum.StrEnum):
    PAGE = "page"
    ZIP = "zip"
    FOLDER = "folder"


@dataclass(frozen=True)
class Staged:
    token: str
    user_id: int
    source: Source
    name: str  # the page's path in the course, the zip's name, or the course folder's path
    whole_course: bool  # archive modules whose page is not in it
    ignored: int  # files in a zip that are not Markdown pages

    @property
    def directory(self) -> Path:
        return _staging(self.token) / "course"


def _staging(token: str) -> Path:
    return Path(settings.UPLOAD_DIR) / token


def stage_upload(*, user: User, upload: UploadedFile, whole_course: bool) -> Staged:
    """Check and unpack an upload into a staging folder of its own."""
    name = PurePosixPath((upload.name or "").replace("\\", "/")).name
    if upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        raise UploadError(f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in (".md", ".zip") or (suffix == ".zip" and not zipfile.is_zipfile(upload)):
        raise UploadError("Upload a Markdown page (.md) or a .zip of a course folder.")
    _forget_stale()
    token = uuid.uuid4().hex
    course = _staging(token) / "course"
    course.mkdir(parents=True)
    try:
        if suffix == ".md":
            source, ignored, whole_course = Source.PAGE, 0, False
            name = _page_place(name)
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            with (course / name).open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        else:
            source = Source.ZIP
            upload.seek(0)
            ignored = _unzip(upload, course)
        staged = Staged(token, user.pk, source, name, whole_course, ignored)
        _save(staged)
    except BaseException:
        shutil.rmtree(_staging(token), ignore_errors=True)
        raise
    return staged


def _page_place(name: str) -> str:
    """Where an uploaded page sits in the course: an edited page updates the live
    module whose page has its file name (part-1/drivers.md for drivers.md), in
    whatever folder; a page no module has is a new module at the top."""
    known = sorted(
        Module.objects.filter(archived_at__isnull=True)
        .filter(Q(source_path=name) | Q(source_path__endswith=f"/{name}"))
        .values_list("source_path", flat=True)
    )
    if len(known) > 1:
        raise UploadError(
            f"Several modules have a page called {name} ({', '.join(known)}). "
            "Upload the course folder as a .zip, so each page keeps its folder."
        )
    return known[0] if known else name


def stage_course_folder(*, user: User) -> Staged:
    """Preview a copy of the configured course folder's pages: what is confirmed is
    what was previewed, whatever changes in the folder in between."""
    folder = Path(settings.COURSE_DIR)
    if not folder.is_dir():
        raise UploadError(f"The course folder {folder} does not exist on the server.")
    pages = list(folder.rglob("*.md"))
    if not pages:
        raise UploadError(f"The course folder {folder} holds no Markdown (.md) pages.")
    _forget_stale()
    staged = Staged(uuid.uuid4().hex, user.pk, Source.FOLDER, str(settings.COURSE_DIR), True, 0)
    try:
        for page in pages:
            copy = staged.directory / page.relative_to(folder)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, copy)
        _save(staged)
    except BaseException:
        discard(staged=staged)
        raise
    return staged


def staged_for(*, user: User, token: str) -> Staged | None:
    """The user's own staged upload; None for anyone else's, or one gone or expired."""
    if not token.isalnum():
        return None
    try:
        data = json.loads((_staging(token) / "staged.json").read_text())
    except (OSError, ValueError):
        return None
    staged = Staged(**{**data, "source": Source(data["source"])})
    return staged if staged.user_id == user.pk else None


def preview(*, staged: Staged) -> CourseSummary:
    """The dry run, as computed when the upload was staged."""
    data = json.loads((_staging(staged.token) / "preview.json").read_text())
    return CourseSummary(
        results=[_file_result(r) for r in data["results"]],
        dry_run=True,
        archived_modules=[ArchivedModule(**m) for m in data["archived_modules"]],
    )


def _file_result(data: dict) -> FileResult:
    changes = Counter(data.pop("changes"))
    archived = [tuple(pair) for pair in data.pop("archived_objectives")]
    return FileResult(**data, changes=changes, archived_objectives=archived)


def apply(*, staged: Staged) -> CourseSummary:
    """Import for real, then forget the staged copy."""
    summary = _run(staged, dry_run=False)
    discard(staged=staged)
    return summary


def discard(*, staged: Staged) -> None:
    shutil.rmtree(_staging(staged.token), ignore_errors=True)


def _run(staged: Staged, *, dry_run: bool) -> CourseSummary:
    directory = staged.directory
    try:
        if staged.source == Source.PAGE:
            path = directory / staged.name
            result = import_file(path=path, course_dir=directory, dry_run=dry_run)
            return CourseSummary([result], dry_run=dry_run)
        return import_course(
            directory=directory, dry_run=dry_run, archive_missing=staged.whole_course
        )
    except CourseError as exc:  # e.g. a broken verifiers file: the operator's to fix
        raise UploadError(f"The import cannot start: {exc}") from None


def _save(staged: Staged) -> None:
    """Store the staged upload with its dry run; the import is previewed here, once."""
    folder = _staging(staged.token)
    summary = _run(staged, dry_run=True)
    preview = {
        "results": [{**r.__dict__, "changes": dict(r.changes)} for r in summary.results],
        "archived_modules": [m.__dict__ for m in summary.archived_modules],
    }
    (folder / "preview.json").write_text(json.dumps(preview))
    data = {**staged.__dict__, "source": str(staged.source)}
    (folder / "staged.json").write_text(json.dumps(data))


def _forget_stale() -> None:
    """Previews nobody confirmed within a day are dropped."""
    root = Path(settings.UPLOAD_DIR)
    if not root.is_dir():
        return
    cutoff = time.time() - STAGED_FOR_SECONDS
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------
# Unpacking a zip safely


def _unzip(upload: UploadedFile, course: Path) -> int:
    """Unpack the zip's Markdown pages into `course`; how many other files it held.

    Every entry is checked before anything is written: no path may leave the
    folder, no entry may be a link, and the sizes must stay within the limits.
    The sizes a zip declares can lie, so the bytes are counted while unpacking too.
    """
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(f"The zip cannot be read: {exc}.") from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        _check_entries(entries)
        infos = [info for info in entries if not _zip_litter(info.filename)]
        prefix = _common_folder([info.filename for info in infos])
        pages = [info for info in infos if info.filename.lower().endswith(".md")]
        if not pages:
            # Not a course: as "the whole course" it would archive every module.
            raise UploadError("The zip holds no Markdown (.md) pages.")
        budget = MAX_UNPACKED_BYTES
        for info in pages:
            target = course / info.filename[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                budget = _copy(archive, info, target, budget)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                raise UploadError(f"The zip entry {info.filename!r} is damaged: {exc}.") from None
    return len(entries) - len(pages)


def _zip_litter(name: str) -> bool:
    """What macOS's Finder adds to a zip (__MACOSX/, ._ and .DS_Store files)."""
    parts = name.split("/")
    return parts[0] == "__MACOSX" or parts[-1].startswith("._") or parts[-1] == ".DS_Store"


def _check_entries(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ZIP_FILES:
        raise UploadError(f"The zip holds {len(infos)} files; at most {MAX_ZIP_FILES} are allowed.")
    for info in infos:
        name = info.filename
        path = PurePosixPath(name.replace("\\", "/"))
        if (
            path.is_absolute()
            or ".." in path.parts
            or "\\" in name
            or (len(name) > 1 and name[1] == ":")
        ):
            raise UploadError(f"The zip entry {name!r} points outside its folder.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError(f"The zip entry {name!r} is a symbolic link; links are not allowed.")
        if info.flag_bits & 0x1:
            raise UploadError("The zip is encrypted; upload it without a password.")
    unpacked = sum(info.file_size for info in infos)
    packed = sum(info.compress_size for info in infos)
    if unpacked > MAX_UNPACKED_BYTES:
        raise UploadError(
            f"The zip unpacks to {unpacked // 2**20} MB; at most "
            f"{MAX_UNPACKED_BYTES // 2**20} MB are allowed."
        )
    if unpacked > 2**20 and unpacked > MAX_RATIO * max(packed, 1):
        raise UploadError("The zip is compressed suspiciously well (a zip bomb?); refused.")


def _copy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy one entry, refusing it once it passes its declared size or the total budget."""
    written = 0
    with archive.open(info) as src, target.open("wb") as out:
        while chunk := src.read(64 * 1024):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise UploadError(f"The zip entry {info.filename!r} is larger than it says.")
            out.write(chunk)
    return budget - written


def _common_folder(names: list[str]) -> str:
    """ "course/" when every entry sits in that one folder (as zipping a folder does)."""
    firsts = {name.split("/", 1)[0] for name in names}
    if len(firsts) == 1 and all("/" in name for name in names):
        return f"{firsts.pop()}/"
    return ""
