"""Kernel SHAP side by side: shap.KernelExplainer vs glassbox-explain's KernelShap.

Workload (same on both sides): MLP 64-128-64-10 (ReLU, softmax output) with PyTorch's
default random initialisation (seed 0), inputs = standardised data/tabular/digits.csv,
background = k-means of the first 80% of rows (10 centres, shap.kmeans), 10 inputs (the
rows right after the training part), nsamples = 2048 coalitions per input.

shap is timed with its default l1_reg ("num_features(10)" LARS selection) and with
l1_reg=False (the same estimator glassbox computes). Then, unless --no-rust is given, the
criterion bench `benches/explain_kernel_shap.rs` is run in the same invocation (so the two
sides see the same machine load) and the ratios are printed. One JSON line.

    python bench/explain_compare.py [--no-rust]      # uses ~/torch-venv via bench/setup_venv.sh

Measured 2026-12-06 ~16:05 UTC, three consecutive runs on the 2-core AVX-512 machine of
session 3: glassbox f32 MLP 30.8 / 31.2 / 31.3 ms; shap default 661 / 717 / 676 ms
(21.5x / 23.0x / 21.6x), shap l1_reg=False 997 / 1004 / 870 ms (32.4x / 32.2x / 27.8x).
The model's own sgemm is about 58% of glassbox's CPU time (perf).
"""
import json, os, re, subprocess, sys, time, warnings

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(fn, repeats=3):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def shap_side():
    import numpy as np, torch, shap
    from torch import nn
    torch.set_num_threads(2)
    X = np.loadtxt(os.path.join(ROOT, "data/tabular/digits.csv"), delimiter=",", skiprows=1)[:, :64]
    std = X.std(0); std[std == 0] = 1.0
    X = (X - X.mean(0)) / std
    n_train = X.shape[0] * 4 // 5
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)).eval()

    def f(x):
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))), 1).numpy()

    bg = shap.kmeans(X[:n_train], 10)
    expl = shap.KernelExplainer(f, bg)
    xs = X[n_train:n_train + 10]
    expl.shap_values(xs[:1], nsamples=256, silent=True)  # warm-up
    t_default = timed(lambda: expl.shap_values(xs, nsamples=2048, silent=True))
    t_l1off = timed(lambda: expl.shap_values(xs, nsamples=2048, silent=True, l1_reg=False))
    return {"shap": shap.__version__, "torch": torch.__version__,
            "shap_default_l1_s": round(t_default, 4), "shap_l1off_s": round(t_l1off, 4)}


def rust_side():
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    out = subprocess.run(["cargo", "bench", "-p", "glassbox-workspace", "--bench", "explain_kernel_shap"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    text = out.stdout + out.stderr
    res = {}
    unit = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
    for name, mid, u in re.findall(r"kernel_shap_digits_mlp/(\S+)\s+time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", text):
        res["glassbox_" + name + "_s"] = round(float(mid) * unit[u], 4)
    if not res:
        res["rust_error"] = text[-2000:]
    return res


def main():
    r = {"bench": "explain_kernel_shap", "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "loadavg_start": open("/proc/loadavg").read().split()[:3]}
    r.update(shap_side())
    if "--no-rust" not in sys.argv:
        r.update(rust_side())
        g = r.get("glassbox_f32_mlp_10_inputs_2048_coalitions_s")
        if g:
            r["speedup_vs_shap_default"] = round(r["shap_default_l1_s"] / g, 1)
            r["speedup_vs_shap_l1off"] = round(r["shap_l1off_s"] / g, 1)
    r["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
