#!/usr/bin/env bash
# Runs scripts/triton_client_check.py (the official tritonclient[http]) against glassbox servers:
#
# 1. The real thing: a MNIST CNN trained by `glassbox train` (first 4,000 training images,
#    1 epoch; about a minute on 2 cores), served by `glassbox serve --model`. Predictions on 32
#    MNIST test images must equal `glassbox predict --proba` on the same images (an IDX file
#    holding exactly those images); explanations (IG, saliency, Grad-CAM) are checked for
#    shapes, values and IG completeness.
# 2. The toy MLP server (crates/serve/examples/toy_server.rs), whose predictions and
#    input x gradient attributions are checked against an independent NumPy implementation.
# 3. Text models (crates/glassbox/examples/text_server.rs): BYTES infer (binary and JSON)
#    against transformers' logits, over-length refusal, and generate / generate_stream
#    against transformers' greedy text (scripts/triton_text_check.py).
#
# Creates a venv with tritonclient[http] and numpy if missing (GLASSBOX_VENV, default
# ~/.cache/glassbox-venv), builds what it needs in release mode, starts each server on a free
# loopback port, and stops it with SIGTERM (graceful shutdown, exit status 0 required) whatever
# happens. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${GLASSBOX_VENV:-$HOME/.cache/glassbox-venv}"
PY="$VENV/bin/python"
CHECK="$ROOT/scripts/triton_client_check.py"
MNIST="$ROOT/data/mnist"
if ! [ -x "$PY" ] || ! "$PY" -c "import tritonclient.http, numpy" 2>/dev/null; then
    echo "creating $VENV with tritonclient[http] and numpy"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "tritonclient[http]" numpy
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Built with the `test` profile (opt-level 1 for our crates, 3 for dependencies) and the workspace's
# full feature set, i.e. exactly what `cargo test --workspace --all-features` just compiled:
# in CI this reuses every artifact instead of compiling the workspace a second time in release.
cargo build --workspace --all-features --profile test --quiet --bin glassbox --example toy_server \
    --example text_server
GLASSBOX="$CARGO_TARGET_DIR/debug/glassbox"
TOY="$CARGO_TARGET_DIR/debug/examples/toy_server"
TEXT="$CARGO_TARGET_DIR/debug/examples/text_server"

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

# wait_for_addr FILE: waits until the server wrote its address into FILE (or died).
wait_for_addr() {
    for _ in $(seq 1 600); do
        [ -s "$1" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited early"; return 1; }
        sleep 0.1
    done
    echo "server did not start within 60 s"
    return 1
}

# graceful_stop: SIGTERM must make the server exit 0.
graceful_stop() {
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    if [ "$rc" -eq 0 ]; then
        echo "server stopped cleanly on SIGTERM"
    else
        echo "server exited with status $rc on SIGTERM"
        return 1
    fi
}

STATUS=0

# --- 1. MNIST CNN bundle: glassbox train -> glassbox serve --------------------------------
echo "== MNIST CNN bundle served by glassbox serve"
mkdir -p "$WORK/train" "$WORK/test"
"$PY" "$CHECK" subset "$MNIST/train-images-idx3-ubyte.gz" "$WORK/train/train-images-idx3-ubyte.gz" 4000
"$PY" "$CHECK" subset "$MNIST/t10k-images-idx3-ubyte.gz" "$WORK/test/t10k-images-idx3-ubyte.gz" 32
"$GLASSBOX" train --data "$WORK/train/train-images-idx3-ubyte.gz" --model cnn --epochs 1 \
    --val-split 0 --seed 1 --quiet --out "$WORK/mnist_cnn.gbx"
"$GLASSBOX" predict --model "$WORK/mnist_cnn.gbx" --data "$WORK/test/t10k-images-idx3-ubyte.gz" \
    --proba > "$WORK/predict.csv"

# IG over a batch of 32 MNIST images with the adaptive rule takes longer than the default
# 10 s explanation deadline in this (opt-level 1) build on 2 cores: give it 100 s.
"$GLASSBOX" serve --model "mnist_cnn=$WORK/mnist_cnn.gbx" --addr 127.0.0.1:0 \
    --timeout 110 --explain-deadline 100 2> "$WORK/serve.log" &
SERVER_PID=$!
# The server logs "listening on http://ADDR"; keep ADDR.
for _ in $(seq 1 600); do
    ADDR="$(sed -n 's#.*listening on http://\([0-9.:]*\).*#\1#p' "$WORK/serve.log")"
    [ -n "$ADDR" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "glassbox serve exited early:"; cat "$WORK/serve.log"; exit 1; }
    sleep 0.1
done
[ -n "$ADDR" ] || { echo "glassbox serve did not start within 60 s"; exit 1; }
"$PY" "$CHECK" --url "$ADDR" --model mnist_cnn --predict-csv "$WORK/predict.csv" \
    --mnist "$WORK/test/t10k-images-idx3-ubyte.gz" --batch 32 || STATUS=1
graceful_stop || STATUS=1

# --- 2. Toy MLP against an independent NumPy implementation ------------------------------
echo "== toy MLP (examples/toy_server.rs)"
"$TOY" --write-toy "$WORK/models"
"$TOY" --model-dir "$WORK/models" --addr 127.0.0.1:0 --addr-file "$WORK/addr" &
SERVER_PID=$!
wait_for_addr "$WORK/addr"
"$PY" "$CHECK" --url "$(cat "$WORK/addr")" --model mnist_toy \
    --bundle "$WORK/models/mnist_toy.json" --mnist "$MNIST/t10k-images-idx3-ubyte.gz" || STATUS=1
graceful_stop || STATUS=1

# --- 3. Text models: BYTES infer and the generate extension --------------------------------
echo "== text models (examples/text_server.rs: tiny BERT classifier and tiny GPT-2)"
rm -f "$WORK/addr"
"$TEXT" --addr 127.0.0.1:0 --addr-file "$WORK/addr" &
SERVER_PID=$!
wait_for_addr "$WORK/addr"
"$PY" "$ROOT/scripts/triton_text_check.py" --url "$(cat "$WORK/addr")" \
    --reference "$ROOT/tests/reference/transformers" || STATUS=1
graceful_stop || STATUS=1

if [ "$STATUS" -eq 0 ]; then
    echo "triton_client_check: all checks passed"
else
    echo "triton_client_check: FAILED"
fi
exit "$STATUS"
