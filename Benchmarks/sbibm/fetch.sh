#!/usr/bin/env bash
# Downloads the SBI benchmark's package (sbibm 1.1.0, its wheel from PyPI) into a cache
# directory and extracts the Lotka–Volterra and SIR tasks' files: for each observation
# N = 1…10, observation.csv, true_parameters.csv and reference_posterior_samples.csv
# (10,000 reference posterior draws, decompressed from the shipped .csv.bz2).
#
#   Benchmarks/sbibm/fetch.sh [--cache DIR]     # default Benchmarks/out/sbibm
#
# Prints the directory holding <task>/num_observation_N/ on its last line. Runs once: a
# second call finds the files and downloads nothing. The data stay out of git.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=Benchmarks/out/sbibm
while [ $# -gt 0 ]; do
    case "$1" in
        --cache) cache="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

version=1.1.0
wheel="sbibm-$version-py2.py3-none-any.whl"
# The SHA-256 of the wheel PyPI served when this script was written: a changed file fails loudly.
sha256=12ecc6b4d327b92f9225f08faa6405e4274fb8e75943d86a53157d1b1bcfaf74
files="$cache/files"
mkdir -p "$cache"

if [ -f "$files/.complete-$version" ]; then
    echo "$(cd "$files" && pwd)"
    exit 0
fi

if [ ! -f "$cache/$wheel" ]; then
    echo "fetch: downloading $wheel from PyPI" >&2
    # Any pip will do: the benchmarks' venv when it exists, else the system's.
    python=python3
    [ -x Benchmarks/.venv/bin/python ] && python=Benchmarks/.venv/bin/python
    "$python" -m pip download --quiet --no-deps --only-binary=:all: "sbibm==$version" -d "$cache" >&2
fi
echo "$sha256  $cache/$wheel" | sha256sum --check --quiet - || {
    echo "fetch: $cache/$wheel does not have the expected SHA-256; delete it and retry" >&2
    exit 1
}

python3 - "$cache/$wheel" "$files" <<'PY'
import bz2, os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
count = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        parts = name.split("/")
        # sbibm/tasks/<task>/files/num_observation_N/<file>
        if len(parts) != 6 or parts[:2] != ["sbibm", "tasks"] or parts[2] not in ("lotka_volterra", "sir") or parts[3] != "files":
            continue
        target = os.path.join(out, parts[2], parts[4], parts[5])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        data = z.read(name)
        if target.endswith(".bz2"):
            data, target = bz2.decompress(data), target[:-4]
        with open(target, "wb") as f:
            f.write(data)
        count += 1
print(f"fetch: extracted {count} files", file=sys.stderr)
PY
touch "$files/.complete-$version"
echo "$(cd "$files" && pwd)"
