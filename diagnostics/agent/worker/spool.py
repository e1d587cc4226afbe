"""The local spool: every report is on disk before it is posted, until a 2xx.

One file per report, written atomically (temporary file, then rename), so a
crash or a power cut leaves either the whole report or nothing. Reports the
server refused for good move to ``rejected/``: kept for the student to see,
never resent in a loop.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def default_dir() -> Path:
    """~/.torchready/spool, or TORCHREADY_SPOOL; the same on Linux, Windows and macOS."""
    configured = os.environ.get("TORCHREADY_SPOOL")
    return Path(configured) if configured else Path.home() / ".torchready" / "spool"


class SpoolError(OSError):
    """The spool folder can't be created or written: full disk, read-only, not a folder."""

    def __init__(self, folder: Path, exc: OSError):
        reason = exc.strerror or str(exc)
        super().__init__(
            exc.errno,
            f"the report spool {folder} is not writable ({reason}). Reports wait there "
            "until the server has them: free some disk space, or choose another folder "
            "with --spool DIR or TORCHREADY_SPOOL",
        )


class Spool:
    def __init__(self, folder: Path | str | None = None):
        self.folder = Path(folder) if folder else default_dir()
        self.rejected = self.folder / "rejected"
        try:
            self.rejected.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError(self.folder, exc) from exc

    def put(self, report_id: str, body: bytes) -> Path:
        path = self.folder / f"{_SAFE.sub('_', report_id)}.json"
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
            raise SpoolError(self.folder, exc) from exc
        except BaseException:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def pending(self) -> list[Path]:
        """Reports not yet accepted, oldest first."""
        return sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def reject(self, path: Path, reason: str = "") -> Path:
        """Keep a refused report under rejected/, with the server's reason beside it."""
        target = self.rejected / path.name
        os.replace(path, target)
        if reason:
            try:
                target.with_suffix(".reason.txt").write_text(reason + "\n", encoding="utf-8")
            except OSError:
                pass  # the report itself is kept; the log has the reason too
        return target
