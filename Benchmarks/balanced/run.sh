#!/usr/bin/env bash
# Balanced against plain estimators: NPE against BNPE (inference.loss: balanced, λ = 100),
# optionally NRE-B against BNRE, on Gaussian linear (10-D) and two moons, at 1,000 and
# 10,000 simulations, over several seeds. Every method trains on the same θ/x files per
# task, budget and seed, with sbi's defaults (MAF 5 × 50 for NPE/BNPE, ResNet 50 for NRE;
# batch 200, lr 5e-4, stop after 20 epochs without improvement).
#
# For each run: wall-clock training time (`ili train`, process start included) and
# epochs; C2ST of 10,000 samples against 10,000 exact posterior samples at one observation
# (ili-bench c2st; 0.5 is perfect); and `ili validate` on 300 held-out simulations drawn
# with another seed (1,000 samples each): the verdict (and its direction when it fails),
# the highest-density coverage minus the nominal level at 70% and 95% and on average over
# the levels 5%…95% (positive: the truth is inside more often than nominal, i.e.
# conservative), the TARP area (positive: under-confident) and the mean log posterior
# density of the true θ (higher is better).
#   Benchmarks/balanced/run.sh [--seeds 1,2,3] [--tasks gaussian-linear,two-moons]
#                              [--counts 1000,10000] [--methods npe,bnpe,nre-b,bnre]
#                              [--threads N] [--keep DIR] [--skip-build]
# --threads sets ILI_THREADS (default 1). Prints a table of means ± sd over seeds, per
# task, budget and method, then every run (Benchmarks/balanced/table.py, which also takes
# several runs' results.jsonl files at once); exits 1 if a step failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
source Benchmarks/lib/timing.sh

seeds=1,2,3 tasks=gaussian-linear,two-moons counts=1000,10000 methods=npe,bnpe threads=1 keep="" build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seed|--seeds) seeds="$2"; shift 2 ;;
        --tasks) tasks="$2"; shift 2 ;;
        --counts) counts="$2"; shift 2 ;;
        --methods) methods="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --skip-build) build=0; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for m in ${methods//,/ }; do
    case "$m" in npe|bnpe|nre-b|bnre) ;; *) echo "unknown method $m (npe, bnpe, nre-b, bnre)" >&2; exit 2 ;; esac
done
for t in ${tasks//,/ }; do
    case "$t" in gaussian-linear|two-moons) ;; *) echo "unknown task $t (gaussian-linear, two-moons)" >&2; exit 2 ;; esac
done
case "$threads" in ''|*[!0-9]*|0) echo "--threads needs a positive integer" >&2; exit 2 ;; esac
export ILI_THREADS="$threads"

# --skip-build uses the binaries as they are (e.g. from a test build, whose flags differ).
if [ "$build" = 1 ]; then
    swift build -c release --product ili >/dev/null
    swift build -c release --product ili-bench >/dev/null
fi
ili="$root/.build/release/ili" bench="$root/.build/release/ili-bench"
work="$(mktemp -d /tmp/ili-balanced-bench.XXXXXX)"
if [ -n "$keep" ]; then mkdir -p "$keep"; work="$(cd "$keep" && pwd)"; else trap 'rm -rf "$work"' EXIT; fi
results="$work/results.jsonl"
: >"$results"
failed=0
load_before="$(uptime)"

fail() {  # task count seed method message
    python3 -c 'import json,sys;print(json.dumps({"task":sys.argv[1],"count":int(sys.argv[2]),"seed":int(sys.argv[3]),"method":sys.argv[4],"error":sys.argv[5]}))' \
        "$@" >>"$results"
    failed=1
}

for task in ${tasks//,/ }; do
    if [ "$task" = two-moons ]; then
        prior="uniform: {low: [-1, -1], high: [1, 1]}"
        observation="-0.6396706,0.16234657"     # the SBI benchmark's observation 1
    else
        # θ ~ N(0, 0.1 I₁₀), x ~ N(θ, 0.1 I₁₀); an observation of typical size (x's sd is 0.45).
        sd=$(python3 -c 'print(0.1 ** 0.5)')
        prior="normal: {mean: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], std: [$(printf "$sd, %.0s" 1 2 3 4 5 6 7 8 9)$sd]}"
        observation=$(python3 -c 'import math;print(",".join("%.6f" % (0.6 * math.sin(j)) for j in range(10)))')
    fi
    for count in ${counts//,/ }; do
        for seed in ${seeds//,/ }; do
            dir="$work/$task-$count-$seed"
            mkdir -p "$dir/test"
            "$bench" task-data "$task" --count "$count" --seed "$seed" --out "$dir" --observations="$observation" >/dev/null
            # Held-out test simulations: another seed, the same for every method.
            "$bench" task-data "$task" --count 300 --seed $((seed + 1000)) --out "$dir/test" >/dev/null
            for method in ${methods//,/ }; do
                run="$dir/$method"
                mkdir -p "$run"
                case "$method" in
                    npe) inference="method: npe" estimator="{model: maf, hidden_features: 50, num_transforms: 5}" ;;
                    bnpe) inference="method: npe
  loss: balanced
  balance_strength: 100" estimator="{model: maf, hidden_features: 50, num_transforms: 5}" ;;
                    nre-b) inference="method: nre
  variant: b" estimator="{model: resnet, hidden_features: 50}" ;;
                    bnre) inference="method: nre
  variant: bnre
  balance_strength: 100" estimator="{model: resnet, hidden_features: 50}" ;;
                esac
                cat >"$run/run.yaml" <<YAML
prior:
  $prior
data: {theta: $dir/theta.npy, x: $dir/x.npy}
inference:
  $inference
  estimators:
    - $estimator
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $seed
out: posterior
YAML
                start=$(now)
                if ! (cd "$run" && "$ili" train run.yaml --quiet >train.out 2>train.err); then
                    fail "$task" "$count" "$seed" "$method" "ili train: $(tail -c 300 "$run/train.err" | tr '\n' ' ')"; continue
                fi
                train_s=$(since "$start")
                if ! "$ili" sample --posterior "$run/posterior" --obs "$dir/obs_1.npy" --num-samples 10000 \
                        --out "$run/samples.npy" --seed 1 >"$run/sample.out" 2>"$run/sample.err"; then
                    fail "$task" "$count" "$seed" "$method" "ili sample: $(tail -c 300 "$run/sample.err" | tr '\n' ' ')"; continue
                fi
                "$bench" c2st --reference "$dir/reference_1.npy" --candidate "$run/samples.npy" >"$run/c2st.json" 2>"$run/c2st.err" \
                    || { fail "$task" "$count" "$seed" "$method" "c2st failed"; continue; }
                # Exit status 2 is a posterior that is not calibrated: a result, not a failure.
                status=0
                "$ili" validate --posterior "$run/posterior" --theta "$dir/test/theta.npy" --x "$dir/test/x.npy" \
                    --num-samples 1000 --seed 1 --out "$run/validation" --quiet >"$run/validate.out" 2>"$run/validate.err" || status=$?
                if [ "$status" != 0 ] && [ "$status" != 2 ]; then
                    fail "$task" "$count" "$seed" "$method" "ili validate: $(tail -c 300 "$run/validate.err" | tr '\n' ' ')"; continue
                fi
                python3 - "$task" "$count" "$seed" "$method" "$train_s" "$run" >>"$results" <<'PY'
import json, sys
task, count, seed, method, train_s, run = sys.argv[1:7]
summary = json.load(open(f"{run}/posterior/training.json"))["members"][0]["summary"]
report = json.load(open(f"{run}/validation/validation.json"))
coverage = report["coverage"]
levels, hpd = coverage["levels"], coverage["highestDensity"]
at = lambda level: min(range(len(levels)), key=lambda i: abs(levels[i] - level))
verdict = report["verdict"]
print(json.dumps({
    "task": task, "count": int(count), "seed": int(seed), "method": method,
    "train_seconds": float(train_s), "epochs": summary["epochs"],
    "c2st": json.load(open(f"{run}/c2st.json"))["c2st"],
    "passed": verdict["passed"], "direction": verdict.get("direction"),
    "failed_checks": [c["name"] + (f" ({c['direction']})" if c.get("direction") else "") for c in verdict["checks"] if not c["passed"]],
    "hpd70": hpd[at(0.7)] - levels[at(0.7)], "hpd95": hpd[at(0.95)] - levels[at(0.95)],
    "hpd_mean": sum(h - l for h, l in zip(hpd, levels)) / len(levels),
    "tarp_area": report["tarp"]["area"],
    "log_prob_truth": report["predictions"]["logProbOfTruth"]["mean"],
}))
PY
            done
        done
    done
done

echo "Balanced vs plain estimators; seeds $seeds; ILI_THREADS=$threads; MAF 5x50 (NPE, BNPE), ResNet 50 (NRE-B, BNRE); λ = 100"
python3 "$root/Benchmarks/balanced/table.py" "$results"
echo "load before: ${load_before#*load average: }; after: $(uptime | sed 's/.*load average: //')"
exit "$failed"
