#!/usr/bin/env bash
# The main job, from a fresh clone: set up, build, train the seed's classifier on the bundled
# wine data and evaluate it. Outputs go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release -p mlprobe
mkdir -p out
./target/release/mlprobe train --data data/wine.csv --out out/wine.mlpb --seed 0
./target/release/mlprobe eval --model out/wine.mlpb --data data/wine.csv
