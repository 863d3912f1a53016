#!/usr/bin/env bash
# Builds the sample report from real models (tests/it/report_chromium.rs), renders it in
# headless Chromium, checks that every image loaded and nothing was logged to the console,
# and saves report.html, report.png (1280x4000) and report-full.png under
# ${CARGO_TARGET_DIR:-target}/report-artifacts/.
# CI=1 makes glassbox-testkit's Chromium harness fail (not return early) when no browser
# is installed (Debian: apt-get install -y chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
CI=1 cargo test --test it report_chromium -- --nocapture
echo "artefacts: ${CARGO_TARGET_DIR:-$PWD/target}/report-artifacts/"
