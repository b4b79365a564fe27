"""Fixtures of the Python package's tests: the repository, the `mlprobe` binary they compare
against (built if missing), and a generated mixed table (numbers, text, nulls) with a suite
that `mlprobe profile` wrote for it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    explicit = os.environ.get("MLPROBE_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    subprocess.run(
        ["cargo", "build", "-q", "-p", "mlprobe", "--bin", "mlprobe"], cwd=ROOT, check=True
    )
    return target / "debug" / "mlprobe"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs `mlprobe ARGS… --json`; returns (exit code, parsed JSON or None, stderr)."""
    binary = _binary()

    def run(*args: str, json_flag: bool = True):
        argv = [str(binary), *args] + (["--json"] if json_flag else [])
        p = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        doc = json.loads(p.stdout) if p.stdout.strip() and json_flag else None
        return p.returncode, doc, p.stderr

    return run


def comparable(doc: dict) -> dict:
    """An `expect` result without what differs between two runs of the same check."""
    doc = dict(doc)
    for k in ("seconds", "peak_rss_bytes", "data"):
        doc.pop(k, None)
    return doc


def same(a, b) -> bool:
    """Whether two JSON documents are equal, their numbers within 1e-10 (relative above 1,
    absolute below). Means and deviations of a column read from CSV text are summed row by
    row; of a column of Arrow (Parquet, a DataFrame) block by block (mlprobe_core's
    `Moments::extend_present`): the same figures up to rounding, as tests/tests/formats.rs
    compares CSV with Parquet."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        return abs(a - b) <= 1e-10 * max(abs(a), abs(b), 1.0)
    return a == b


def mixed_frame(rows: int, seed: int) -> pd.DataFrame:
    """Numbers (some missing, some integers), categories, free text with nulls, booleans."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.0, 0.6, rows).round(2)
    income[rng.random(rows) < 0.05] = np.nan
    age = rng.integers(18, 90, rows)
    score = rng.normal(0.0, 1.0, rows)
    city = rng.choice(["Paris", "Lyon", "Lille", "Nantes", "Brest"], rows, p=[0.4, 0.2, 0.2, 0.15, 0.05])
    code = np.array([f"{chr(65 + i % 26)}-{i % 1000:04d}" for i in rng.integers(0, 10**6, rows)], dtype=object)
    code[rng.random(rows) < 0.03] = None
    active = rng.random(rows) < 0.7
    return pd.DataFrame(
        {"income": income, "age": age, "score": score, "city": city, "code": code, "active": active}
    )


@pytest.fixture(scope="session")
def mixed(tmp_path_factory, cli):
    """A reference table and a drifted one (CSV and Parquet), and the suite `mlprobe profile`
    wrote from the reference."""
    d = tmp_path_factory.mktemp("mixed")
    ref = mixed_frame(5000, 1)
    cur = mixed_frame(3000, 2)
    cur.loc[cur.index[:40], "city"] = "Marseille"
    cur.loc[cur.index[40:60], "code"] = "bad code"
    cur["income"] = cur["income"] * 1.3
    paths = {}
    for name, frame in (("reference", ref), ("current", cur)):
        csv = d / f"{name}.csv"
        # Booleans as Arrow (and Spark) write them: `true`, where pandas writes `True`.
        text = frame.assign(active=frame["active"].map({True: "true", False: "false"}))
        text.to_csv(csv, index=False)
        frame.to_parquet(d / f"{name}.parquet", index=False)
        paths[name] = csv
    suite = d / "suite.toml"
    code, _, err = cli("profile", "--data", str(paths["reference"]), "--out", str(suite), json_flag=False)
    assert code == 0, err
    return {"dir": d, "frames": {"reference": ref, "current": cur}, "csv": paths, "suite": suite}
