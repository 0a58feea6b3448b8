#!/usr/bin/env bash
# One training step (log-prob of a batch of 200, mean, backward, Adam) of MAF, NSF and
# MDN at sbi's default sizes, ili against sbi's own estimators in PyTorch, one thread
# each, on this machine. Prints a table of median milliseconds per step and the ratio.
#
#   Benchmarks/nets/run.sh                 # all models and sizes
#   STEPS=200 MODELS="maf nsf" Benchmarks/nets/run.sh
#
# The Python side runs in Benchmarks/.venv (or $ILI_BENCH_VENV), created with torch,
# nflows and sbi when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV="${ILI_BENCH_VENV:-Benchmarks/.venv}"
MODELS="${MODELS:-maf nsf mdn}"
SIZES="${SIZES:-2x2 2x8 5x2 5x8}"     # θ dimension x context dimension
STEPS="${STEPS:-300}"
PEER_STEPS="${PEER_STEPS:-100}"
BATCH="${BATCH:-200}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV" >&2
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import torch, nflows, sbi" 2>/dev/null; then
    echo "installing torch, nflows and sbi into $VENV" >&2
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/python" -c "import torch" 2>/dev/null ||
        "$VENV/bin/pip" install --quiet torch
    "$VENV/bin/pip" install --quiet nflows sbi
fi

swift build -c release --product ili-bench >&2
BENCH="$(swift build -c release --show-bin-path)/ili-bench"

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for model in $MODELS; do
    for size in $SIZES; do
        features="${size%x*}"; context="${size#*x}"
        echo "$model θ=$features x=$context" >&2
        "$BENCH" nets-step --model "$model" --features "$features" --context "$context" \
            --batch "$BATCH" --threads 1 --steps "$STEPS" >> "$results"
        OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$VENV/bin/python" -W ignore Benchmarks/nets/peer.py \
            --model "$model" --features "$features" --context "$context" --batch "$BATCH" \
            --steps "$PEER_STEPS" 2>/dev/null | tail -n 1 >> "$results"
    done
done
"$VENV/bin/python" Benchmarks/nets/table.py "$results"
