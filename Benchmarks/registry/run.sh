#!/usr/bin/env bash
# Registry ingest benchmark: (θ, x) pairs with θ of 5 floats and x of 10 floats, appended
# in batches of 1,000 (one transaction each), into a throwaway PostgreSQL on loopback and
# into a SQLite file in WAL mode; then all 100,000 pairs read back as training data.
# Targets: ≥ 50,000 pairs/s into PostgreSQL, ≥ 100,000 pairs/s into SQLite.
#   Benchmarks/registry/run.sh [--pairs N] [--repeats N]   (extra options go to `ili registry bench`)
set -euo pipefail
cd "$(dirname "$0")/../.."

swift build -c release --product ili >/dev/null
ili="$(swift build -c release --show-bin-path)/ili"

eval "$(ops/pg-throwaway)"
scratch="$(mktemp -d /tmp/ili-registry-bench.XXXXXX)"
trap 'ops/pg-throwaway stop "$ILI_PG_DIR"; rm -rf "$scratch"' EXIT

echo "== machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== PostgreSQL $(psql --version | awk '{print $3}') on loopback (throwaway cluster: fsync=off, synchronous_commit=off)"
"$ili" registry bench --registry "$ILI_TEST_DATABASE_URL" --pairs 100000 --batch 1000 --theta 5 --x 10 "$@"
echo "== SQLite $("$ili" doctor | awk '/^SQLite/ {print $2}') file in WAL mode, synchronous=NORMAL ($scratch)"
"$ili" registry bench --registry "sqlite:$scratch/registry.db" --pairs 100000 --batch 1000 --theta 5 --x 10 "$@"
