#!/usr/bin/env bash
# Fleet benchmarks (see README "The fleet"): pairs per second committed end to end (θ 5
# floats, x 10 floats, tasks of 100 θ) with 4 worker processes over tcp loopback, CURVE on
# and off, into a throwaway PostgreSQL and a SQLite file; task round-trip latency at low
# load; a coordinator with 500 connected workers; a registry of 10 million pairs.
# Targets: ≥ 50,000 pairs/s into PostgreSQL with CURVE on; p99 round trip < 10 ms.
#   Benchmarks/fleet/run.sh [--quick]     (--quick: smaller counts, for a smoke run)
set -euo pipefail
cd "$(dirname "$0")/../.."

pairs=500000; scale=10000000; swarm_tasks=500000; repeats=3
if [ "${1:-}" = "--quick" ]; then pairs=50000; scale=200000; swarm_tasks=50000; repeats=1; fi

swift build -c release --product ili-bench >/dev/null
bench="$(swift build -c release --show-bin-path)/ili-bench"

eval "$(ops/pg-throwaway)"
scratch="$(mktemp -d /tmp/ili-fleet-bench.XXXXXX)"
trap 'ops/pg-throwaway stop "$ILI_PG_DIR"; rm -rf "$scratch"' EXIT
pg="$ILI_TEST_DATABASE_URL"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== end-to-end throughput: 4 worker processes, tcp loopback, $pairs pairs per run, $repeats runs each"
for registry in "$pg" "sqlite:$scratch/throughput.db"; do
    for curve in --curve ""; do
        for _ in $(seq "$repeats"); do "$bench" fleet throughput --registry "$registry" --workers 4 --pairs "$pairs" $curve; done
    done
done
echo "== round trip of one 100-task batch at low load (1 worker), dispatch → result → commit"
for registry in "$pg" "sqlite:$scratch/latency.db"; do
    "$bench" fleet latency --registry "$registry" --curve
done
echo "== 500 workers on one coordinator (one client process drives them all)"
"$bench" fleet swarm --workers 500 --tasks "$swarm_tasks"
"$bench" fleet swarm --workers 100 --tasks "$swarm_tasks"
echo "== a registry of $scale pairs in 10 rounds: ingest, a trainer's read, a coordinator's resume"
"$bench" fleet registry-scale --registry "$pg" --pairs "$scale"
"$bench" fleet registry-scale --registry "sqlite:$scratch/scale.db" --pairs "$scale"
