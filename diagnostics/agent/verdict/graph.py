"""The root-cause graph: which check must pass before another one means anything.

platform → GPU present → driver → env → torch build → arch → tensor op → speed.
A check's facts are only worth acting on once its ancestors pass: with no NVIDIA
GPU there is no driver to install, and torch's view of the GPU from the wrong env
says nothing about the right one. So the first failing check (in this order)
whose parents pass is the next step, and everything below it waits for it.
"""

from __future__ import annotations

from diagnostics.agent.verdict.ids import CheckId
from diagnostics.agent.verdict.model import Check

# Each check's parents, in root-cause order (the dict's order is the order shown).
DEPENDS_ON: dict[CheckId, tuple[CheckId, ...]] = {
    CheckId.PLATFORM: (),
    CheckId.GPU_PRESENT: (CheckId.PLATFORM,),
    CheckId.WSL_DRIVER: (CheckId.GPU_PRESENT,),
    CheckId.DRIVER_LIBS: (CheckId.WSL_DRIVER,),
    CheckId.DRIVER_PRESENT: (CheckId.DRIVER_LIBS,),
    CheckId.DRIVER_NEW_ENOUGH: (CheckId.DRIVER_PRESENT,),
    CheckId.CONDA_ENV: (CheckId.DRIVER_NEW_ENOUGH,),
    CheckId.NO_MIXED_TORCH: (CheckId.CONDA_ENV,),
    CheckId.TORCH_IMPORTABLE: (CheckId.NO_MIXED_TORCH,),
    CheckId.TORCH_IN_ENV: (CheckId.TORCH_IMPORTABLE,),
    CheckId.TORCH_NUMPY: (CheckId.TORCH_IN_ENV,),
    CheckId.TORCH_CUDA_BUILD: (CheckId.TORCH_NUMPY,),
    CheckId.GPU_VISIBLE: (CheckId.TORCH_CUDA_BUILD,),
    CheckId.ARCH_SUPPORTED: (CheckId.GPU_VISIBLE,),
    CheckId.CUDA_TENSOR_OP: (CheckId.ARCH_SUPPORTED,),
    CheckId.GPU_BEATS_CPU: (CheckId.CUDA_TENSOR_OP,),
    CheckId.SYSTEM_NVCC: (CheckId.PLATFORM,),
}
# Facts about the installed software stand on their own: they are judged (and listed
# as later steps) even below a failure. Facts about the GPU wait: below a failure
# they are blocked. Below a machine that can't have CUDA at all, everything waits:
# the fix is another machine, where the env is judged afresh.
STANDALONE = frozenset(
    {
        CheckId.CONDA_ENV,
        CheckId.NO_MIXED_TORCH,
        CheckId.TORCH_IMPORTABLE,
        CheckId.TORCH_IN_ENV,
        CheckId.TORCH_NUMPY,
        CheckId.TORCH_CUDA_BUILD,
        CheckId.SYSTEM_NVCC,
    }
)
NO_CUDA_HERE = frozenset({CheckId.PLATFORM, CheckId.GPU_PRESENT})


def present_parents(check_id: CheckId, present: set[CheckId]) -> list[CheckId]:
    """The nearest ancestors that are in this verdict (absent checks are skipped over)."""
    found: list[CheckId] = []
    for parent in DEPENDS_ON.get(check_id, ()):
        if parent in present:
            found.append(parent)
        else:
            found += [p for p in present_parents(parent, present) if p not in found]
    return found


def ancestors(check_id: CheckId, present: set[CheckId]) -> set[CheckId]:
    found: set[CheckId] = set()
    for parent in present_parents(check_id, present):
        found |= {parent} | ancestors(parent, present)
    return found


def order(checks: list[Check]) -> list[Check]:
    """Checks in root-cause order, each with its parents and the failure it waits for.

    A check that does not pass below a failure gets `blocked_by`: the first failing
    ancestor. Unless it stands on its own, it also becomes "blocked": it can't be
    judged until that one passes. A check that passes stays a pass.
    """
    rank = {check_id: n for n, check_id in enumerate(DEPENDS_ON)}
    ordered = sorted(checks, key=lambda c: rank.get(c.id, len(rank)))
    present = {c.id for c in ordered}
    failed = [c.id for c in ordered if c.status == "fail"]
    result: list[Check] = []
    for check in ordered:
        update: dict[str, object] = {"depends_on": present_parents(check.id, present)}
        above = ancestors(check.id, present)
        root = next((f for f in failed if f in above), None)
        if root and check.status != "pass":
            update["blocked_by"] = root
            standalone = check.id in STANDALONE and root not in NO_CUDA_HERE
            if not standalone or check.status == "skip":
                update |= {
                    "status": "blocked",
                    "summary": f"can't be judged until {root} passes",
                    "hint": None,
                }
        result.append(check.model_copy(update=update))
    return result


def next_step(checks: list[Check]) -> CheckId | None:
    """The first failing check whose parents all pass (or don't apply)."""
    for check in checks:
        if check.status == "fail" and check.blocked_by is None:
            return check.id
    # Nothing fails, yet a required fact may be missing (e.g. nvidia-ml-py): its hint is next.
    for check in checks:
        if check.status == "skip" and check.hint and check.blocked_by is None:
            return check.id
    return None
