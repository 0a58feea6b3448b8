"""Prints the NLE/NRE benchmark table from run.sh's results (one JSON object a line) and,
per method with both sides, the sbi / ili ratios of training time, training time per
epoch and sampling time; with several seeds, each side's mean ± sd over the seeds.
    table.py results.jsonl 1,2"""
import json, statistics, sys


def mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(values, digits):
    m, s = mean_sd(values)
    return "-" if m is None else "%.*f ± %.*f" % (digits, m, digits, s)


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    obs = sys.argv[2].split(",") if len(sys.argv) > 2 else ["1"]
    head = ("%-6s | %4s | %-10s | %9s | %6s | %7s | %13s | %s | %s"
            % ("method", "seed", "impl", "train (s)", "epochs", "s/epoch", "best val", " | ".join(
                "sample 10k obs%s (s)" % k for k in obs), " | ".join("C2ST obs%s" % k for k in obs)))
    print(head)
    print("-" * len(head))
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
        if "error" in r:
            print("%-6s | %4s | %-10s | %s" % (r["method"], r.get("seed", "-"), r["impl"][:10], r["error"]))
            continue
        best = r.get("best_validation_score")
        epochs = r.get("epochs")
        per_epoch = "%7.3f" % (r["train_seconds"] / epochs) if epochs else "      -"
        samples = " | ".join("%19.2f" % s for s in r["sample_seconds"])
        c2sts = " | ".join("%9s" % ("-" if c is None else "%.3f" % c) for c in r["c2st"])
        print("%-6s | %4s | %-10s | %9.1f | %6s | %s | %13s | %s | %s" % (
            r["method"], r.get("seed", "-"), r["impl"][:10], r["train_seconds"], epochs, per_epoch,
            "-" if best is None else "%.4f" % best, samples, c2sts))

    seeds = sorted({r.get("seed") for r in rows})
    for m in methods:
        ili = [r for r in rows if r["method"] == m and r["impl"] == "ili" and "error" not in r]
        sbi = [r for r in rows if r["method"] == m and r["impl"].startswith("sbi") and "error" not in r]
        if len(seeds) > 1:
            print()
            print("%s over %d seeds (mean ± sd):" % (m.upper(), len(seeds)))
            for name, side in (("ili", ili), ("sbi", sbi)):
                if not side:
                    continue
                print("  %-4s train %s s, %s epochs, %s s/epoch, sample obs1 %s s, C2ST %s" % (
                    name, fmt([r["train_seconds"] for r in side], 1), fmt([r.get("epochs") for r in side], 0),
                    fmt([r["train_seconds"] / r["epochs"] for r in side if r.get("epochs")], 3),
                    fmt([r["sample_seconds"][0] for r in side], 2),
                    " / ".join(fmt([r["c2st"][i] for r in side], 3) for i in range(len(obs)))))
        if ili and sbi:
            def total(side, key):
                return sum(r[key] for r in side)
            per_epoch_ili = total(ili, "train_seconds") / sum(r["epochs"] for r in ili)
            per_epoch_sbi = total(sbi, "train_seconds") / sum(r["epochs"] for r in sbi)
            ratios = ", ".join("obs%s %.1fx" % (k, sum(r["sample_seconds"][i] for r in sbi)
                                                / sum(r["sample_seconds"][i] for r in ili))
                               for i, k in enumerate(obs))
            print("%s: sbi / ili training %.1fx (target >= 5x; per epoch %.1fx), sampling %s (target >= 10x)"
                  % (m.upper(), total(sbi, "train_seconds") / total(ili, "train_seconds"),
                     per_epoch_sbi / per_epoch_ili, ratios))
    print("best val: mean validation score, higher is better (sbi: minus its best validation "
          "loss; NLE: log-likelihood, NRE-B: minus the 10-atom cross-entropy)")


if __name__ == "__main__":
    main()
