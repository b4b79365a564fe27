#!/bin/sh
# Cargo runner (see .cargo/config.toml): boots the firmware ELF "$1" in QEMU through the host
# tool, which decodes the defmt logs and exposes the UART on 127.0.0.1:${MLPROBE_PORT:-7878}.
# The host tool is built from the repository root, outside this crate's thumbv7em config.
set -eu
elf=$(realpath "$1")
cd "$(dirname "$0")/.."
exec cargo run -q --release -p mlprobe --bin mlprobe -- device run --port "${MLPROBE_PORT:-7878}" \
  --board "${MLPROBE_BOARD:-qemu}" --elf "$elf"
