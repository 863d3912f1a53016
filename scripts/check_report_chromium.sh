#!/usr/bin/env bash
# Builds the sample report from real models (tests/report_chromium.rs), renders it in headless
# Chromium, checks that every image loaded and nothing was logged to the console, and saves
# report.html, report.png (1280x4000) and report-full.png under
# ${CARGO_TARGET_DIR:-target}/report-artifacts/.
# Unlike the test (which skips without a browser), this script fails when Chromium is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && ! command -v google-chrome >/dev/null 2>&1; then
    echo "error: no chromium on PATH (Debian: apt-get install -y chromium)" >&2
    exit 1
fi
cargo test --test report_chromium -- --nocapture
echo "artefacts: ${CARGO_TARGET_DIR:-$PWD/target}/report-artifacts/"
