"""The import contract that keeps the student agent off the server names every
server module: a module added beside diagnostics/agent/ is forbidden to it too."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_the_agent_contract_forbids_every_server_module_of_diagnostics():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["source_modules"] == ["diagnostics.agent"])
    forbidden = set(contract["forbidden_modules"])
    assert {"django", "learning", "config"} <= forbidden
    server = {
        f"diagnostics.{path.stem}"
        for path in (ROOT / "diagnostics").iterdir()
        if (path.suffix == ".py" or (path / "__init__.py").exists())
        and path.stem not in {"__init__", "__main__", "agent"}
    }
    assert server - forbidden == set()
