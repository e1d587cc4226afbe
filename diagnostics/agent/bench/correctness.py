"""Correctness first: a matmul on the device against a float64 CPU reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from diagnostics.agent.probe.common import Findings, clip
from diagnostics.agent.report import Correctness, Device, Dtype

# Relative error (Frobenius norm) of a 256-wide matmul whose inputs were already
# rounded to the dtype. The reference sees the same rounded inputs, so the error
# is accumulation and output rounding only: about 1e-6 for fp32, 2^-11 ≈ 5e-4
# for fp16 outputs, 2^-8 ≈ 4e-3 for bf16, tf32 rounds inputs to 10 bits inside
# the tensor core (≈1e-3). The thresholds leave 10x room yet catch garbage.
THRESHOLDS = {"fp32": 1e-4, "tf32": 1e-2, "fp16": 5e-3, "bf16": 4e-2}
SIZE = 256


@contextmanager
def tf32(torch: Any, enabled: bool) -> Iterator[None]:
    """Switch TF32 matmuls for the block; torch >= 2.9 has fp32_precision instead of allow_tf32."""
    matmul = torch.backends.cuda.matmul
    value: str | bool
    if hasattr(matmul, "fp32_precision"):
        attr, value = "fp32_precision", "tf32" if enabled else "ieee"
    else:
        attr, value = "allow_tf32", enabled
    saved = getattr(matmul, attr)
    setattr(matmul, attr, value)
    try:
        yield
    finally:
        setattr(matmul, attr, saved)


def torch_dtype(torch: Any, dtype: str) -> Any:
    return {
        "fp32": torch.float32,
        "tf32": torch.float32,
        "fp16": torch.float16,
        "bf16": torch.bfloat16,
    }[dtype]


def _kind(device: str) -> Device:
    return "cuda" if device.startswith("cuda") else "cpu"


def check_matmul(torch: Any, device: str, dtype: Dtype) -> Correctness:
    kind = _kind(device)
    result = Correctness(device=kind, dtype=dtype, size=SIZE, threshold=THRESHOLDS[dtype], ok=False)
    dt = torch_dtype(torch, dtype)
    a = torch.randn(SIZE, SIZE).to(dt)
    b = torch.randn(SIZE, SIZE).to(dt)
    reference = a.double() @ b.double()
    with tf32(torch, dtype == "tf32") if kind == "cuda" else nullcontext():
        out = (a.to(device) @ b.to(device)).double().cpu()
    err = float(torch.linalg.norm(out - reference) / torch.linalg.norm(reference))
    if err != err or err == float("inf"):  # NaN or inf in the output is plainly wrong
        result.error = "the result holds NaN or inf"
        return result
    result.rel_err = err
    result.ok = err <= result.threshold
    return result


def supported_dtypes(major: int) -> list[Dtype]:
    return ["fp32", "tf32", "fp16", "bf16"] if major >= 8 else ["fp32", "fp16"]


def check_correctness(
    torch: Any, *, cuda_major: int | None, findings: Findings
) -> list[Correctness]:
    """fp32 on the CPU, then every dtype the GPU supports; errors are results, not raises."""
    plan: list[tuple[str, Dtype]] = [("cpu", "fp32")]
    if cuda_major is not None:
        plan += [("cuda:0", dtype) for dtype in supported_dtypes(cuda_major)]
    results = []
    for device, dtype in plan:
        try:
            results.append(check_matmul(torch, device, dtype))
        except Exception as exc:  # noqa: BLE001 - "no kernel image", OOM, driver errors
            kind = _kind(device)
            message = clip(f"{type(exc).__name__}: {exc}")
            findings.add("correctness", f"{kind}-error", message)
            results.append(
                Correctness(
                    device=kind,
                    dtype=dtype,
                    size=SIZE,
                    threshold=THRESHOLDS[dtype],
                    ok=False,
                    error=message,
                )
            )
            if kind == "cuda":
                break  # a CUDA error is usually sticky; the next dtype would repeat it
    return results
