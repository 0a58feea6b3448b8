#!/usr/bin/env bash
# The calibration gate's error rates: how often `ili validate`'s verdict fails an exactly
# calibrated posterior (false alarms) and how often it catches miscalibrated ones (power).
# Test sets come from the Gaussian-linear task (default 10 parameters); each is judged for
# the exact posterior, its variance ×0.5 (over-confident) and ×2 (under-confident), and its
# mean shifted by half a posterior standard deviation. Test set k uses seed first + k, the
# same (θ, x) in every case. Prints one row per case: each check's rejection rate and the
# verdict's, and how often the verdict named the right direction.
#   Benchmarks/gate/run.sh [--seeds N] [--test-points N] [--samples L] [--dimension D] [--first-seed S]
#   (extra options go to `ili-bench gate`; --json gives one line per case)
set -euo pipefail
cd "$(dirname "$0")/../.."

nice swift build -c release --product ili-bench >/dev/null
bench="$(swift build -c release --show-bin-path)/ili-bench"

echo "== machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
OPENBLAS_NUM_THREADS=1 nice "$bench" gate "$@"
