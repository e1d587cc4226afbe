"""Facts about the student's machine, collected into one `Report`.

`collect()` never raises: every section records its own errors as findings.
"""

from __future__ import annotations

from collections.abc import Callable

from diagnostics.agent import __version__
from diagnostics.agent.probe.common import (
    Findings,
    home_dirs,
    map_strings,
    redact_home,
    scrub_credentials,
)
from diagnostics.agent.probe.environment import collect_env, collect_packages
from diagnostics.agent.probe.gpu import collect_nvml, collect_torch
from diagnostics.agent.probe.presence import collect_gpu_presence
from diagnostics.agent.probe.system import (
    collect_host,
    collect_python,
    collect_toolkit,
    collect_variables,
)
from diagnostics.agent.report import (
    EnvInfo,
    Finding,
    GpuPresence,
    Host,
    NvmlInfo,
    Packages,
    PythonInfo,
    Report,
    Toolkit,
    TorchInfo,
    Variables,
)

__all__ = ["Report", "collect", "redact"]


def collect(
    *,
    share_identifiers: bool = False,
    progress: Callable[[str], None] | None = None,
    crashed: dict[str, str] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[Report, Findings]:
    """All facts but timings. The findings stay open so later stages can add to them.

    `crashed` names the stages that killed an earlier run (see diagnostics.agent.isolate):
    they are recorded as crashed instead of entered. `on_stage` hears when NVML and torch
    are done, so a parent can tell which one a crash happened in.
    """
    say = progress or (lambda _: None)
    done = on_stage or (lambda _: None)
    crashed = crashed or {}
    findings = Findings()
    share = share_identifiers
    say("host and Python")
    host = findings.guard("host", lambda: collect_host(findings, share), Host)
    python = findings.guard("python", collect_python, PythonInfo)
    say("NVIDIA hardware")
    gpu = findings.guard("gpu", lambda: collect_gpu_presence(host.system, host.wsl), GpuPresence)
    say("environment and packages")
    env = findings.guard("env", collect_env, EnvInfo)
    packages = findings.guard("packages", lambda: collect_packages(findings), Packages)
    variables = findings.guard("variables", collect_variables, Variables)
    toolkit = findings.guard("toolkit", lambda: collect_toolkit(findings), Toolkit)
    say("NVIDIA driver (NVML)")
    if "nvml" in crashed:
        findings.add("nvml", "nvml-crashed", f"querying NVML {crashed['nvml']}")
        nvml = NvmlInfo(error=f"NVML crashed the check ({crashed['nvml']})")
    else:
        nvml = findings.guard("nvml", lambda: collect_nvml(findings, share), NvmlInfo)
    done("nvml")
    say("torch")
    if "torch" in crashed:
        findings.add("torch", "torch-crashed", f"import torch {crashed['torch']}")
        torch = TorchInfo(import_error=f"import torch crashed the process ({crashed['torch']})")
    else:
        torch = findings.guard("torch", lambda: collect_torch(findings, share), TorchInfo)
    done("torch")
    report = Report(
        tool_version=__version__,
        identifiers_shared=share,
        host=host,
        gpu=gpu,
        python=python,
        env=env,
        packages=packages,
        variables=variables,
        toolkit=toolkit,
        torch=torch,
        nvml=nvml,
    )
    return report, findings


def redact(report: Report, findings: list[Finding]) -> Report:
    """The final report: findings attached, the home directory written as ~ and URL
    credentials (user:password@, token@) scrubbed, in every string."""
    report = report.model_copy(update={"findings": findings})
    data = redact_home(report.model_dump(mode="json"), home_dirs())
    data = map_strings(data, scrub_credentials)
    return Report.model_validate(data)
