#!/usr/bin/env bash
# The main job, from a fresh clone: install what is needed (Cortex-M targets, QEMU), build, and
# run the whole testing pyramid on the bundled wine data (mlprobe.toml): data expectations,
# training, the quality gate, bit-exact validation on the emulated Cortex-M4, and an A/B
# analysis against the previous model. The report lands in out/report/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release -p mlprobe
./target/release/mlprobe run --config mlprobe.toml --out out/report "$@"
echo "open out/report/report.html"
