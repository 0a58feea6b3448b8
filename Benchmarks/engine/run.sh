#!/usr/bin/env bash
# One MLP training step (12 → 50 → 50 → 4, tanh, batch 200: forward, MSE loss,
# backward, Adam) in ili and in PyTorch on the CPU, with 1 and 2 threads.
# Prints the median ms/step of each, over several rounds, and the ratio.
#   Benchmarks/engine/run.sh [--steps 500] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/lib/venv.sh

steps=500 rounds=3
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) steps="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

ensure_venv torch numpy
swift build -c release --product ili-bench >/dev/null
bench=.build/release/ili-bench

results="$(mktemp)"
for threads in 1 2; do
    for _ in $(seq "$rounds"); do
        # Alternate the two so that machine noise hits both alike.
        "$bench" mlp-step --threads "$threads" --steps "$steps" >>"$results"
        OMP_NUM_THREADS=$threads "$PYTHON" Benchmarks/engine/torch_mlp_step.py --threads "$threads" --steps "$steps" >>"$results"
    done
done

"$PYTHON" - "$results" <<'PY'
import json, sys, statistics, platform
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"MLP 12-50-50-4 tanh, batch 200, one training step; {platform.processor() or platform.machine()}")
print(f"{'threads':>7} | {'ili ms/step':>22} | {'PyTorch ms/step':>22} | {'PyTorch/ili':>11}")
print("-" * 74)
for t in sorted({r['threads'] for r in rows}):
    ili = [r['median_ms'] for r in rows if r['threads'] == t and r['impl'] == 'ili']
    torch = [r['median_ms'] for r in rows if r['threads'] == t and r['impl'] != 'ili']
    fmt = lambda xs: f"{statistics.median(xs):.4f} ({min(xs):.4f}-{max(xs):.4f})"
    print(f"{t:>7} | {fmt(ili):>22} | {fmt(torch):>22} | {statistics.median(torch) / statistics.median(ili):>10.1f}x")
print("(median of per-round medians; range over rounds in parentheses)")
print("torch:", next(r['impl'] for r in rows if r['impl'] != 'ili'))
PY
rm -f "$results"
