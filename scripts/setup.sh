#!/usr/bin/env bash
# Installs what mlprobe needs beyond a Rust toolchain: the Cortex-M targets and, on Debian or
# Ubuntu, QEMU's Arm system emulator (for the on-device tests).
set -euo pipefail
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
if ! command -v qemu-system-arm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq qemu-system-arm
  else
    echo "setup: install qemu-system-arm with your package manager for the device tests" >&2
  fi
fi
