#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target in fuzz/ for SECONDS each (default 20), after installing a
# nightly toolchain and cargo-fuzz if they are missing. SANITIZER=none (default: address) builds
# without AddressSanitizer: 2-10x the executions per second, and the code under test has no
# `unsafe` of its own besides the training kernels' target-feature calls, which no target reaches.
# CI does not run this (it runs the stable smoke test, tests/tests/fuzz_smoke.rs). Extra arguments go to
# libFuzzer (e.g. -runs=10000000). New inputs go to fuzz/target/corpus/<target>, never into the
# committed seeds (fuzz/corpus/<target>); a crash leaves its input in fuzz/artifacts/<target>/
# and fails the script. Usage: scripts/fuzz.sh [SECONDS] [TARGET...] [-- LIBFUZZER-ARGS...]
set -euo pipefail
sanitizer=${SANITIZER:-address}
cd "$(dirname "$0")/.."
seconds=20
targets=()
extra=()
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    extra=("$@")
    break
  fi
  targets+=("$1")
  shift
done
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# -a: debug assertions (overflow checks) on, as in the tests.
cargo +nightly fuzz build -a -s "$sanitizer"
for t in "${targets[@]}"; do
  mkdir -p "fuzz/target/corpus/$t"
  len=()
  # The CSV scanner's chunks are at least 4 KiB: longer inputs cross chunk boundaries.
  # The scanner's threads leave std's per-thread channel context (48 bytes) to the OS:
  # LeakSanitizer reports it, so leaks are not checked there.
  [ "$t" = csv ] && len=(-max_len=16384 -detect_leaks=0)
  start=$(date +%s)
  cargo +nightly fuzz run -a -s "$sanitizer" "$t" "fuzz/target/corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${len[@]}" "${extra[@]}" \
    2> "fuzz/target/$t.log" || { tail -60 "fuzz/target/$t.log" >&2; exit 1; }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/target/$t.log" | grep -o '[0-9]*$')
  echo "fuzz $t: ${runs:-?} executions in $(( $(date +%s) - start )) s, no crash"
done
