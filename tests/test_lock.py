"""The lock files agree with pyproject.toml, the source of truth (bin/lock regenerates them)."""

import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(extra: str) -> dict[str, Version]:
    text = (ROOT / "requirements" / f"{extra}.txt").read_text()
    found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", text, re.M)
    return {canonicalize_name(name): Version(version) for name, version in found}


def wanted(extra: str) -> list[Requirement]:
    """The base dependencies and the extra's, following `torchready[server]` in dev."""
    requirements = [Requirement(r) for r in PROJECT["dependencies"]]
    for line in PROJECT["optional-dependencies"][extra]:
        requirement = Requirement(line)
        if requirement.name == PROJECT["name"]:
            requirements += [r for e in requirement.extras for r in wanted(e)]
        else:
            requirements.append(requirement)
    return requirements


@pytest.mark.parametrize("extra", ["server", "dev"])
def test_the_lock_pins_every_dependency_within_its_range(extra):
    locked = pins(extra)
    stale = [
        str(r)
        for r in wanted(extra)
        if canonicalize_name(r.name) not in locked
        or not r.specifier.contains(locked[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not stale, f"run `bash bin/lock`: requirements/{extra}.txt lacks or mis-pins {stale}"


def test_the_server_lock_holds_no_test_tools():
    assert not {"pytest", "torch", "playwright"} & set(pins("server"))
