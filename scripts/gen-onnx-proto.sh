#!/usr/bin/env bash
# Regenerates host/src/interop/onnx_proto.rs (the prost messages of ONNX) from the vendored
# host/proto/onnx.proto. Run after updating onnx.proto; the result is checked in, so builds need
# neither protoc nor this generator. onnx.proto is the official file of the `onnx` Python package
# pinned in tests/reference/requirements.txt (`.venv/lib/python*/site-packages/onnx/onnx.proto`).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/onnx-proto-gen}" \
  cargo run -q --manifest-path scripts/onnx-proto/Cargo.toml
rustfmt --edition 2024 host/src/interop/onnx_proto.rs
