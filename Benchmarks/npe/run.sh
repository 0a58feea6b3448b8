#!/usr/bin/env bash
# NPE on two moons, 10,000 simulations, MAF (5 transforms, 50 hidden), sbi's training
# settings: ili vs sbi on the same θ/x files. Reports wall-clock training time, epochs,
# best validation log-prob, sampling time and C2ST against the exact posterior at the
# benchmark's observations 1 and 2 (the same C2ST code scores both).
#   Benchmarks/npe/run.sh [--seed S] [--skip-sbi]
set -euo pipefail
cd "$(dirname "$0")/../.."
source Benchmarks/lib/venv.sh

seed=1 skip_sbi=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) seed="$2"; shift 2 ;;
        --skip-sbi) skip_sbi=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

swift build -c release --product ili >/dev/null
swift build -c release --product ili-bench >/dev/null
ili=.build/release/ili bench=.build/release/ili-bench
work="$(mktemp -d /tmp/ili-npe-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# Observations 1 and 2 of the SBI benchmark's two-moons task.
"$bench" task-data two-moons --count 10000 --seed "$seed" --out "$work" \
    --observations="-0.6396706,0.16234657;-0.5676688,-0.33194834" >/dev/null

cat >"$work/run.yaml" <<YAML
prior:
  uniform: {low: [-1, -1], high: [1, 1]}
data: {theta: theta.npy, x: x.npy}
inference:
  method: npe
  estimators:
    - {model: maf, hidden_features: 50, num_transforms: 5}
train: {batch_size: 200, learning_rate: 0.0005, validation_fraction: 0.1, stop_after_epochs: 20}
seed: $seed
out: posterior
YAML

start=$(date +%s.%N)
"$ili" train "$work/run.yaml" --quiet >"$work/ili-train.txt"
ili_train=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN{print a-b}')
ili_epochs=$(python3 -c "import json;d=json.load(open('$work/posterior/training.json'));print(d['members'][0]['summary']['epochs'])")
ili_best=$(python3 -c "import json;d=json.load(open('$work/posterior/training.json'));print('%.4f'%d['members'][0]['summary']['bestValidationScore'])")
ili_sample=()
for k in 1 2; do
    s=$(date +%s.%N)
    "$ili" sample --posterior "$work/posterior" --obs "$work/obs_$k.npy" --num-samples 10000 --out "$work/ili_$k.npy" --seed $k >/dev/null
    ili_sample+=("$(awk -v a="$(date +%s.%N)" -v b="$s" 'BEGIN{print a-b}')")
done
ili_c2st=()
for k in 1 2; do
    ili_c2st+=("$("$bench" c2st --reference "$work/reference_$k.npy" --candidate "$work/ili_$k.npy" | python3 -c 'import json,sys;print("%.3f"%json.load(sys.stdin)["c2st"])')")
done

if [ "$skip_sbi" = 0 ]; then
    ensure_venv torch numpy sbi
    sbi_json=$(cd "$work" && "$PYTHON" "$OLDPWD/Benchmarks/npe/sbi_npe.py" --theta "$work/theta.npy" --x "$work/x.npy" \
        --obs "$work/obs_1.npy" "$work/obs_2.npy" --out-prefix "$work/sbi_" --seed "$seed" 2>/dev/null | tail -1)
    sbi_c2st=()
    for k in 1 2; do
        sbi_c2st+=("$("$bench" c2st --reference "$work/reference_$k.npy" --candidate "$work/sbi_$k.npy" | python3 -c 'import json,sys;print("%.3f"%json.load(sys.stdin)["c2st"])')")
    done
fi

echo "NPE, two moons, 10,000 simulations, MAF 5x50, batch 200, lr 5e-4, stop after 20; seed $seed"
printf '%-10s | %9s | %6s | %12s | %18s | %13s\n' impl "train (s)" epochs "best val lp" "sample 10k (s)" "C2ST obs1/obs2"
echo "-----------------------------------------------------------------------------------------"
printf '%-10s | %9.1f | %6s | %12s | %8.2f / %-7.2f | %5s / %-5s\n' ili "$ili_train" "$ili_epochs" "$ili_best" "${ili_sample[0]}" "${ili_sample[1]}" "${ili_c2st[0]}" "${ili_c2st[1]}"
if [ "$skip_sbi" = 0 ]; then
    python3 - "$sbi_json" "$ili_train" "${sbi_c2st[0]}" "${sbi_c2st[1]}" <<'PY'
import json, sys
text = sys.argv[1]
d = json.loads(text[text.rindex("{"):]); ili_train = float(sys.argv[2])
print("%-10s | %9.1f | %6d | %12.4f | %8.2f / %-7.2f | %5s / %-5s" % (d["impl"][:10], d["train_seconds"], d["epochs"],
      d["best_validation_log_prob"], d["sample_seconds"][0], d["sample_seconds"][1], sys.argv[3], sys.argv[4]))
print("training speed-up (sbi / ili): %.1fx" % (d["train_seconds"] / ili_train))
PY
fi
