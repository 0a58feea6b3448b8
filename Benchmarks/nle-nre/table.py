"""Prints the NLE/NRE benchmark table from run.sh's results (one JSON object a line) and,
per method with both sides, the sbi / ili ratios of training and sampling time.
    table.py results.jsonl 1,2"""
import json, sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    obs = sys.argv[2].split(",") if len(sys.argv) > 2 else ["1"]
    head = ("%-6s | %-10s | %9s | %6s | %13s | %s | %s"
            % ("method", "impl", "train (s)", "epochs", "best val", " | ".join(
                "sample 10k obs%s (s)" % k for k in obs), " | ".join("C2ST obs%s" % k for k in obs)))
    print(head)
    print("-" * len(head))
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
        if "error" in r:
            print("%-6s | %-10s | %s" % (r["method"], r["impl"][:10], r["error"]))
            continue
        best = r.get("best_validation_score")
        samples = " | ".join("%19.2f" % s for s in r["sample_seconds"])
        c2sts = " | ".join("%9s" % ("-" if c is None else "%.3f" % c) for c in r["c2st"])
        print("%-6s | %-10s | %9.1f | %6s | %13s | %s | %s" % (
            r["method"], r["impl"][:10], r["train_seconds"], r.get("epochs"),
            "-" if best is None else "%.4f" % best, samples, c2sts))
    for m in methods:
        ili = [r for r in rows if r["method"] == m and r["impl"] == "ili" and "error" not in r]
        sbi = [r for r in rows if r["method"] == m and r["impl"].startswith("sbi") and "error" not in r]
        if ili and sbi:
            i, s = ili[0], sbi[0]
            ratios = ", ".join("obs%s %.1fx" % (k, b / a) for k, a, b in
                               zip(obs, i["sample_seconds"], s["sample_seconds"]))
            print("%s: sbi / ili training %.1fx (target >= 5x), sampling %s (target >= 10x)"
                  % (m.upper(), s["train_seconds"] / i["train_seconds"], ratios))
    print("best val: mean validation score, higher is better (sbi: minus its best validation "
          "loss; NLE: log-likelihood, NRE-B: minus the 10-atom cross-entropy)")


if __name__ == "__main__":
    main()
