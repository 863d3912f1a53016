#!/usr/bin/env python3
"""Runs the nn criterion benches and their PyTorch counterparts in one go and prints both
numbers and the ratios (glassbox / PyTorch throughput; > 1 means glassbox is faster).

    python3 benches/nn_vs_pytorch.py [--python PATH] [--threads 2]

PyTorch side: shared/bench/pytorch/{cnn_lenet,mlp_digits,lstm}.py, run with the given
interpreter (default ~/torch-venv/bin/python; `pip install torch scikit-learn` into a venv
if it is missing). glassbox side: `cargo bench --bench nn_{lenet,mlp_digits,lstm}` with
RAYON_NUM_THREADS set to the same thread count; medians read from criterion's estimates.
"""
import argparse, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_DIR = os.path.join(ROOT, "..", "shared", "bench", "pytorch")


def torch_result(python, script, threads):
    env = dict(os.environ, BENCH_THREADS=str(threads))
    out = subprocess.run([python, os.path.join(TORCH_DIR, script)], env=env,
                         capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)["results"][0]


def criterion_median_s(target, group, name):
    path = os.path.join(target, "criterion", group, name, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=os.path.expanduser("~/torch-venv/bin/python"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
    for bench in ("nn_lenet", "nn_mlp_digits", "nn_lstm"):
        subprocess.run(["cargo", "bench", "--bench", bench, "--", "--noplot"], cwd=ROOT, env=env, check=True)
    rows = []
    t = torch_result(a.python, "cnn_lenet.py", a.threads)
    g = 1024 / criterion_median_s(target, "nn_lenet", "train_1024_samples_batch64_sgd")
    rows.append(("LeNet-5 train, batch 64 (samples/s)", g, t["train_samples_per_s"]))
    g = 256 / criterion_median_s(target, "nn_lenet", "infer_batch256")
    rows.append(("LeNet-5 inference, batch 256 (samples/s)", g, t["infer_samples_per_s"]))
    t = torch_result(a.python, "mlp_digits.py", a.threads)
    g = criterion_median_s(target, "nn_mlp_digits", "train_epoch_batch32_adam")
    rows.append(("digits MLP epoch, batch 32, Adam (epochs/s)", 1 / g, 1 / t["train_s_per_epoch_median"]))
    t = torch_result(a.python, "lstm.py", a.threads)
    g = 1 / criterion_median_s(target, "nn_lstm", "train_step_b32_t50_16_64")
    rows.append(("LSTM 16->64, T 50, B 32, train (steps/s)", g, t["train_steps_per_s"]))
    print(f"\n{'workload':48} {'glassbox':>12} {'PyTorch':>12} {'ratio':>7}   ({a.threads} threads)")
    for name, gv, tv in rows:
        print(f"{name:48} {gv:12.1f} {tv:12.1f} {gv / tv:7.2f}")


if __name__ == "__main__":
    sys.exit(main())
