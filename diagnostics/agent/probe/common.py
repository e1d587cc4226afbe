"""Helpers every collector shares: findings, clipping and privacy."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Callable
from typing import Any, TypeVar

from diagnostics.agent.report import TEXT, Finding

T = TypeVar("T")
MAX_FINDINGS = 100


def clip(text: object, limit: int = TEXT) -> str:
    """Free text from the machine can be any length; the report's fields are bounded."""
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


class Findings:
    """Collects findings, at most MAX_FINDINGS, the last slot saying how many were dropped."""

    def __init__(self) -> None:
        self.items: list[Finding] = []
        self.dropped = 0

    def add(self, section: str, code: str, message: object = "") -> None:
        if len(self.items) < MAX_FINDINGS - 1:
            self.items.append(Finding(section=section, code=code, message=clip(message, 1000)))
        else:
            self.dropped += 1

    def as_list(self) -> list[Finding]:
        if not self.dropped:
            return list(self.items)
        more = Finding(section="report", code="findings-dropped", message=f"{self.dropped} more")
        return [*self.items, more]

    def guard(self, section: str, fn: Callable[[], T], default: Callable[[], T]) -> T:
        """Run one collector; an unexpected error becomes a finding and a default section."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the probe must never crash
            self.add(section, "collector-error", f"{type(exc).__name__}: {exc}")
            return default()


def hashed(value: str | None, share: bool) -> str | None:
    """Identifiers (hostname, GPU UUID) are hashed unless the student shares them."""
    if value is None or share:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def password_db_home() -> str:
    """The real user's home, whatever HOME says (HOME=/tmp/x must not reveal /home/ann)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, OSError, AttributeError):  # Windows has no pwd
        return ""


def home_dirs() -> list[str]:
    homes = {
        os.path.expanduser("~"),
        os.environ.get("USERPROFILE", ""),
        os.environ.get("HOME", ""),
        password_db_home(),
    }
    homes |= {os.path.realpath(h) for h in homes if h}  # /home -> /data/home links
    # Longest first so that /home/ann/x is not half-replaced by a shorter match.
    return sorted({h.rstrip("/\\") for h in homes if len(h) > 1}, key=len, reverse=True)


# scheme://user:password@host and scheme://token@host: the part before @ is a credential.
URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@]+@")


def scrub_credentials(text: str) -> str:
    return URL_CREDENTIALS.sub(r"\1***@", text)


def map_strings(data: Any, fn: Callable[[str], str]) -> Any:
    """Apply fn to every string (keys too) of a JSON-like tree."""
    if isinstance(data, str):
        return fn(data)
    if isinstance(data, dict):
        return {map_strings(k, fn): map_strings(v, fn) for k, v in data.items()}
    if isinstance(data, list):
        return [map_strings(v, fn) for v in data]
    return data


def redact_home(data: Any, homes: list[str]) -> Any:
    """Write the home directory as ~ in every string of a JSON-like tree."""

    def tilde(text: str) -> str:
        for home in homes:
            # Only a whole component: /home/ann/x becomes ~/x, /home/anna/x stays.
            text = re.sub(re.escape(home) + r"(?![\w.-])", "~", text)
        return text

    return map_strings(data, tilde)


def run_text(args: list[str], timeout: float = 5.0) -> str | None:
    """Output of a short command, or None when it is absent, fails or hangs."""
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
