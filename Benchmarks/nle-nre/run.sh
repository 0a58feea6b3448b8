#!/usr/bin/env bash
# NLE and NRE-B on two moons, 10,000 simulations, ili vs sbi on the same θ/x files, with
# sbi's defaults: NLE with a MAF likelihood (5 transforms, 50 hidden); NRE-B (10 atoms)
# with a ResNet classifier (50 hidden); training with batch 200, lr 5e-4, validation
# fraction 0.1, stop after 20 epochs without improvement; sampling by slice sampling
# vectorized over 20 chains, 200 warm-up steps, no thinning (thin 1), chains started by
# resampling prior draws. Reports wall-clock training time, epochs, best validation
# score, time to draw 10,000 samples per observation, and C2ST against the exact
# posterior at the benchmark's observations (the same C2ST code scores both sides).
#   Benchmarks/nle-nre/run.sh [--seeds 1,2,...] [--methods nle,nre] [--obs 1|1,2]
#                             [--threads N] [--skip-ili] [--skip-sbi] [--keep]
# --threads gives both sides N threads (ili: ILI_THREADS; sbi: torch.set_num_threads);
# default 1. With several seeds the table ends with each side's mean ± sd and the
# ratios of the means.
# ili's times include process start-up and loading (ili train / ili sample); sbi's are
# measured inside Python around train() and sample(). Exits 1 if any step failed (the
# table then shows the failure); --keep keeps the scratch directory.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
source Benchmarks/lib/venv.sh
source Benchmarks/lib/timing.sh

seeds=1 methods=nle,nre obs=1 threads=1 skip_ili=0 skip_sbi=0 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seed|--seeds) seeds="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --methods) methods="$2"; shift 2 ;;
        --obs) obs="$2"; shift 2 ;;
        --skip-ili) skip_ili=1; shift ;;
        --skip-sbi) skip_sbi=1; shift ;;
        --keep) keep=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a method_list <<<"$methods"
IFS=, read -r -a obs_list <<<"$obs"
IFS=, read -r -a seed_list <<<"$seeds"
case "$threads" in ''|*[!0-9]*|0) echo "--threads needs a positive integer" >&2; exit 2 ;; esac
export ILI_THREADS="$threads"
for m in "${method_list[@]}"; do
    case "$m" in nle|nre) ;; *) echo "unknown method $m (nle, nre)" >&2; exit 2 ;; esac
done
for k in "${obs_list[@]}"; do
    case "$k" in 1|2) ;; *) echo "unknown observation $k (1, 2)" >&2; exit 2 ;; esac
done

swift build -c release --product ili-bench >/dev/null
[ "$skip_ili" = 1 ] || swift build -c release --product ili >/dev/null
ili="$root/.build/release/ili" bench="$root/.build/release/ili-bench"
work="$(mktemp -d /tmp/ili-nle-nre-bench.XXXXXX)"
if [ "$keep" = 1 ]; then echo "scratch directory: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
results="$work/results.jsonl"
: >"$results"
failed=0
load_before="$(uptime)"

c2st() {  # reference candidate → C2ST, or "null"
    "$bench" c2st --reference "$1" --candidate "$2" 2>>"$work/c2st.err" \
        | python3 -c 'import json,sys;print("%.4f"%json.load(sys.stdin)["c2st"])' 2>/dev/null || echo null
}
record() {  # JSON object → results
    echo "$1" >>"$results"
}
error_json() {  # method impl message → JSON line
    python3 -c 'import json,sys;print(json.dumps({"method":sys.argv[1],"impl":sys.argv[2],"error":sys.argv[3]}))' "$1" "$2" "$3"
}

run_ili() {  # method
    local m="$1" dir="$work/ili-$1-$seed"
    mkdir -p "$dir"
    local estimator variant=""
    if [ "$m" = nle ]; then
        estimator="{model: maf, hidden_features: 50, num_transforms: 5}"
    else
        estimator="{model: resnet, hidden_features: 50}"
        variant="
  variant: b"
    fi
    cat >"$dir/run.yaml" <<YAML
prior:
  uniform: {low: [-1, -1], high: [1, 1]}
data: {theta: $work/theta.npy, x: $work/x.npy}
inference:
  method: $m$variant
  estimators:
    - $estimator
  sampler: {method: slice, chains: 20, warmup: 200, thin: 1}
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $seed
out: posterior
YAML
    local start train_s
    start=$(now)
    if ! (cd "$dir" && "$ili" train run.yaml --quiet >train.out 2>train.err); then
        record "$(error_json "$m" ili "ili train failed: $(tail -c 400 "$dir/train.err" | tr '\n' ' ')")"
        failed=1; return
    fi
    train_s=$(since "$start")
    local samples=() c2sts=() s
    for k in "${obs_list[@]}"; do
        s=$(now)
        if ! "$ili" sample --posterior "$dir/posterior" --obs "$work/obs_$k.npy" --num-samples 10000 \
                --out "$work/ili_${m}_$k.npy" --seed "$k" >"$dir/sample_$k.out" 2>"$dir/sample_$k.err"; then
            record "$(error_json "$m" ili "ili sample (obs $k) failed: $(tail -c 400 "$dir/sample_$k.err" | tr '\n' ' ')")"
            failed=1; return
        fi
        samples+=("$(since "$s")")
        c2sts+=("$(c2st "$work/reference_$k.npy" "$work/ili_${m}_$k.npy")")
    done
    python3 - "$m" "$dir/posterior/training.json" "$train_s" "${samples[*]}" "${c2sts[*]}" "$seed" >>"$results" <<'PY'
import json, sys
m, path, train, samples, c2sts, seed = sys.argv[1:7]
try:
    member = json.load(open(path))["members"][0]["summary"]
    epochs, best = member.get("epochs"), member.get("bestValidationScore")
except Exception as e:  # the table still gets the timings
    epochs, best = None, None
print(json.dumps({"method": m, "impl": "ili", "seed": int(seed), "train_seconds": float(train), "epochs": epochs,
                  "best_validation_score": best,
                  "sample_seconds": [float(s) for s in samples.split()],
                  "c2st": [None if c == "null" else float(c) for c in c2sts.split()]}))
PY
}

run_sbi() {  # method
    local m="$1" dir="$work/sbi-$1-$seed" obs_files=() k
    mkdir -p "$dir"
    for k in "${obs_list[@]}"; do obs_files+=("$work/obs_$k.npy"); done
    # sbi writes sbi-logs/ into the working directory: run it in the scratch directory.
    if ! (cd "$dir" && "$PYTHON" "$root/Benchmarks/nle-nre/sbi_nle_nre.py" --method "$m" \
            --theta "$work/theta.npy" --x "$work/x.npy" --obs "${obs_files[@]}" \
            --out-prefix "$dir/sample_" --seed "$seed" --threads "$threads" >out.txt 2>err.txt); then
        record "$(error_json "$m" sbi "sbi failed: $(tail -c 400 "$dir/err.txt" | tr '\n' ' ')")"
        failed=1; return
    fi
    local c2sts=() i=1
    for k in "${obs_list[@]}"; do
        c2sts+=("$(c2st "$work/reference_$k.npy" "$dir/sample_$i.npy")")
        i=$((i + 1))
    done
    python3 - "$(tail -1 "$dir/out.txt")" "${c2sts[*]}" "$seed" >>"$results" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
d["c2st"] = [None if c == "null" else float(c) for c in sys.argv[2].split()]
d["seed"] = int(sys.argv[3])
print(json.dumps(d))
PY
}

[ "$skip_sbi" = 1 ] || ensure_venv torch numpy sbi
for seed in "${seed_list[@]}"; do
    # Observations 1 and 2 of the SBI benchmark's two-moons task; the simulations
    # (and the files) change with the seed.
    "$bench" task-data two-moons --count 10000 --seed "$seed" --out "$work" \
        --observations="-0.6396706,0.16234657;-0.5676688,-0.33194834" >/dev/null
    for m in "${method_list[@]}"; do
        [ "$skip_ili" = 1 ] || run_ili "$m"
        [ "$skip_sbi" = 1 ] || run_sbi "$m"
    done
done

echo "NLE / NRE-B, two moons, 10,000 simulations, seeds $seeds, $threads thread(s) each; NLE: MAF 5x50;"
echo "NRE-B: ResNet 50, 10 atoms; batch 200, lr 5e-4, stop after 20; slice sampling, 20 chains, 200 warm-up, thin 1"
python3 "$root/Benchmarks/nle-nre/table.py" "$results" "$obs"
echo "load before: ${load_before#*load average: }; after: $(uptime | sed 's/.*load average: //')"
exit "$failed"
