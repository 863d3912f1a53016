#!/usr/bin/env bash
# Creates the Python environment used only for side-by-side speed comparisons with
# PyTorch / Captum / SHAP / scikit-learn, and for regenerating the reference values in
# tests/reference/ (scripts/reference/regenerate.sh, which also needs Hugging Face
# transformers, safetensors and tokenizers). It lives outside the repository and is never a
# runtime dependency of glassbox. PyPI's Linux torch wheel pulls its nvidia-* packages even
# for CPU use (about 4 GB). Prints the environment's python as its last line.
set -euo pipefail
VENV="${GLASSBOX_BENCH_VENV:-$HOME/torch-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import torch, captum, shap, sklearn, transformers, safetensors, tokenizers' \
  2>/dev/null ||
  "$VENV/bin/pip" install --quiet torch captum shap scikit-learn transformers safetensors tokenizers
echo "$VENV/bin/python"
