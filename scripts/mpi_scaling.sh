#!/usr/bin/env bash
# Data-parallel scaling of LeNet-5 training on MNIST under MPI (issue 17, item 5).
#
# Builds crates/glassbox/examples/mpi_lenet_scaling.rs in release mode with the
# `distributed` feature, runs it at -np 1 and -np 2 with one rayon thread per rank (each
# run under `timeout`), and prints a table: seconds per epoch, milliseconds per step, the
# gradient all-reduce time per step and its share of a step, and the time spent waiting for
# the slowest rank (a barrier before each all-reduce separates the two).
#
# Settings (environment): IMAGES (training images, default 60000 = all of MNIST), EPOCHS
# (default 1), LIMIT (seconds per run before `timeout` ends it, default 900), NPS (the rank
# counts, default "1 2"). Needs openmpi-bin, libopenmpi-dev and libclang-dev (Debian).
# The load average before and after is printed: numbers taken on a busy machine are
# provisional.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
IMAGES="${IMAGES:-60000}"
EPOCHS="${EPOCHS:-1}"
LIMIT="${LIMIT:-900}"
NPS="${NPS:-1 2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 RAYON_NUM_THREADS=1

cargo build --quiet --release -p glassbox --features distributed --example mpi_lenet_scaling
BIN="$CARGO_TARGET_DIR/release/examples/mpi_lenet_scaling"

echo "LeNet-5 on MNIST ($IMAGES training images, $EPOCHS epoch(s), global batch 64, Adam)," \
    "one rayon thread per rank; $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=""
for np in $NPS; do
    out="$(timeout "$LIMIT" mpirun --oversubscribe --bind-to none -x RAYON_NUM_THREADS \
        -np "$np" "$BIN" "$IMAGES" "$EPOCHS")" || {
        echo "mpirun -np $np failed or ran over ${LIMIT}s (status $?)" >&2
        exit 1
    }
    line="$(printf '%s\n' "$out" | grep '^scaling' || true)"
    if [ -z "$line" ]; then
        printf '%s\n' "$out" >&2
        echo "mpirun -np $np printed no result line" >&2
        exit 1
    fi
    rows="$rows$line"$'\n'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s' "$rows" | awk -F'\t' '
    BEGIN {
        printf "| ranks | s/epoch | speed-up | ms/step | all-reduce ms/step | all-reduce share | waiting ms/step | waiting share |\n"
        printf "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    }
    {
        if (NR == 1) base = $6
        printf "| %d | %.2f | %.2fx | %.2f | %.3f | %.1f%% | %.3f | %.1f%% |\n", $2, $6, base / $6, $7, $8, $9, $10, $11
    }'
