"""Parity of ili's MAF with sbi's on the same weights.

Builds sbi's MAF (posterior_nn("maf", 50 hidden, 5 transforms)) on the given θ/x, copies
its weights, z-scoring and permutations into ili's layout (model.safetensors and
config.json in --out/model), and writes the first --batch rows. Then, after
`ili-bench flow-parity` has run on that model, `--compare` prints the largest
differences of per-row log-probs, of the gradient of the mean loss, and of the weights
after a clipped Adam step, each next to the size of what is compared.

    python parity.py --theta theta.npy --x x.npy --out DIR            # writes DIR/model, DIR/batch_*.npy
    ili-bench flow-parity --model DIR/model --theta DIR/batch_theta.npy --x DIR/batch_x.npy --out DIR/ili
    python parity.py --theta theta.npy --x x.npy --out DIR --compare  # sbi's side and the table

With `flow-parity --init-out DIR/init` and `--compare --ili-init DIR/init`, also prints
the spread and range of fresh initial weights of both, pooled over the steps.
"""
import argparse, json, os

import numpy as np
import torch
from safetensors.numpy import load_file, save_file


def sbi_maf(theta, x, seed, hidden=50, transforms=5):
    torch.manual_seed(seed)
    from sbi.neural_nets import posterior_nn
    return posterior_nn(model="maf", hidden_features=hidden, num_transforms=transforms)(theta, x).net


def ili_names(flow):
    """(ili name, torch tensor, row permutation or None) for every parameter."""
    made_steps = [t for t in flow._transform._transforms if type(t).__name__ == "MaskedAffineAutoregressiveTransform"]
    out = []
    for k, t in enumerate(made_steps):
        made = t.autoregressive_net
        p = f"steps.{k}.made"
        out += [(f"{p}.input.weight", made.initial_layer.weight, None), (f"{p}.input.bias", made.initial_layer.bias, None),
                (f"{p}.context.weight", made.context_layer.weight, None), (f"{p}.context.bias", made.context_layer.bias, None)]
        for b, block in enumerate(made.blocks):
            out += [(f"{p}.block{b}.weight", block.linear.weight, None), (f"{p}.block{b}.bias", block.linear.bias, None)]
        d = t.features
        # nflows' output unit 2i + k is parameter k of feature i; ili's column k·D + i.
        order = [2 * i + k for k in range(2) for i in range(d)]
        out += [(f"{p}.output.weight", made.final_layer.weight, order), (f"{p}.output.bias", made.final_layer.bias, order)]
    return out


def masks(flow):
    made_steps = [t for t in flow._transform._transforms if type(t).__name__ == "MaskedAffineAutoregressiveTransform"]
    out = {}
    for k, t in enumerate(made_steps):
        made = t.autoregressive_net
        out[f"steps.{k}.made.input.weight"] = made.initial_layer.mask
        for b, block in enumerate(made.blocks):
            out[f"steps.{k}.made.block{b}.weight"] = block.linear.mask
        out[f"steps.{k}.made.output.weight"] = made.final_layer.mask
    return out


def to_ili(t, order):
    a = t.detach().numpy().astype(np.float32)
    if order is not None:
        a = a[order]
    return np.ascontiguousarray(a.reshape(1, -1) if a.ndim == 1 else a)


def ili_state(flow):
    """ili's tensors (parameters and z-scoring) and permutations of an sbi MAF."""
    tensors = {n: to_ili(t, o) for n, t, o in ili_names(flow)}
    ts = flow._transform._transforms[0]
    std = 1 / ts._scale.detach().numpy()
    tensors["standardization.features.std"] = std.reshape(1, -1).astype(np.float32)
    tensors["standardization.features.mean"] = (-ts._shift.detach().numpy() * std).reshape(1, -1).astype(np.float32)
    zx = flow._embedding_net[0]
    tensors["standardization.context.mean"] = zx._mean.numpy().reshape(1, -1).astype(np.float32)
    tensors["standardization.context.std"] = zx._std.numpy().reshape(1, -1).astype(np.float32)
    perms = [m._permutation.tolist() for m in flow._transform._transforms if type(m).__name__ == "RandomPermutation"]
    return tensors, perms


def fixture(path):
    """A small sbi MAF (3 features, 2 context values, 6 hidden, 3 transforms) with trained-away
    weights, a batch, its log-probs and the gradient of the mean loss, as JSON for
    Tests/ILINetsTests/NflowsParityTests.swift."""
    torch.manual_seed(0)
    theta = torch.randn(300, 3) * torch.tensor([0.5, 2.0, 1.0]) + torch.tensor([1.0, -1.0, 0.0])
    x = torch.randn(300, 2) * 3 + theta[:, :2]
    flow = sbi_maf(theta, x, 0, hidden=6, transforms=3)
    with torch.no_grad():   # away from the initialisation, so every weight matters
        for t in flow.parameters():
            t.add_(0.3 * torch.randn_like(t))
        perms = [m for m in flow._transform._transforms if type(m).__name__ == "RandomPermutation"]
        for m, order in zip(perms, [[2, 0, 1], [1, 2, 0], [0, 2, 1]]):
            m._permutation.copy_(torch.tensor(order))
    tb, xb = theta[:5], x[:5]
    lp = flow.log_prob(tb, context=xb)
    (-lp.mean()).backward()
    tensors, perms = ili_state(flow)
    as_list = lambda a: [float("%.9g" % v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]
    out = {"permutations": perms,
           "tensors": {n: {"rows": a.shape[0], "cols": a.shape[1], "values": as_list(a)} for n, a in sorted(tensors.items())},
           "theta": as_list(tb), "x": as_list(xb), "logProb": as_list(lp.detach()),
           "gradients": {n: as_list(to_ili(t.grad, o)) for n, t, o in ili_names(flow)}}
    c = lambda v: json.dumps(v, separators=(",", ":"))
    lines = [f'{{"permutations":{c(perms)},', f'"theta":{c(out["theta"])},', f'"x":{c(out["x"])},',
             f'"logProb":{c(out["logProb"])},']
    for key in ["tensors", "gradients"]:
        items = sorted(out[key].items())
        lines += [f'"{key}":{{'] + [f"  {c(k)}:{c(v)}" + ("," if i < len(items) - 1 else "") for i, (k, v) in enumerate(items)]
        lines += ["}," if key == "tensors" else "}}"]
    open(path, "w").write("\n".join(lines) + "\n")
    print(f"wrote {path}: permutations {perms}, log-probs {as_list(lp.detach())}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--theta")
    p.add_argument("--x")
    p.add_argument("--fixture", help="write the small MAF fixture of ili's nflows parity test to this JSON file")
    p.add_argument("--out")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--compare", action="store_true")
    p.add_argument("--ili-init", help="a model directory ili initialised, for the spread of its weights")
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.fixture:
        return fixture(a.fixture)
    theta = torch.tensor(np.load(a.theta), dtype=torch.float32)
    x = torch.tensor(np.load(a.x), dtype=torch.float32)
    flow = sbi_maf(theta, x, a.seed)
    names = ili_names(flow)
    os.makedirs(f"{a.out}/model", exist_ok=True)
    tb, xb = theta[: a.batch], x[: a.batch]

    if not a.compare:
        tensors, perms = ili_state(flow)
        config = {"kind": "maf", "featureCount": theta.shape[1], "contextCount": x.shape[1], "hiddenFeatures": 50,
                  "transformCount": 5, "blockCount": 2, "permutation": "random", "permutations": perms,
                  "zScoreFeatures": True, "zScoreContext": True, "structuredContext": False}
        save_file(tensors, f"{a.out}/model/model.safetensors", metadata={"format": "ili"})
        json.dump(config, open(f"{a.out}/model/config.json", "w"))
        np.save(f"{a.out}/batch_theta.npy", tb.numpy())
        np.save(f"{a.out}/batch_x.npy", xb.numpy())
        print(f"wrote {a.out}/model (permutations {perms}) and a batch of {a.batch}")
        return

    lp = flow.log_prob(tb, context=xb)
    loss = -lp.mean()
    loss.backward()
    ili_lp = np.load(f"{a.out}/ili/log_prob.npy").reshape(-1)
    grads = load_file(f"{a.out}/ili/grad.safetensors")
    after = load_file(f"{a.out}/ili/after.safetensors")
    print(f"mean log-prob: sbi {lp.mean().item():.6f}  ili {ili_lp.mean():.6f}")
    print(f"per-row log-prob: max |Δ| {np.abs(lp.detach().numpy() - ili_lp).max():.2e} (max |lp| {np.abs(ili_lp).max():.2f})")
    mk = masks(flow)
    worst_g = worst_rel = 0
    for n, t, o in names:
        g = to_ili(t.grad, o)
        if n in mk:   # ili's masked gradient is zero where the mask is; nflows' is too.
            pass
        d = np.abs(g - grads[n]).max()
        worst_g = max(worst_g, d)
        worst_rel = max(worst_rel, d / (np.abs(g).max() + 1e-12))
    total = np.sqrt(sum(float((t.grad ** 2).sum()) for _, t, _ in names))
    print(f"gradient of the mean loss: max |Δ| {worst_g:.2e}, max relative to the tensor's largest {worst_rel:.2e}; sbi norm {total:.4f}")
    opt = torch.optim.Adam([t for _, t, _ in names], lr=a.lr)
    torch.nn.utils.clip_grad_norm_([t for _, t, _ in names], max_norm=5.0)
    opt.step()
    for _ in range(1, a.steps):
        opt.zero_grad()
        (-flow.log_prob(tb, context=xb).mean()).backward()
        torch.nn.utils.clip_grad_norm_([t for _, t, _ in names], max_norm=5.0)
        opt.step()
    worst = max(np.abs(to_ili(t, o) - after[n]).max() for n, t, o in names)
    with torch.no_grad():
        final = flow.log_prob(tb, context=xb).mean().item()
    print(f"weights after {a.steps} clipped Adam step(s), lr {a.lr}: max |Δ| {worst:.2e}; mean log-prob then: sbi {final:.6f}")
    if a.ili_init:
        init = load_file(f"{a.ili_init}/model.safetensors")
        fresh = sbi_maf(theta, x, a.seed + 1)
        print("initial weights (unmasked entries of all steps), sbi vs ili: std, max |w|")
        pooled = {}
        for n, t, o in ili_names(fresh):
            w = to_ili(t, o)
            m = (to_ili(mk[n], o) if n in mk else np.ones_like(w)) > 0
            kind = n.split(".", 3)[3]
            pooled.setdefault(kind, ([], []))
            pooled[kind][0].append(w[m])
            pooled[kind][1].append(init[n][m])
        for kind, (sw, iw) in pooled.items():
            sw, iw = np.concatenate(sw), np.concatenate(iw)
            print(f"  {kind:16s} sbi {sw.std():.4f} {np.abs(sw).max():.4f}   ili {iw.std():.4f} {np.abs(iw).max():.4f}   (n={sw.size})")

if __name__ == "__main__":
    main()
