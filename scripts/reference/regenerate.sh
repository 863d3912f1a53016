#!/usr/bin/env bash
# Regenerates the reference values in tests/reference/ with PyTorch, Captum, SHAP,
# scikit-learn and Hugging Face transformers/tokenizers, in the bench virtual environment
# (bench/setup_venv.sh creates it; GLASSBOX_BENCH_VENV chooses where).
#
#   scripts/reference/regenerate.sh [OUT_DIR] [GENERATOR...]
#
# OUT_DIR defaults to tests/reference/ (write to a scratch folder to compare first);
# GENERATOR names the scripts to run (default: all), e.g. `torch_layers sklearn_metrics`.
# Every file keeps the names and JSON layout of ../shared/reference/, which
# compare_layout.py checks against the committed files. The inputs are drawn from fixed
# seeds, so the values are reproducible for given library versions; the Rust tests read
# their inputs from the files and pass on either set: run them against a scratch folder with
#   GLASSBOX_REFERENCE_DIR=/tmp/regenerated cargo test --workspace
# The transformers tokenizers are trained on ../shared/data/text/spam_assassin.csv.gz
# (GLASSBOX_SHARED names another shared folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/tests/reference}"
shift || true
mkdir -p "$out"
out="$(cd "$out" && pwd)"
python="$("$root/bench/setup_venv.sh" | tail -n 1)"
all=(torch_layers torch_losses torch_optim captum_attributions sklearn_metrics
     sklearn_preprocessing sklearn_feature_selection transformers_attention
     transformers_tokenizers transformers_bert_tiny transformers_gpt2_tiny)
generators=("${@:-${all[@]}}")
cd "$here"
for g in "${generators[@]}"; do
    echo "== $g"
    "$python" "$g.py" "$out"
done
"$python" compare_layout.py "$root/tests/reference" "$out"
