#!/usr/bin/env bash
# Runs scripts/triton_client_check.py (the official tritonclient[http] against glassbox-serve).
# Creates a venv with tritonclient[http] and numpy if missing (GLASSBOX_VENV, default
# ~/.cache/glassbox-venv), builds and starts the toy server on a free loopback port, runs the
# check, and stops the server with SIGTERM (graceful shutdown) whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="${GLASSBOX_VENV:-$HOME/.cache/glassbox-venv}"
PY="$VENV/bin/python"
if ! [ -x "$PY" ] || ! "$PY" -c "import tritonclient.http, numpy" 2>/dev/null; then
    echo "creating $VENV with tritonclient[http] and numpy"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet "tritonclient[http]" numpy
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release --quiet -p glassbox-serve --example toy_server
BIN="$CARGO_TARGET_DIR/release/examples/toy_server"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" --write-toy "$WORK/models"
"$BIN" --model-dir "$WORK/models" --addr 127.0.0.1:0 --addr-file "$WORK/addr" &
SERVER_PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/addr" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server exited early"; exit 1; }
    sleep 0.1
done
[ -s "$WORK/addr" ] || { echo "server did not start within 30 s"; exit 1; }

STATUS=0
"$PY" scripts/triton_client_check.py --url "$(cat "$WORK/addr")" --model mnist_toy \
    --bundle "$WORK/models/mnist_toy.json" --mnist "$ROOT/data/mnist/t10k-images-idx3-ubyte.gz" || STATUS=$?

# Graceful shutdown: SIGTERM must make the server exit 0.
kill -TERM "$SERVER_PID"
if wait "$SERVER_PID"; then
    echo "server stopped cleanly on SIGTERM"
else
    echo "server exited with status $? on SIGTERM"
    STATUS=1
fi
SERVER_PID=""
exit "$STATUS"
