"""Formats the JSON lines of `ili-bench nets-step` and `peer.py` as a Markdown table."""
import json
import sys


def main(path):
    rows = {}
    torch_version = ""
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        key = (r["model"], r["features"], r["context"])
        rows.setdefault(key, {})[r["impl"]] = r
        torch_version = r.get("torch", torch_version)
    print(f"| model | θ dim | x dim | batch | ili ms/step | PyTorch {torch_version} ms/step | speed-up | parameters (ili / sbi) |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, features, context), impls in rows.items():
        ili, peer = impls.get("ili"), impls.get("pytorch")
        ili_ms = f"{ili['median_ms']:.3f}" if ili else "—"
        peer_ms = f"{peer['median_ms']:.3f}" if peer else "—"
        ratio = f"{peer['median_ms'] / ili['median_ms']:.1f}x" if ili and peer else "—"
        params = f"{ili['parameters'] if ili else '—'} / {peer['parameters'] if peer else '—'}"
        batch = (ili or peer)["batch"]
        print(f"| {model.upper()} | {features} | {context} | {batch} | {ili_ms} | {peer_ms} | {ratio} | {params} |")


if __name__ == "__main__":
    main(sys.argv[1])
