#!/usr/bin/env bash
# Creates .venv with the reference implementations the differential tests compare against
# (tests/reference/requirements.txt: numpy, scipy, mpmath, onnx, onnxruntime, safetensors, pyarrow,
# scikit-learn, ai-edge-litert), and .venv-tflite-runtime with TFLite's older interpreter
# (tests/reference/requirements-tflite-runtime.txt: tflite-runtime 2.14, built against
# numpy 1, so in a venv of its own; its int8 kernels round as gemmlowp does, see
# tests/tests/tflite.rs), and .venv-python where the Python package is built and tested
# (python/requirements-test.txt: maturin, pytest, pandas, polars, pyarrow, pyspark). Does nothing for a venv that already has its packages. Needs python3
# with its venv module (Debian: python3-venv, installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

# make_venv DIR REQUIREMENTS IMPORTS: DIR from REQUIREMENTS unless it can import IMPORTS and
# is newer than REQUIREMENTS.
make_venv() {
  local dir=$1 req=$2 imports=$3
  if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import $imports" 2>/dev/null \
    && [ "$dir/.requirements" -nt "$req" ]; then
    return 0
  fi
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""
      [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    fi
  fi
  echo "venv: creating $dir from $req"
  python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r "$req"
  touch "$dir/.requirements"
}

make_venv .venv tests/reference/requirements.txt \
  "numpy, scipy, mpmath, onnx, onnxruntime, safetensors, sklearn, ai_edge_litert.interpreter, pyarrow"
make_venv .venv-tflite-runtime tests/reference/requirements-tflite-runtime.txt \
  "numpy, tflite_runtime.interpreter"
make_venv .venv-python python/requirements-test.txt \
  "maturin, pytest, numpy, pandas, polars, pyarrow, pyspark"
