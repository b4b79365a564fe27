#!/usr/bin/env bash
# Installs what mlprobe needs beyond a Rust toolchain: the Cortex-M targets, on Debian or
# Ubuntu QEMU's Arm system emulator (for the on-device stages and tests) and Arm's GCC (the C
# firmware example), a Java runtime (Spark, for the Python package's tests), and the virtualenvs
# of the differential tests and the Python package (scripts/venv.sh).
# With --browser, also Chromium, which the report test uses to render report.html headless.
set -euo pipefail
browser=0
[ "${1:-}" = "--browser" ] && browser=1
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
packages=()
command -v qemu-system-arm >/dev/null 2>&1 || packages+=(qemu-system-arm)
# The C firmware example (examples/c-firmware) and its test: Arm's GCC and make.
command -v arm-none-eabi-gcc >/dev/null 2>&1 || packages+=(gcc-arm-none-eabi)
command -v make >/dev/null 2>&1 || packages+=(make)
# The Python package's Spark tests (python/tests/test_spark.py): a Java runtime for pyspark.
command -v java >/dev/null 2>&1 || packages+=(default-jre-headless)
if [ "$browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
  else
    echo "setup: install ${packages[*]} with your package manager" >&2
  fi
fi
"$(dirname "$0")/venv.sh"
