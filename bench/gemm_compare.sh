#!/usr/bin/env bash
# f32 GEMM GFLOP/s of glassbox-tensor vs PyTorch (MKL) on this machine, side by side.
#
# Runs PyTorch's script, then glassbox's criterion bench `tensor_matmul` (matmul_square
# group, 1 and 2 threads, n = 256..2048), then PyTorch again, and prints one table with the
# ratio glassbox / PyTorch (PyTorch = mean of its before and after medians). Absolute numbers
# drift with machine load; the ratio measured together is what to report.
#
# Usage: bench/gemm_compare.sh            (needs the venv from bench/setup_venv.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${GLASSBOX_BENCH_PYTHON:-$HOME/torch-venv/bin/python}"
GEMM_PY="${GLASSBOX_GEMM_PY:-$ROOT/../shared/bench/pytorch/gemm.py}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$(mktemp -d)"

echo "== PyTorch (before)" >&2
"$PY" "$GEMM_PY" > "$OUT/torch_before.json"
echo "== glassbox (criterion)" >&2
(cd "$ROOT" && cargo bench --bench tensor_matmul -- matmul_square >&2)
echo "== PyTorch (after)" >&2
"$PY" "$GEMM_PY" > "$OUT/torch_after.json"

python3 - "$OUT" "$TARGET" <<'PYEOF'
import json, os, sys
out, target = sys.argv[1], sys.argv[2]
def torch_gflops(path):
    d = json.load(open(path))
    r = {}
    for res in d["results"]:
        if res["lib"] == "torch":
            for n, v in res["sizes"].items():
                r[(res["threads"], int(n))] = v["gflops_median"]
    return r, d.get("loadavg_end")
before, la1 = torch_gflops(os.path.join(out, "torch_before.json"))
after, la2 = torch_gflops(os.path.join(out, "torch_after.json"))
print(f"load average after torch runs: {la1} / {la2}")
print(f"{'threads':>7} {'n':>5} {'glassbox':>9} {'torch':>9} {'ratio':>6}")
for th in (1, 2):
    for n in (256, 512, 1024, 2048):
        est = os.path.join(target, "criterion", "matmul_square", f"{th}thr", str(n), "new", "estimates.json")
        if not os.path.exists(est):
            print(f"{th:>7} {n:>5} {'missing':>9}")
            continue
        ns = json.load(open(est))["median"]["point_estimate"]
        gb = 2.0 * n ** 3 / ns
        t = (before[(th, n)] + after[(th, n)]) / 2
        print(f"{th:>7} {n:>5} {gb:>9.1f} {t:>9.1f} {gb / t:>6.2f}")
PYEOF
