#!/usr/bin/env bash
# NPE on two moons, 10,000 simulations, MAF (5 transforms, 50 hidden), sbi's training
# settings: ili vs sbi on the same θ/x files. Reports wall-clock training time, epochs,
# best validation log-prob, sampling time and C2ST against the exact posterior at the
# benchmark's observations 1 and 2 (the same C2ST code scores both).
#
# Rows: `ili` is ili's default MAF, which reverses the features between steps;
# `ili-random` draws random permutations as sbi's MAF does, and is otherwise the same
# network (Benchmarks/npe/parity.py checks that on copied weights); `sbi` is sbi itself.
# The `first` column gives, for each of the five steps, which θ feature came first and
# so was not conditioned on x in that step: with random permutations this is a coin
# flip per step, and a draw that leaves one feature first in four or five steps costs
# that feature's posterior marginal its dependence on x.
#
# A seed fixes the data, the split, the initial weights and the permutations, and one
# seed's C2ST moves by several hundredths with it, so --seeds runs several and closes
# with the mean ± standard deviation of each column. --threads T gives both sides T threads
# (ili: ILI_THREADS, which splits each batch's rows; sbi: torch.set_num_threads); default 1.
#   Benchmarks/npe/run.sh [--seed S | --seeds 1,2,3] [--threads T] [--skip-sbi] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/lib/venv.sh

seeds=1 skip_sbi=0 keep="" threads=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seed|--seeds) seeds="$2"; shift 2 ;;
        --skip-sbi) skip_sbi=1; shift ;;
        --threads) threads="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

swift build -c release --product ili >/dev/null
swift build -c release --product ili-bench >/dev/null
ili=.build/release/ili bench=.build/release/ili-bench
export ILI_THREADS="$threads"
[ "$skip_sbi" = 0 ] && ensure_venv torch numpy sbi
root="$(mktemp -d /tmp/ili-npe-bench.XXXXXX)"
if [ -n "$keep" ]; then mkdir -p "$keep"; root="$(cd "$keep" && pwd)"; else trap 'rm -rf "$root"' EXIT; fi
rows="$root/rows.tsv"
: >"$rows"

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{print a-b}'; }
c2st() { "$bench" c2st --reference "$1" --candidate "$2" | python3 -c 'import json,sys;print("%.4f"%json.load(sys.stdin)["c2st"])'; }
# Which feature each MADE step sees first, from a JSON list of permutations on stdin.
firsts() { python3 -c '
import json, sys
order = [0, 1]; out = ""
for p in json.loads(sys.stdin.read()):
    out += str(order[0]); order = [order[i] for i in p]
print(out)'; }

for seed in ${seeds//,/ }; do
    work="$root/seed-$seed"
    mkdir -p "$work"
    # Observations 1 and 2 of the SBI benchmark's two-moons task.
    "$bench" task-data two-moons --count 10000 --seed "$seed" --out "$work" \
        --observations="-0.6396706,0.16234657;-0.5676688,-0.33194834" >/dev/null

    for variant in ili ili-random; do
        extra=""
        [ "$variant" = ili-random ] && extra=", permutation: random"
        cat >"$work/$variant.yaml" <<YAML
prior:
  uniform: {low: [-1, -1], high: [1, 1]}
data: {theta: theta.npy, x: x.npy}
inference:
  method: npe
  estimators:
    - {model: maf, hidden_features: 50, num_transforms: 5$extra}
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $seed
out: $variant
YAML
        start=$(now)
        "$ili" train "$work/$variant.yaml" --quiet >"$work/$variant-train.txt"
        train_s=$(since "$start")
        read -r epochs best < <(python3 -c "import json;d=json.load(open('$work/$variant/training.json'))['members'][0]['summary'];print(d['epochs'], '%.4f'%d['bestValidationScore'])")
        first=$(python3 -c "import json;print(json.dumps(json.load(open('$work/$variant/posterior.json'))['members'][0]['estimator']['permutations']))" | firsts)
        sample=() score=()
        for k in 1 2; do
            s=$(now)
            "$ili" sample --posterior "$work/$variant" --obs "$work/obs_$k.npy" --num-samples 10000 --out "$work/${variant}_$k.npy" --seed $k >/dev/null
            sample+=("$(since "$s")")
            score+=("$(c2st "$work/reference_$k.npy" "$work/${variant}_$k.npy")")
        done
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$seed" "$train_s" "$epochs" "$best" \
            "${sample[0]}" "${sample[1]}" "${score[0]}" "${score[1]}" "$first" >>"$rows"
    done

    if [ "$skip_sbi" = 0 ]; then
        sbi_json=$(cd "$work" && "$PYTHON" "$OLDPWD/Benchmarks/npe/sbi_npe.py" --theta "$work/theta.npy" --x "$work/x.npy" \
            --obs "$work/obs_1.npy" "$work/obs_2.npy" --out-prefix "$work/sbi_" --seed "$seed" --threads "$threads" 2>/dev/null | tail -1)
        echo "$sbi_json" >"$work/sbi.json"
        sbi_c2st=()
        for k in 1 2; do sbi_c2st+=("$(c2st "$work/reference_$k.npy" "$work/sbi_$k.npy")"); done
        first=$(python3 -c 'import json,sys;t=sys.argv[1];print(json.dumps(json.loads(t[t.rindex("{"):])["permutations"]))' "$sbi_json" | firsts)
        python3 - "$sbi_json" "$seed" "${sbi_c2st[0]}" "${sbi_c2st[1]}" "$first" >>"$rows" <<'PY'
import json, sys
text = sys.argv[1]
d = json.loads(text[text.rindex("{"):])
print("\t".join(map(str, ["sbi", sys.argv[2], d["train_seconds"], d["epochs"], "%.4f" % d["best_validation_log_prob"],
                          d["sample_seconds"][0], d["sample_seconds"][1], sys.argv[3], sys.argv[4], sys.argv[5]])))
PY
    fi
done

echo "NPE, two moons, 10,000 simulations, MAF 5x50, batch 200, lr 5e-4, stop after 20; seeds $seeds; load $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$skip_sbi" = 0 ] && "$PYTHON" -c 'import sbi; print("sbi", sbi.__version__)'
python3 - "$rows" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
head = "%-10s | %4s | %9s | %7s | %11s | %13s | %15s | %5s" % ("impl", "seed", "train (s)", "epochs", "best val lp",
                                                             "sample 10k (s)", "C2ST obs1/obs2", "first")
print(head)
print("-" * len(head))
for r in rows:
    print("%-10s | %4s | %9.1f | %7s | %11s | %5.2f / %-5.2f | %6.3f / %-6.3f | %s" % (r[0], r[1], float(r[2]), r[3], r[4],
          float(r[5]), float(r[6]), float(r[7]), float(r[8]), r[9]))
impls = list(dict.fromkeys(r[0] for r in rows))
def stats(values):
    values = [float(v) for v in values]
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
if len(rows) > len(impls):
    print("-" * len(head))
    print("mean ± sd over seeds")
    for impl in impls:
        rs = [r for r in rows if r[0] == impl]
        (t, ts), (e, es), (lp, lps), (a, as_), (b, bs) = (stats(r[k] for r in rs) for k in (2, 3, 4, 7, 8))
        print("%-10s | %4d | %4.1f±%-4.1f | %3.0f±%-3.0f | %5.3f±%-5.3f | %13s | %.3f±%.3f / %.3f±%.3f" % (
            impl, len(rs), t, ts, e, es, lp, lps, "", a, as_, b, bs))
if "sbi" in impls:
    ili = stats(r[2] for r in rows if r[0] == "ili")[0]
    sbi = stats(r[2] for r in rows if r[0] == "sbi")[0]
    print("training speed-up (sbi / ili, mean times): %.1fx" % (sbi / ili))
    # The wall-clock ratio also carries the epoch counts, which move with the seed; per
    # epoch it is the speed of the two training loops alone.
    per_epoch = lambda impl: statistics.mean(float(r[2]) / int(r[3]) for r in rows if r[0] == impl)
    print("per epoch: ili %.3f s, sbi %.3f s (%.1fx)" % (per_epoch("ili"), per_epoch("sbi"), per_epoch("sbi") / per_epoch("ili")))
PY
