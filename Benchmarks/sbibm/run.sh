#!/usr/bin/env bash
# The SBI benchmark's Lotka–Volterra and SIR tasks: ili against sbi on the same θ/x files.
# For each task, budget and seed, ili's built-in simulator draws the budget's simulations
# from the task's prior (ili-bench task-data); both sides train on those files with sbi's
# defaults (NPE: MAF 5 transforms × 50 hidden; NLE: MAF likelihood; NRE-B: ResNet 50,
# 10 atoms; batch 200, lr 5e-4, validation fraction 0.1, stop after 20 epochs without
# improvement; NLE/NRE sample by slice sampling, 20 chains, 200 warm-up, thin 1), draw
# 10,000 samples at each of the benchmark's observations, and are scored by C2ST against
# the benchmark's reference posterior samples (the same C2ST code scores both sides; 0.5
# is indistinguishable). Observations and reference samples come from sbibm's files
# (Benchmarks/sbibm/fetch.sh downloads them once).
#   Benchmarks/sbibm/run.sh [--tasks lotka_volterra,sir] [--budgets 1000,10000] [--obs 1,2,3]
#                           [--seeds 1] [--methods npe|npe,nle,nre] [--threads N]
#                           [--skip-ili] [--skip-sbi] [--keep]
# Methods npe-default (no estimators named: ili's default set, two NSFs) and npe-search
# (inference.search: 6 trials over maf/nsf, 50/64 hidden units and learning rates 5e-4/1e-3,
# the best 2 kept) run on ili's side only, against sbi's npe rows.
# --threads gives both sides N threads (ili: ILI_THREADS; sbi: torch.set_num_threads);
# default 1. ili's times include process start-up and loading (ili train / ili sample);
# sbi's are measured inside Python around train() and sample(). Exits 1 if a step failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
source Benchmarks/lib/venv.sh
source Benchmarks/lib/timing.sh

tasks=lotka_volterra,sir budgets=1000,10000 obs=1,2,3 seeds=1 methods=npe threads=1
skip_ili=0 skip_sbi=0 keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --tasks) tasks="$2"; shift 2 ;;
        --budgets) budgets="$2"; shift 2 ;;
        --obs) obs="$2"; shift 2 ;;
        --seed|--seeds) seeds="$2"; shift 2 ;;
        --methods) methods="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --skip-ili) skip_ili=1; shift ;;
        --skip-sbi) skip_sbi=1; shift ;;
        --keep) keep=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
IFS=, read -r -a task_list <<<"$tasks"
IFS=, read -r -a budget_list <<<"$budgets"
IFS=, read -r -a obs_list <<<"$obs"
IFS=, read -r -a seed_list <<<"$seeds"
IFS=, read -r -a method_list <<<"$methods"
case "$threads" in ''|*[!0-9]*|0) echo "--threads needs a positive integer" >&2; exit 2 ;; esac
for t in "${task_list[@]}"; do
    case "$t" in lotka_volterra|sir) ;; *) echo "unknown task $t (lotka_volterra, sir)" >&2; exit 2 ;; esac
done
for m in "${method_list[@]}"; do
    case "$m" in npe|nle|nre|npe-default|npe-search) ;; *) echo "unknown method $m (npe, nle, nre, npe-default, npe-search)" >&2; exit 2 ;; esac
done
for k in "${obs_list[@]}"; do
    case "$k" in [1-9]|10) ;; *) echo "unknown observation $k (1 to 10)" >&2; exit 2 ;; esac
done
for b in "${budget_list[@]}"; do
    case "$b" in ''|*[!0-9]*|0) echo "--budgets needs positive integers, got $b" >&2; exit 2 ;; esac
done
export ILI_THREADS="$threads"

files="$(Benchmarks/sbibm/fetch.sh | tail -1)"
swift build -c release --product ili-bench >/dev/null
[ "$skip_ili" = 1 ] || swift build -c release --product ili >/dev/null
ili="$root/.build/release/ili" bench="$root/.build/release/ili-bench"
[ "$skip_sbi" = 1 ] || ensure_venv torch numpy sbi
work="$(mktemp -d /tmp/ili-sbibm-bench.XXXXXX)"
if [ "$keep" = 1 ]; then echo "scratch directory: $work" >&2; else trap 'rm -rf "$work"' EXIT; fi
results="$work/results.jsonl"
: >"$results"
failed=0
load_before="$(uptime)"

c2st() {  # reference candidate → C2ST, or "null"
    "$bench" c2st --reference "$1" --candidate "$2" 2>>"$work/c2st.err" \
        | python3 -c 'import json,sys;print("%.4f"%json.load(sys.stdin)["c2st"])' 2>/dev/null || echo null
}
error_json() {  # message → JSON line for the current configuration
    python3 -c 'import json,sys;print(json.dumps(dict(zip(["task","budget","seed","method","impl","error"],sys.argv[1:]))))' \
        "$task" "$budget" "$seed" "$m" "$1" "$2" >>"$results"
    failed=1
}
# The task's prior in ili's YAML: log θ ~ N(mean, std²).
prior_yaml() {
    case "$1" in
        lotka_volterra) echo "lognormal: {mean: [-0.125, -3, -0.125, -3], std: [0.5, 0.5, 0.5, 0.5]}" ;;
        sir) echo "lognormal: {mean: [-0.916290731874155, -2.0794415416798357], std: [0.5, 0.2]}" ;;
    esac
}

run_ili() {
    local dir="$work/$task-$budget-$seed/ili-$m" members="" variant="" sampler=""
    mkdir -p "$dir"
    case "$m" in
        npe|nle) members="
  estimators:
    - {model: maf, hidden_features: 50, num_transforms: 5}" ;;
        nre) members="
  estimators:
    - {model: resnet, hidden_features: 50}"; variant="
  variant: b" ;;
        npe-default) ;;
        npe-search) members="
  search:
    trials: 6
    keep: 2
    rung_epochs: 10
    space: {model: [maf, nsf], hidden_features: [50, 64], learning_rate: [5e-4, 1e-3]}" ;;
    esac
    case "$m" in nle|nre) sampler="
  sampler: {method: slice, chains: 20, warmup: 200, thin: 1}" ;; esac
    cat >"$dir/run.yaml" <<YAML
prior:
  $(prior_yaml "$task")
data: {theta: $data/theta.npy, x: $data/x.npy}
inference:
  method: ${m%%-*}$variant$members$sampler
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $seed
out: posterior
YAML
    local start train_s samples=() c2sts=() s k
    start=$(now)
    if ! (cd "$dir" && "$ili" train run.yaml --quiet >train.out 2>train.err); then
        error_json ili "ili train failed: $(tail -c 400 "$dir/train.err" | tr '\n' ' ')"; return
    fi
    train_s=$(since "$start")
    for k in "${obs_list[@]}"; do
        s=$(now)
        if ! "$ili" sample --posterior "$dir/posterior" --obs "$data/obs_$k.npy" --num-samples 10000 \
                --out "$dir/sample_$k.npy" --seed "$k" >"$dir/sample_$k.out" 2>"$dir/sample_$k.err"; then
            error_json ili "ili sample (obs $k) failed: $(tail -c 400 "$dir/sample_$k.err" | tr '\n' ' ')"; return
        fi
        samples+=("$(since "$s")")
        c2sts+=("$(c2st "$data/reference_$k.npy" "$dir/sample_$k.npy")")
    done
    python3 - "$task" "$budget" "$seed" "$m" "$dir/posterior/training.json" "$train_s" "${samples[*]}" "${c2sts[*]}" >>"$results" <<'PY'
import json, sys
task, budget, seed, m, path, train, samples, c2sts = sys.argv[1:9]
try:
    epochs = json.load(open(path))["members"][0]["summary"].get("epochs")
except Exception:  # the table still gets the timings
    epochs = None
print(json.dumps({"task": task, "budget": int(budget), "seed": int(seed), "method": m, "impl": "ili",
                  "train_seconds": float(train), "epochs": epochs,
                  "sample_seconds": [float(s) for s in samples.split()],
                  "c2st": [None if c == "null" else float(c) for c in c2sts.split()]}))
PY
}

run_sbi() {
    local dir="$work/$task-$budget-$seed/sbi-$m" obs_files=() c2sts=() i=1 k
    mkdir -p "$dir"
    for k in "${obs_list[@]}"; do obs_files+=("$data/obs_$k.npy"); done
    # sbi writes sbi-logs/ into the working directory: run it in the scratch directory.
    if ! (cd "$dir" && "$PYTHON" "$root/Benchmarks/sbibm/sbi_task.py" --task "$task" --method "$m" \
            --theta "$data/theta.npy" --x "$data/x.npy" --obs "${obs_files[@]}" \
            --out-prefix "$dir/sample_" --seed "$seed" --threads "$threads" >out.txt 2>err.txt); then
        error_json sbi "sbi failed: $(tail -c 400 "$dir/err.txt" | tr '\n' ' ')"; return
    fi
    for k in "${obs_list[@]}"; do
        c2sts+=("$(c2st "$data/reference_$k.npy" "$dir/sample_$i.npy")")
        i=$((i + 1))
    done
    python3 - "$(tail -1 "$dir/out.txt")" "$budget" "$seed" "${c2sts[*]}" >>"$results" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
d.update(budget=int(sys.argv[2]), seed=int(sys.argv[3]),
         c2st=[None if c == "null" else float(c) for c in sys.argv[4].split()])
print(json.dumps(d))
PY
}

for task in "${task_list[@]}"; do
    for budget in "${budget_list[@]}"; do
        for seed in "${seed_list[@]}"; do
            data="$work/$task-$budget-$seed"
            mkdir -p "$data"
            "$bench" task-data "${task//_/-}" --count "$budget" --seed "$seed" --out "$data" \
                --sbibm-files "$files/$task" --observation-numbers "$obs" >"$data/task-data.txt"
            for m in "${method_list[@]}"; do
                [ "$skip_ili" = 1 ] || run_ili
                # sbi has no search and no ensemble default: those rows compare with its npe.
                [ "$skip_sbi" = 1 ] || [ "$m" != "${m%%-*}" ] || run_sbi
            done
        done
    done
done

echo "SBI benchmark tasks ($tasks), budgets $budgets, observations $obs, seeds $seeds, $threads thread(s) each"
echo "sbi's defaults on both sides: MAF 5x50 (NPE, NLE), ResNet 50 with 10 atoms (NRE-B); batch 200, lr 5e-4, stop after 20"
[ "$skip_sbi" = 1 ] || "$PYTHON" -c 'import sbi, torch; print("sbi", sbi.__version__, "torch", torch.__version__)'
python3 "$root/Benchmarks/sbibm/table.py" "$results" "$obs"
echo "load before: ${load_before#*load average: }; after: $(uptime | sed 's/.*load average: //')"
exit "$failed"
