#!/usr/bin/env bash
# Which NPE estimator set should be ili's default: each candidate set is trained on 10,000
# simulations of a reference task (sbi's training settings: batch 200, learning rate 5e-4,
# 10% validation, stop after 20 epochs without improvement) and judged by `ili validate`
# on 200 held-out prior simulations, with C2ST against exact posterior samples at one
# observation per seed. Records per task, set and seed the verdict (calibrated or not,
# and which checks failed in which direction), the C2ST and the training seconds, and
# prints per task and set: verdict passes out of seeds, mean C2ST ± sd, mean training time.
#
# Seeds: seed s trains on `ili-bench task-data TASK --seed s`; the 200 test points come
# from seed 1000+s; the observation is the x of one prior simulation from seed 2000+s, and
# its exact posterior samples (--reference-samples of them) come with the training data.
# `ili validate` runs with --seed s.
#
# Sets (names for --sets): maf = [{model: maf}], nsf = [{model: nsf}], maf+nsf =
# [{model: maf}, {model: nsf}], 2nsf = [{model: nsf, repeats: 2}], 2maf+2nsf =
# [{model: maf, repeats: 2}, {model: nsf, repeats: 2}]; every estimator at ili's defaults.
#
# By default the members are trained once per task and seed, as the largest set
# [maf, maf, nsf, nsf] in one `ili train`, and each set is assembled from them: its
# members' weight files with the weights `ili train` gives (the softmax of their best
# validation log-probability), so four trainings per task and seed replace ten. Every
# member trains on the split drawn from the seed with the seed's k-th member seed
# (EnsembleSplit): `maf` is exactly what `ili train` writes for that set, and the others
# differ from their own `ili train` only in which member seeds their members drew. A set's
# training time is the sum of its members' seconds (ILI_THREADS=1 trains members one after
# another). --per-set trains every set with its own `ili train` instead, timed by the clock.
#
# Rows go to DIR/rows.tsv (--keep DIR; a temporary directory otherwise); with --keep, a
# task, seed and set already in rows.tsv is skipped, so runs with more seeds or sets add
# to the same table, which is printed over every row.
#   Benchmarks/defaults/run.sh [--seeds 1..10 | --seeds 1,2,3] [--tasks two-moons,gaussian-linear,ltu-toy]
#                              [--sets maf,nsf,maf+nsf,2nsf,2maf+2nsf] [--reference-samples N] [--per-set] [--keep DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."

seeds="1..10" tasks="two-moons,gaussian-linear,ltu-toy" sets="maf,nsf,maf+nsf,2nsf,2maf+2nsf"
keep="" per_set=0 reference_samples=10000 test_count=200 simulations=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --seeds) seeds="$2"; shift 2 ;;
        --tasks) tasks="$2"; shift 2 ;;
        --sets) sets="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        --reference-samples) reference_samples="$2"; shift 2 ;;
        --per-set) per_set=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ "$seeds" =~ ^([0-9]+)\.\.([0-9]+)$ ]]; then
    seeds="$(seq -s, "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")"
elif ! [[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
    echo "--seeds takes FIRST..LAST or a comma-separated list, got '$seeds'" >&2; exit 2
fi

# The estimators of each set, and its members in the shared run [maf, maf, nsf, nsf].
estimators_of() {
    case "$1" in
        maf) echo "[{model: maf}]" ;;
        nsf) echo "[{model: nsf}]" ;;
        maf+nsf) echo "[{model: maf}, {model: nsf}]" ;;
        2nsf) echo "[{model: nsf, repeats: 2}]" ;;
        2maf+2nsf) echo "[{model: maf, repeats: 2}, {model: nsf, repeats: 2}]" ;;
        *) echo "unknown set '$1' (sets: maf, nsf, maf+nsf, 2nsf, 2maf+2nsf)" >&2; exit 2 ;;
    esac
}
shared_members_of() {
    case "$1" in
        maf) echo 0 ;; nsf) echo 2 ;; maf+nsf) echo 0,2 ;; 2nsf) echo 2,3 ;; 2maf+2nsf) echo 0,1,2,3 ;;
    esac
}
prior_of() {
    case "$1" in
        two-moons) echo "uniform: {low: [-1, -1], high: [1, 1]}" ;;
        # GaussianLinear(): θ ~ N(0, 0.1 I) in 10 dimensions.
        gaussian-linear) python3 -c 'print("normal: {mean: [%s], std: [%s]}" % (", ".join(["0"] * 10), ", ".join(["%.17g" % 0.1 ** 0.5] * 10)))' ;;
        ltu-toy) echo "uniform: {low: [0, 0, 0], high: [1, 1, 1]}" ;;
        *) echo "unknown task '$1' (tasks: two-moons, gaussian-linear, ltu-toy)" >&2; exit 2 ;;
    esac
}
for candidate in ${sets//,/ }; do estimators_of "$candidate" >/dev/null; done
for t in ${tasks//,/ }; do prior_of "$t" >/dev/null; done

nice swift build -c release --product ili >/dev/null
nice swift build -c release --product ili-bench >/dev/null
bin="$(swift build -c release --show-bin-path)"
ili="$bin/ili" bench="$bin/ili-bench"
export ILI_THREADS="${ILI_THREADS:-1}" OPENBLAS_NUM_THREADS=1

root="$(mktemp -d /tmp/ili-defaults-bench.XXXXXX)"
if [ -n "$keep" ]; then mkdir -p "$keep"; rm -rf "$root"; root="$(cd "$keep" && pwd)"; else trap 'rm -rf "$root"' EXIT; fi
rows="$root/rows.tsv"
touch "$rows"
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start; ILI_THREADS=$ILI_THREADS; seeds $seeds; rows in $rows" >&2

now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.1f", a-b}'; }
done_already() { awk -F'\t' -v t="$1" -v s="$2" -v e="$3" '$1==t && $2==s && $3==e {f=1} END{exit !f}' "$rows"; }

# train CONFIG_DIR ESTIMATORS PRIOR SEED OUT: one `ili train` of NPE on the seed's data.
train() {
    cat >"$1/$5.yaml" <<YAML
prior:
  $3
data: {theta: data/theta.npy, x: data/x.npy}
inference:
  method: npe
  estimators: $2
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $4
out: $5
YAML
    rm -rf "${1:?}/$5"
    nice -n 15 "$ili" train "$1/$5.yaml" --quiet >"$1/$5-train.txt"
}

# Writes the posterior directory of a subset of the shared run's members, weighted as
# `ili train` weights an ensemble (softmax of the best validation log-probability).
assemble() {
    python3 - "$1" "$2" "$3" <<'PY'
import json, math, os, shutil, sys
source, members, out = sys.argv[1], [int(k) for k in sys.argv[2].split(",")], sys.argv[3]
posterior = json.load(open(os.path.join(source, "posterior.json")))
training = json.load(open(os.path.join(source, "training.json")))
scores = {m["index"]: m["summary"]["bestValidationScore"] for m in training["members"]}
top = max(scores[k] for k in members)
weights = [math.exp(scores[k] - top) for k in members]
weights = [w / sum(weights) for w in weights]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.join(out, "members"))
by_index = {m["index"]: m for m in posterior["members"]}
chosen = []
for new, (k, w) in enumerate(zip(members, weights)):
    m = dict(by_index[k], index=new, weight=w, weights="members/%d.safetensors" % new)
    shutil.copyfile(os.path.join(source, by_index[k]["weights"]), os.path.join(out, m["weights"]))
    chosen.append(m)
posterior["members"] = chosen
record = {m["index"]: m for m in training["members"]}
training["members"] = [dict(record[k], index=new, ensembleMember=new) for new, k in enumerate(members)]
for name, doc in (("posterior.json", posterior), ("training.json", training)):
    with open(os.path.join(out, name), "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
print("%.1f" % sum(record[k]["summary"]["seconds"] for k in members))
PY
}

for seed in ${seeds//,/ }; do
    for task in ${tasks//,/ }; do
        todo=()
        for candidate in ${sets//,/ }; do done_already "$task" "$seed" "$candidate" || todo+=("$candidate"); done
        [ ${#todo[@]} -eq 0 ] && continue
        work="$root/$task/seed-$seed"
        mkdir -p "$work/data" "$work/test" "$work/observation"
        prior="$(prior_of "$task")"
        if [ ! -f "$work/test/x.npy" ]; then
            nice -n 15 "$bench" task-data "$task" --count 1 --seed $((2000 + seed)) --out "$work/observation" --reference-samples 1 >/dev/null
            obs="$(python3 -c 'import numpy as np, sys; print(",".join(repr(float(v)) for v in np.load(sys.argv[1])[0]))' "$work/observation/x.npy")"
            nice -n 15 "$bench" task-data "$task" --count "$simulations" --seed "$seed" --out "$work/data" \
                --observations="$obs" --reference-samples "$reference_samples" >/dev/null
            nice -n 15 "$bench" task-data "$task" --count "$test_count" --seed $((1000 + seed)) --out "$work/test" >/dev/null
        fi
        if [ "$per_set" = 0 ] && [ ! -f "$work/shared/posterior.json" ]; then
            start=$(now)
            train "$work" "$(estimators_of 2maf+2nsf)" "$prior" "$seed" shared
            echo "$task seed $seed: trained maf, maf, nsf, nsf in $(since "$start") s" >&2
        fi
        for candidate in "${todo[@]}"; do
            if [ "$per_set" = 0 ]; then
                train_s="$(assemble "$work/shared" "$(shared_members_of "$candidate")" "$work/$candidate")"
            else
                start=$(now)
                train "$work" "$(estimators_of "$candidate")" "$prior" "$seed" "$candidate"
                train_s="$(since "$start")"
            fi
            start=$(now)
            status=0
            nice -n 15 "$ili" validate --posterior "$work/$candidate" --theta "$work/test/theta.npy" --x "$work/test/x.npy" \
                --reference "$work/data/reference_1.npy" --observation "$work/data/obs_1.npy" --seed "$seed" --quiet \
                >"$work/$candidate-validate.txt" || status=$?
            validate_s="$(since "$start")"
            if [ "$status" != 0 ] && [ "$status" != 2 ]; then
                echo "ili validate failed (exit $status) for $task seed $seed set $candidate; see $work/$candidate-validate.txt" >&2; exit 1
            fi
            python3 - "$work/$candidate/validation.json" "$task" "$seed" "$candidate" "$status" "$train_s" "$validate_s" >>"$rows" <<'PY'
import json, sys
path, task, seed, name, status, train_s, validate_s = sys.argv[1:]
report = json.load(open(path))
verdict = report["verdict"]
assert verdict["passed"] == (status == "0"), "the exit status and validation.json disagree"
checks = verdict["checks"]
calibrated = all(c["passed"] for c in checks if c["name"] != "c2st")
failed = ",".join("%s:%s" % (c["name"], c.get("direction", "-")) for c in checks if not c["passed"]) or "-"
print("\t".join([task, seed, name, "1" if verdict["passed"] else "0", "1" if calibrated else "0", failed,
                 "%.4f" % report["reference"]["c2stAccuracy"], train_s, validate_s]))
PY
            tail -1 "$rows" | tr '\t' ' ' >&2
        done
    done
done

echo "NPE at 10,000 simulations, sbi's training settings; 200 test points, C2ST on $reference_samples reference samples;" \
     "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"
python3 - "$rows" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
order = ["maf", "nsf", "maf+nsf", "2nsf", "2maf+2nsf"]
def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
head = "%-16s %-10s %5s %9s %10s %15s %10s  %s" % ("task", "set", "seeds", "verdict", "calibrated", "C2ST mean ± sd",
                                                 "train (s)", "failed checks (count)")
print(head)
print("-" * len(head))
summary = {}
for task in dict.fromkeys(r[0] for r in rows):
    for name in sorted({r[2] for r in rows if r[0] == task}, key=lambda s: order.index(s) if s in order else 99):
        rs = [r for r in rows if r[0] == task and r[2] == name]
        c2st = mean_sd([float(r[6]) for r in rs])
        failures = {}
        for r in rs:
            for f in r[5].split(","):
                if f != "-": failures[f] = failures.get(f, 0) + 1
        summary[(task, name)] = {r[1]: (int(r[3]), float(r[6])) for r in rs}
        print("%-16s %-10s %5d %6d/%-2d %7d/%-2d %7.3f ± %.3f %10.1f  %s" % (
            task, name, len(rs), sum(int(r[3]) for r in rs), len(rs), sum(int(r[4]) for r in rs), len(rs),
            c2st[0], c2st[1], statistics.mean(float(r[7]) for r in rs),
            " ".join("%s %d" % kv for kv in sorted(failures.items())) or "-"))
print()
print("target: the verdict passes on at least 90% of seeds; mean C2ST at most 0.02 above the best single")
print("estimator's (the lower of maf's and nsf's mean C2ST over the same seeds)")
for name in order:
    tasks = [t for (t, n) in summary if n == name]
    if not tasks: continue
    verdicts = []
    for t in tasks:
        runs = summary[(t, name)]
        passed = sum(v[0] for v in runs.values())
        c2st = statistics.mean(v[1] for v in runs.values())
        singles = [summary[(t, s)] for s in ("maf", "nsf") if (t, s) in summary]
        shared = [seed for seed in runs if all(seed in single for single in singles)]
        if singles and shared:
            best = min(statistics.mean(single[seed][1] for seed in shared) for single in singles)
            gap = statistics.mean(runs[seed][1] for seed in shared) - best
        else:
            gap = float("nan")
        ok = passed >= 0.9 * len(runs) and gap <= 0.02
        verdicts.append("%s %d/%d, C2ST %+.3f %s" % (t, passed, len(runs), gap, "meets" if ok else "MISSES"))
    print("%-10s %s" % (name, "; ".join(verdicts)))
PY
