"""Summarises Benchmarks/sequential/run.sh's rows: per tool and method, the mean ± sd of the
wall time and of C2ST at each observation, ili's share of time in the registry, and the
speed-up of ili over sbi (ratio of summed times)."""
import collections, statistics, sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
by = collections.defaultdict(list)
for impl, method, seed, obs, seconds, c2st, registry in rows:
    by[(impl, method)].append((int(obs), float(seconds), float(c2st), float(registry)))


def ms(values):
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


print("| tool | method | runs | wall time (s) | C2ST obs 1 | C2ST obs 2 | registry share |")
print("|---|---|---|---|---|---|---|")
for (impl, method), v in sorted(by.items()):
    times = [s for _, s, _, _ in v]
    c1 = [c for o, _, c, _ in v if o == 1] or [float("nan")]
    c2 = [c for o, _, c, _ in v if o == 2] or [float("nan")]
    share = [r / s for _, s, _, r in v if r == r]
    print(f"| {impl} | {method} | {len(v)} | {ms(times)} | {ms(c1)} | {ms(c2)} | {ms(share) if share else '-'} |")
for method in sorted({m for _, m in by}):
    if ("ili", method) in by and ("sbi", method) in by:
        ratio = sum(s for _, s, _, _ in by[("sbi", method)]) / sum(s for _, s, _, _ in by[("ili", method)])
        print(f"\n{method}: ili is {ratio:.1f}x faster end to end than sbi (summed wall time)")
