"""PyTorch counterpart of benches/autograd_mlp.rs and the 4x4-add case of
benches/autograd_overhead.rs.

MLP 784-256-128-10 (ReLU), batch 64, cross-entropy: forward + backward (zeroing grads with
set_to_none, as glassbox's zero_grad does), and the forward alone under torch.no_grad().
Also record+backward of a 4x4 add. Prints one JSON line with median microseconds per
iteration for each thread count. Usage: ~/torch-venv/bin/python bench/pytorch_autograd_mlp.py [--threads 1,2]
"""
import json, os, platform, statistics, sys, time

import torch
import torch.nn.functional as F


def parse_threads(default="2"):
    for i, a in enumerate(sys.argv):
        if a == "--threads":
            return [int(x) for x in sys.argv[i + 1].split(",")]
    return [int(x) for x in os.environ.get("BENCH_THREADS", default).split(",")]


def median_us(fn, iters, repeats=7, warmup=2):
    for _ in range(warmup):
        for _ in range(iters):
            fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        ts.append((time.perf_counter() - t) / iters * 1e6)
    return round(statistics.median(ts), 2)


def main():
    torch.manual_seed(0)
    sizes = [784, 256, 128, 10]
    params = []
    for fi, fo in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / fi ** 0.5
        w = (torch.rand(fo, fi) * 2 - 1) * bound
        b = (torch.rand(fo) * 2 - 1) * bound
        params.append((w.requires_grad_(), b.requires_grad_()))
    x = torch.randn(64, 784)
    y = torch.randint(0, 10, (64,))

    def forward():
        h = x
        for i, (w, b) in enumerate(params):
            h = F.linear(h, w, b)
            if i + 1 < len(params):
                h = F.relu(h)
        return h

    def train_step():
        for w, b in params:
            w.grad = None
            b.grad = None
        loss = F.cross_entropy(forward(), y)
        loss.backward()

    def infer():
        with torch.no_grad():
            forward()

    a = torch.full((4, 4), 1.5, requires_grad=True)
    bb = torch.full((4, 4), -0.5, requires_grad=True)
    up = torch.ones(4, 4)

    def add_step():
        a.grad = None
        bb.grad = None
        (a + bb).backward(up)

    results = []
    for th in parse_threads():
        torch.set_num_threads(th)
        results.append({
            "threads": th,
            "mlp_forward_backward_us": median_us(train_step, 50),
            "mlp_no_grad_forward_us": median_us(infer, 100),
            "add_4x4_record_backward_us": median_us(add_step, 2000),
        })
    print(json.dumps({"bench": "pytorch_autograd_mlp", "torch": torch.__version__,
                      "python": platform.python_version(),
                      "loadavg": open("/proc/loadavg").read().split()[:3],
                      "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "results": results}), flush=True)


if __name__ == "__main__":
    main()
