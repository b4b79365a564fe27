#!/usr/bin/env bash
# Creates .venv with the reference implementations the differential tests compare against
# (tests/reference/requirements.txt: numpy, scipy, mpmath, onnx, onnxruntime, safetensors,
# scikit-learn, ai-edge-litert). Does nothing when .venv already has them. Needs python3 with its venv module
# (Debian: python3-venv, installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
req=tests/reference/requirements.txt
if [ -x .venv/bin/python ] && .venv/bin/python -c "import numpy, scipy, mpmath, onnx, onnxruntime, safetensors, sklearn, ai_edge_litert.interpreter" 2>/dev/null \
  && [ .venv/.requirements -nt "$req" ]; then
  exit 0
fi
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
  fi
fi
echo "venv: creating .venv from $req"
python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r "$req"
touch .venv/.requirements
