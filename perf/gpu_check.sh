#!/usr/bin/env bash
# GPU validation of the diagnostics, for a lent machine with an NVIDIA GPU and a CUDA torch
# (triton ships with Linux CUDA wheels). Run from anywhere:
#
#   perf/gpu_check.sh [python]      # default: $PYTHON, else .venv/bin/python, else python3
#
# 1. The full check with --json, timed; the report lands in ${OUT:-var}/gpu_check.json.
# 2. In one python process: torch.matmul bf16 8192^3 and a large device-to-device copy,
#    timed with our bench code and with triton.testing.do_bench (median) as the
#    reference. Prints ours/ref (target >= 0.95) and % of theoretical peak.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-${PYTHON:-}}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
OUT_DIR="${OUT:-var}"
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true

echo "== full check (budget 20 s)"
status=0
TIMEFORMAT="wall %R s"
time { "$PY" -m diagnostics check --json --output "$OUT_DIR/gpu_check.json" >/dev/null || status=$?; }
echo "exit $status (0: objective met, 1: not, 3: the check failed), report: $OUT_DIR/gpu_check.json"
"$PY" - "$OUT_DIR/gpu_check.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for c in doc["verdict"]["checks"]:
    print(f"  {c['status']:4}  {c['id']:<18} {c['summary']}")
for r in (doc["report"]["bench"] or {}).get("results", []):
    if r["median"]:
        pct = f"{r['pct_of_peak']:.0f}% of peak" if r["pct_of_peak"] else "no peak"
        print(f"  {r['name']:<13} {r['device']:<4} {r['median']:.3e} {r['unit']}  {pct}")
print("objective met:", doc["verdict"]["objective_met"], "next step:", doc["verdict"].get("next_step"))
EOF

echo "== ours vs triton.testing.do_bench"
"$PY" - <<'EOF'
import statistics

import torch
from triton.testing import do_bench

from diagnostics.agent.bench.peak import device_peaks
from diagnostics.agent.bench.timing import time_cuda
from diagnostics.agent.probe import collect

report, _ = collect()
peaks = device_peaks(report)
print(f"device: {torch.cuda.get_device_name(0)}; peaks from {peaks.source if peaks else 'n/a'}")


def compare(label, call, work, unit, peak):
    ours = work / statistics.median(time_cuda(torch, call, budget_s=5.0, max_samples=200).seconds)
    ref = work / (do_bench(call, warmup=100, rep=1000, return_mode="median") / 1e3)
    pct = f"{100 * ours / peak:.1f}% of peak {peak:.3e}" if peak else "peak unknown"
    verdict = "OK" if ours / ref >= 0.95 else "BELOW TARGET"
    print(f"{label}: ours {ours:.4e} {unit}, do_bench {ref:.4e} {unit}, "
          f"ours/ref {ours / ref:.3f} ({verdict}); {pct}")


n = 8192
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
c = torch.empty(n, n, device="cuda", dtype=torch.bfloat16)
compare("matmul bf16 8192^3", lambda: torch.matmul(a, b, out=c), 2.0 * n**3, "FLOP/s",
        peaks.matmul["bf16"] if peaks else None)
del a, b, c

free = torch.cuda.mem_get_info()[0]
nbytes = min(2 * 2**30, free // 4)
src = torch.randn(nbytes // 4, device="cuda")
dst = torch.empty_like(src)
compare(f"D2D copy {nbytes // 2**20} MiB", lambda: dst.copy_(src), 2.0 * nbytes, "B/s",
        peaks.memory if peaks else None)
EOF
