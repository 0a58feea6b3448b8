"""The table of Benchmarks/sbibm/run.sh: one row per task, budget, method and side, with
training time, epochs, sampling time per observation, C2ST per observation and their mean;
the sbi row ends with the training-time ratio sbi / ili. Several seeds are averaged.

    table.py results.jsonl 1,2,3"""
import json, statistics, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
observations = sys.argv[2].split(",")
errors = [r for r in rows if "error" in r]
rows = [r for r in rows if "error" not in r]

c2st_head = "C2ST obs " + "/".join(observations)
head = "%-14s | %6s | %-11s | %-4s | %5s | %9s | %6s | %12s | %-*s | %9s | %8s" % (
    "task", "budget", "method", "side", "seeds", "train (s)", "epochs", "sample (s)",
    max(len(c2st_head), 6 * len(observations)), c2st_head, "mean C2ST", "time sbi/ili")
print(head)
print("-" * len(head))


def mean(values):
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else float("nan")


keys = list(dict.fromkeys((r["task"], r["budget"], r["method"]) for r in rows))
for task, budget, method in keys:
    train = {}
    for impl in ("ili", "sbi"):
        rs = [r for r in rows if (r["task"], r["budget"], r["method"]) == (task, budget, method)
              and r["impl"].startswith(impl)]
        if not rs:
            continue
        train[impl] = mean(r["train_seconds"] for r in rs)
        epochs = mean(r["epochs"] for r in rs)
        sample = mean(mean(r["sample_seconds"]) for r in rs)
        c2st = [mean(r["c2st"][k] for r in rs) for k in range(len(observations))]
        ratio = "%.1fx" % (train["sbi"] / train["ili"]) if impl == "sbi" and "ili" in train else ""
        print("%-14s | %6d | %-11s | %-4s | %5d | %9.1f | %6.0f | %12.2f | %-*s | %9.3f | %8s" % (
            task, budget, method, impl, len(rs), train[impl], epochs, sample,
            max(len(c2st_head), 6 * len(observations)), " / ".join("%.3f" % c for c in c2st), mean(c2st), ratio))
for e in errors:
    print("FAILED %s %s %s %s seed %s: %s" % (e.get("task"), e.get("budget"), e.get("method"), e.get("impl"),
                                             e.get("seed"), e.get("error")))
