"""PyTorch-style MLPs made outside mlprobe, for tests/tests/safetensors.rs.

Writes tests/fixtures/safetensors/ (checked in; rerun to remake, the bytes are the same):
  inputs.csv         16 rows of 4 features (float32 values, written exactly)
  mlp2.safetensors   Linear(4, 8) -> ReLU -> Linear(8, 3), nn.Sequential names 0.*, 2.*
  mlp3.safetensors   Linear(4, 8) -> ReLU -> Linear(8, 6) -> ReLU -> Linear(6, 3): 0.*, 2.*, 4.*
  mlpK.logits.csv    the logits numpy computes for inputs.csv (float64 from the float32 values)
Each .safetensors has normalizer.mean / normalizer.std and the metadata mlprobe.features, and is
written by the `safetensors` package's numpy API (safetensors.numpy.save), as a user would.

Run: .venv/bin/python tests/reference/make_safetensors.py
"""

from pathlib import Path

import numpy as np
from safetensors.numpy import save

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "safetensors"
FEATURES = ["alpha", "beta", "gamma", "delta"]


def forward(tensors, layers, x):
    """Standardise, then Linear layers with ReLU between them, in float64."""
    h = (x - tensors["normalizer.mean"].astype(np.float64)) / tensors["normalizer.std"].astype(
        np.float64
    )
    for k, i in enumerate(layers):
        w = tensors[f"{i}.weight"].astype(np.float64)
        b = tensors[f"{i}.bias"].astype(np.float64)
        h = h @ w.T + b
        if k + 1 < len(layers):
            h = np.maximum(h, 0.0)
    return h


def network(rng, widths):
    """nn.Sequential(Linear, ReLU, Linear, ...) weights: Linear k at index 2k, float32."""
    tensors = {}
    for k, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        bound = 1.0 / np.sqrt(n_in)  # nn.Linear's default init range
        tensors[f"{2 * k}.weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        tensors[f"{2 * k}.bias"] = rng.uniform(-bound, bound, n_out).astype(np.float32)
    tensors["normalizer.mean"] = rng.normal(0.0, 2.0, widths[0]).astype(np.float32)
    tensors["normalizer.std"] = rng.uniform(0.5, 3.0, widths[0]).astype(np.float32)
    return tensors


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(16)
    x = rng.normal(0.0, 3.0, (16, len(FEATURES))).astype(np.float32)
    write_csv(OUT / "inputs.csv", FEATURES, x)
    for name, widths in [("mlp2", [4, 8, 3]), ("mlp3", [4, 8, 6, 3])]:
        tensors = network(rng, widths)
        layers = [2 * k for k in range(len(widths) - 1)]
        meta = {"mlprobe.features": ",".join(FEATURES)}
        (OUT / f"{name}.safetensors").write_bytes(save(tensors, metadata=meta))
        logits = forward(tensors, layers, x.astype(np.float64))
        write_csv(OUT / f"{name}.logits.csv", [f"logit_{c}" for c in range(widths[-1])], logits)


if __name__ == "__main__":
    main()
