"""Integrated Gradients side by side: Captum vs glassbox-explain (same session, same load).

Workload (both sides): MLP 64-128-64-10 (ReLU), random default init, 100 standardised rows
of data/tabular/digits.csv, target = predicted class, zero baseline, n_steps=50
(Gauss-Legendre, Captum's default), one batched call (internal_batch_size=None).
Then, unless --no-rust, runs the criterion bench `benches/explain_ig.rs` and prints the ratio.
One JSON line.

    ~/torch-venv/bin/python bench/explain_ig_compare.py [--no-rust] [--threads N]
"""
import json, os, re, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_time(fn, repeats=7):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def captum_side(threads):
    import numpy as np, torch
    from torch import nn
    from captum.attr import IntegratedGradients
    torch.set_num_threads(threads)
    data = np.loadtxt(os.path.join(ROOT, "data/tabular/digits.csv"), delimiter=",", skiprows=1)
    X = data[:, :64]
    sd = X.std(0); sd[sd == 0] = 1
    X = ((X - X.mean(0)) / sd).astype(np.float32)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    x = torch.from_numpy(X[:100]).clone()
    with torch.no_grad():
        pred = model(x).argmax(1)
    ig = IntegratedGradients(model)
    run = lambda: ig.attribute(x, baselines=torch.zeros_like(x), target=pred, n_steps=50)
    run()
    return median_time(run)


def rust_side():
    env = dict(os.environ)
    out = subprocess.run(["cargo", "bench", "--bench", "explain_ig", "--", "ig_50_steps_100_inputs"],
                         cwd=ROOT, env=env, capture_output=True, text=True).stdout
    res = {}
    for m in re.finditer(r"explain_ig_digits_mlp/(\S+)\s*\n?\s*time:\s+\[([\d.]+) (\w+) ([\d.]+) (\w+) ([\d.]+) (\w+)\]", out):
        scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(5)]
        res[m.group(1)] = float(m.group(4)) * scale
    return res


def main():
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    r = {"captum_ig_batched_s": round(captum_side(threads), 5), "torch_threads": threads}
    if "--no-rust" not in sys.argv:
        rs = rust_side()
        r["glassbox_s"] = {k: round(v, 5) for k, v in rs.items()}
        if "ig_50_steps_100_inputs_unlimited" in rs:
            r["speedup_unlimited"] = round(r["captum_ig_batched_s"] / rs["ig_50_steps_100_inputs_unlimited"], 2)
        if "ig_50_steps_100_inputs_cap_1024_rows" in rs:
            r["speedup_cap_1024"] = round(r["captum_ig_batched_s"] / rs["ig_50_steps_100_inputs_cap_1024_rows"], 2)
    print(json.dumps(r))


if __name__ == "__main__":
    main()
