#!/usr/bin/env bash
# Transformer inference of glassbox vs PyTorch + transformers on this machine, side by side
# (issue 15 item 8): MiniLM forward (8 × 128 tokens), BERT L2/H128 forward (same batch),
# GPT-2 124M-shape greedy decoding with the KV cache (64 tokens from a 16-token prompt), and
# Layer Integrated Gradients on MiniLM against Captum (issue 16 item 10).
#
# Runs `../shared/bench/pytorch/transformer.py`, then glassbox's criterion bench
# `transformer` at RAYON_NUM_THREADS = 1 and 2, then PyTorch again, and prints one table with
# the speed ratio glassbox / PyTorch (> 1: glassbox is faster; PyTorch = mean of its before
# and after medians). Absolute times drift with machine load; the ratios measured together
# are what to report. Also prints the peak RSS of a MiniLM inference process against the
# size of its weight file.
#
# Usage: bench/transformer_compare.sh [threads, default "1 2"]   (venv: bench/setup_venv.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${GLASSBOX_BENCH_PYTHON:-$HOME/torch-venv/bin/python}"
SHARED="${GLASSBOX_SHARED_DIR:-$ROOT/../shared}"
TRANSFORMER_PY="$SHARED/bench/pytorch/transformer.py"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
THREADS="${1:-1 2}"
OUT="$(mktemp -d)"
CSV="$(echo $THREADS | tr ' ' ',')"

echo "== PyTorch (before)" >&2
REPEATS=5 "$PY" "$TRANSFORMER_PY" --threads "$CSV" > "$OUT/torch_before.json"
(cd "$ROOT" && cargo bench --bench transformer --no-run >&2)
for th in $THREADS; do
  echo "== glassbox, $th thread(s)" >&2
  (cd "$ROOT" && RAYON_NUM_THREADS=$th cargo bench --bench transformer -- --noplot >&2)
  mkdir -p "$OUT/gb$th"
  cp -r "$TARGET/criterion/transformer" "$OUT/gb$th/"
done
echo "== PyTorch (after)" >&2
REPEATS=5 "$PY" "$TRANSFORMER_PY" --threads "$CSV" > "$OUT/torch_after.json"

echo "== peak RSS of MiniLM inference (glassbox embed, release)" >&2
(cd "$ROOT" && cargo build --release -p glassbox-cli --bin glassbox >&2)
MINILM="$SHARED/models/all-MiniLM-L6-v2"
TEXT="$(python3 -c 'print(" ".join(["word"] * 100))')"
/usr/bin/time -f "%M" -o "$OUT/rss_kb" "$TARGET/release/glassbox" embed --model "$MINILM" \
  --text "$TEXT" --text "$TEXT" --text "$TEXT" --text "$TEXT" --json > /dev/null
stat -c %s "$MINILM/model.safetensors" > "$OUT/weights_bytes"

python3 - "$OUT" "$THREADS" <<'PYEOF'
import json, os, sys
out, threads = sys.argv[1], [int(t) for t in sys.argv[2].split()]
def torch(path):
    d = json.load(open(path))
    return {r["threads"]: r for r in d["results"]}, d.get("loadavg_end")
before, la1 = torch(os.path.join(out, "torch_before.json"))
after, la2 = torch(os.path.join(out, "torch_after.json"))
def gb_seconds(th, name):
    est = os.path.join(out, f"gb{th}", "transformer", name, "new", "estimates.json")
    return json.load(open(est))["median"]["point_estimate"] / 1e9 if os.path.exists(est) else None
rows = [
    ("MiniLM forward 8x128", "minilm_forward_8x128", "minilm_forward_8x128_s", "s", 1.0),
    ("BERT L2/H128 forward 8x128", "bert_l2_h128_forward_8x128", "bert_tiny_forward_8x128_s", "s", 1.5),
    ("GPT-2 124M greedy, KV cache", "gpt2_124m_greedy_cache_64", "gpt2_124m_greedy_cache_tokens_per_s", "tok/s", 2.0),
    ("MiniLM LIG 64 tok, 50 steps", "minilm_lig_64tok_50steps", "minilm_lig_64tok_50steps_s", "s", 1.5),
]
print(f"load average after the PyTorch runs: {la1} / {la2}")
print(f"{'workload':<30} {'thr':>3} {'glassbox':>12} {'PyTorch':>12} {'speed ratio':>11} {'target':>7}")
for label, gb_name, key, unit, target in rows:
    for th in threads:
        t = (before[th][key] + after[th][key]) / 2
        s = gb_seconds(th, gb_name)
        if s is None:
            print(f"{label:<30} {th:>3} {'missing':>12}")
            continue
        if unit == "s":
            gb, ratio = s, t / s
            print(f"{label:<30} {th:>3} {gb*1e3:>9.1f} ms {t*1e3:>9.1f} ms {ratio:>10.2f}x {target:>6.1f}x")
        else:
            gb = 64 / s
            ratio = gb / t
            print(f"{label:<30} {th:>3} {gb:>8.1f} tok/s {t:>6.1f} tok/s {ratio:>10.2f}x {target:>6.1f}x")
rss = int(open(os.path.join(out, "rss_kb")).read().split()[-1]) * 1024
w = int(open(os.path.join(out, "weights_bytes")).read())
print(f"MiniLM inference peak RSS {rss/2**20:.0f} MiB = {rss/w:.2f}x its weight file ({w/2**20:.0f} MiB); target <= 2x")
PYEOF
