#!/usr/bin/env bash
# Sequential inference on two moons, end to end: R rounds of N simulations focused on one
# observation (the SBI benchmark's observations 1 and 2), ili's sequential NPE (truncated
# proposals) and sequential NLE against sbi's SNPE-C and SNLE with their defaults, in the
# same run on this machine. Each side simulates, trains and samples on its own; reported:
# total wall time (ili: the whole `ili run`, registry included, validation off as sbi has
# none; sbi: its round loop and the final 10,000 samples), C2ST of 10,000 samples at the
# observation against exact reference samples, and ili's time spent in registry calls.
# Also ili's single-round NPE on R·N simulations from the prior, the baseline that
# sequential rounds must beat. With --active, also ili's active NPE against sequential NPE
# with the same two-member ensemble (two MAFs), to see when choosing θ by the members'
# disagreement helps.
# --estimators sets ili's estimators for its sequential runs and the single-round
# baseline (default: one MAF, sbi's default); e.g. --estimators "[{model: nsf, repeats: 2}]"
# for ili's own default set.
#   Benchmarks/sequential/run.sh [--seeds 1,2,3] [--obs 1,2] [--rounds 10] [--per-round 1000]
#                                [--methods snpe,snle] [--threads 2] [--skip-sbi] [--active]
#                                [--estimators YAML] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/lib/venv.sh

seeds=1,2,3 observations=1,2 rounds=10 per_round=1000 methods=snpe,snle threads=2 skip_sbi=0 active=0 keep=""
estimators="[{model: maf}]"
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --obs) observations="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --per-round) per_round="$2"; shift 2 ;;
        --methods) methods="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --skip-sbi) skip_sbi=1; shift ;;
        --active) active=1; shift ;;
        --estimators) estimators="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

swift build -c release --product ili >/dev/null
swift build -c release --product ili-bench >/dev/null
ili="$PWD/.build/release/ili" bench="$PWD/.build/release/ili-bench"
[ "$skip_sbi" = 0 ] && ensure_venv torch numpy sbi
root="$(mktemp -d /tmp/ili-sequential-bench.XXXXXX)"
if [ -n "$keep" ]; then mkdir -p "$keep"; root="$(cd "$keep" && pwd)"; else trap 'rm -rf "$root"' EXIT; fi
rows="$root/rows.tsv"
: >"$rows"
export ILI_THREADS="$threads"

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{print a-b}'; }
c2st() { "$bench" c2st --reference "$1" --candidate "$2" | python3 -c 'import json,sys;print("%.4f"%json.load(sys.stdin)["c2st"])'; }

# ili run for one configuration; prints "seconds registry_seconds" and leaves samples_xo.npy.
ili_run() {
    local dir="$1" strategy="$2" method="$3" count="$4" per="$5" seed="$6" obs="$7" members="${8:-$estimators}"
    mkdir -p "$dir"
    cat >"$dir/config.yaml" <<YAML
experiment: bench
simulator: two_moons
inference:
  method: $method
  estimators: $members
rounds: {strategy: $strategy, count: $count, simulations_per_round: $per}
observation: $obs
validation: {simulations: 0}
seed: $seed
out: out
YAML
    local start
    start=$(now)
    "$ili" run "$dir/config.yaml" --quiet >"$dir/summary.txt" 2>"$dir/stderr.txt"
    local seconds
    seconds=$(since "$start")
    local registry
    registry=$(sed -n 's/^time in the registry: \([0-9.]*\) s.*/\1/p' "$dir/summary.txt")
    echo "$seconds ${registry:-nan}"
}

for seed in ${seeds//,/ }; do
    work="$root/seed-$seed"
    mkdir -p "$work"
    "$bench" task-data two-moons --count 10 --seed "$seed" --out "$work" \
        --observations="-0.6396706,0.16234657;-0.5676688,-0.33194834" >/dev/null
    for k in ${observations//,/ }; do
        obs="$work/obs_$k.npy" ref="$work/reference_$k.npy"
        for m in ${methods//,/ }; do
            method=${m#s}
            read -r seconds registry < <(ili_run "$work/ili-$m-$k" sequential "$method" "$rounds" "$per_round" "$seed" "$obs")
            last=$((rounds - 1))
            score=$(c2st "$ref" "$work/ili-$m-$k/out/round-$last/samples_xo.npy")
            printf 'ili\t%s\t%s\t%s\t%.2f\t%s\t%s\n' "$m" "$seed" "$k" "$seconds" "$score" "$registry" | tee -a "$rows"
            if [ "$skip_sbi" = 0 ]; then
                "$PYTHON" Benchmarks/sequential/sbi_sequential.py --method "$m" --obs "$obs" --rounds "$rounds" \
                    --per-round "$per_round" --out "$work/sbi-$m-$k.npy" --seed "$seed" --threads "$threads" \
                    >"$work/sbi-$m-$k.json" 2>"$work/sbi-$m-$k.err"
                # sbi prints its own notes on stdout too: the result is the last JSON object.
                seconds=$(python3 -c "import json;t=open('$work/sbi-$m-$k.json').read();print('%.2f'%json.loads(t[t.rindex('{\"impl\"'):])['seconds'])")
                score=$(c2st "$ref" "$work/sbi-$m-$k.npy")
                printf 'sbi\t%s\t%s\t%s\t%s\t%s\tnan\n' "$m" "$seed" "$k" "$seconds" "$score" | tee -a "$rows"
            fi
        done
        if [ "$active" = 1 ]; then
            pair="[{model: maf}, {model: maf}]"
            for strategy in sequential active; do
                read -r seconds registry < <(ili_run "$work/ili-$strategy-ens-$k" "$strategy" npe "$rounds" "$per_round" "$seed" "$obs" "$pair")
                score=$(c2st "$ref" "$work/ili-$strategy-ens-$k/out/round-$((rounds - 1))/samples_xo.npy")
                printf 'ili\t%s-npe-2maf\t%s\t%s\t%.2f\t%s\t%s\n' "$strategy" "$seed" "$k" "$seconds" "$score" "$registry" | tee -a "$rows"
            done
        fi
        # The baseline: one amortized NPE round on all the simulations.
        read -r seconds registry < <(ili_run "$work/ili-npe-$k" amortized npe 1 $((rounds * per_round)) "$seed" "$obs")
        score=$(c2st "$ref" "$work/ili-npe-$k/out/round-0/samples_xo.npy")
        printf 'ili\tnpe-%s\t%s\t%s\t%.2f\t%s\t%s\n' "$((rounds * per_round))" "$seed" "$k" "$seconds" "$score" "$registry" | tee -a "$rows"
    done
done
python3 Benchmarks/sequential/table.py "$rows"
