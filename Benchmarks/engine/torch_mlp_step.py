"""The PyTorch side of the MLP training-step benchmark; prints one JSON line."""
import argparse, json, time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--widths", default="12,50,50,4")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sizes = [int(w) for w in a.widths.split(",")]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    x = torch.randn(a.batch, sizes[0])
    y = torch.randn(a.batch, sizes[-1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter_ns()
        loss = step()
        times.append((time.perf_counter_ns() - t0) / 1e6)
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    print(json.dumps({"name": "mlp-step", "impl": "torch " + torch.__version__, "threads": a.threads,
                      "batch": a.batch, "median_ms": median, "steps": a.steps, "final_loss": float(loss.detach())}))


if __name__ == "__main__":
    main()
