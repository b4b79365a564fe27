#!/usr/bin/env bash
# Runs every test of mlprobe: the workspace (unit, CLI and end-to-end tests, the QEMU device
# tests included), and the core's optional fast-math and small-crc (the firmware's table-less
# CRC) features. Installs the Rust targets it
# needs, the reference virtualenv (.venv: scipy, mpmath) of the differential tests and the Python
# package's (.venv-python); the device tests need qemu-system-arm (scripts/setup.sh installs it),
# the Spark tests Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi >/dev/null 2>&1 || true
./scripts/venv.sh
cargo test --workspace
cargo test -p mlprobe-core --features fast-math
cargo test -p mlprobe-core --features small-crc --lib crc
# The agent's C API (its own workspace: a static library with a panic handler), on the host.
(cd agent/c && cargo test)
# The Python package (python/): built into .venv-python and checked against the command line
# built above, Spark in local mode included (Java 17).
VIRTUAL_ENV="$PWD/.venv-python" .venv-python/bin/maturin develop -q -m python/Cargo.toml
MLPROBE_BIN="$PWD/target/debug/mlprobe" .venv-python/bin/python -m pytest -q python/tests
