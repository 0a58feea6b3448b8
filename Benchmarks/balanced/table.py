"""The table of Benchmarks/balanced/run.sh: means ± sd over seeds of each task, budget and
method, from one or more results.jsonl files, then every run as recorded.
    python3 Benchmarks/balanced/table.py results.jsonl [more.jsonl ...]
"""
import json, statistics, sys
rows = [json.loads(line) for path in sys.argv[1:] for line in open(path) if line.strip()]
def fmt(values, digits):
    values = [v for v in values if v is not None]
    if not values: return "—"
    if len(values) == 1: return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"
print("| task | simulations | method | train (s) | epochs | C2ST | verdicts passed | HPD cov. − nominal at 70% / 95% / mean | TARP area | log q(θ* \\| x) |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
keys = sorted({(r["task"], r["count"], r["method"]) for r in rows}, key=lambda k: (k[0], k[1], ["npe", "bnpe", "nre-b", "bnre"].index(k[2])))
for task, count, method in keys:
    group = [r for r in rows if (r["task"], r["count"], r["method"]) == (task, count, method) and "error" not in r]
    errors = sum(1 for r in rows if (r["task"], r["count"], r["method"]) == (task, count, method) and "error" in r)
    if not group:
        print(f"| {task} | {count:,} | {method} | failed ({errors}) | | | | | | |"); continue
    passed = sum(r["passed"] for r in group)
    directions = sorted({r["direction"] for r in group if not r["passed"] and r["direction"]})
    verdict = f"{passed}/{len(group)}" + (f" (failed: {', '.join(directions)})" if directions else "")
    print(f"| {task} | {count:,} | {method} | {fmt([r['train_seconds'] for r in group], 1)} | {fmt([r['epochs'] for r in group], 0)} "
          f"| {fmt([r['c2st'] for r in group], 3)} | {verdict} "
          f"| {fmt([r['hpd70'] for r in group], 3)} / {fmt([r['hpd95'] for r in group], 3)} / {fmt([r['hpd_mean'] for r in group], 3)} "
          f"| {fmt([r['tarp_area'] for r in group], 3)} | {fmt([r['log_prob_truth'] for r in group], 2)} |"
          + (f" ({errors} failed)" if errors else ""))
print()
for r in rows:
    print(json.dumps(r))
