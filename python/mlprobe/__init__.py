"""mlprobe from Python: the same Rust core and host library as the ``mlprobe`` command line.

Models (``Model``), expectation suites on files and on in-memory tables (``expect``,
``ExpectState``), A/B analyses (``mlprobe.ab``), drift between two files (``drift``) and, with
pyspark, the same checks over a Spark DataFrame (``mlprobe.spark``). Every result is the dict
of the command line's ``--json`` output; every error is an ``mlprobe.Error`` whose message is
the command line's (``InputError`` for what the command line exits with 2 for).

Tables are pyarrow Tables and RecordBatches, pandas and polars DataFrames, or anything with
``__arrow_c_stream__``: their columns are read through the Arrow C stream interface, without a
copy of their buffers, with the meaning their CSV text would have (nulls and NaN missing).
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple, Optional, Sequence, Union

import numpy as np

from . import _mlprobe
from ._mlprobe import DeviceError, Error, InputError, InternalError
from . import ab

__all__ = [
    "DeviceError",
    "Error",
    "ExpectState",
    "InputError",
    "InternalError",
    "Model",
    "Prediction",
    "ab",
    "drift",
    "expect",
    "profile",
]

__version__: str = _mlprobe.version()

PathLike = Union[str, "os.PathLike[str]"]


def _table(data: Any) -> Any:
    """A pandas DataFrame without its index (``__arrow_c_stream__`` of a DataFrame whose index
    is not a plain range, a filtered one, adds it as a column ``__index_level_0__``); any other
    table as it is."""
    if type(data).__module__.split(".")[0] == "pandas" and type(data).__name__ == "DataFrame":
        import pyarrow as pa

        return pa.Table.from_pandas(data, preserve_index=False)
    return data


class Prediction(NamedTuple):
    """What ``Model.predict`` returns, one entry per row (as ``mlprobe predict --json``)."""

    classes: np.ndarray
    """The predicted class of each row (``int64``)."""
    probabilities: np.ndarray
    """Softmax probabilities, rows × classes (``float32``)."""
    logits: np.ndarray
    """The network's outputs, rows × classes (``float32``)."""
    finite: np.ndarray
    """Whether the row's features and logits were finite (``bool``)."""


class Model:
    """A model file (``mlprobe train``'s, or ``mlprobe import``'s from ONNX, PyTorch, TFLite)."""

    def __init__(self, inner: _mlprobe.Model) -> None:
        self._inner = inner

    @classmethod
    def load(cls, path: PathLike) -> "Model":
        """Loads the model file at ``path``."""
        return cls(_mlprobe.Model.load(os.fspath(path)))

    @property
    def feature_names(self) -> Optional[list[str]]:
        """The features the model takes, in order (``None`` for a model without names)."""
        return self._inner.feature_names

    @property
    def class_names(self) -> Optional[list[str]]:
        """The classes' names (``None`` for a model without names)."""
        return self._inner.class_names

    def predict(self, X: Any, *, label: str = "label") -> Prediction:
        """Predicts every row of ``X``: a 2-D numpy array in the model's feature order, or a
        table whose columns are bound to the model's features by name (its ``label`` column,
        if any, is left out)."""
        return Prediction(*self._inner.predict(_table(X), label))

    def evaluate(
        self,
        X: Any,
        y: Optional[Sequence[int]] = None,
        *,
        label: str = "label",
        latency_samples: int = 10_000,
    ) -> dict[str, Any]:
        """Accuracy, per-class precision, recall and F1, the confusion matrix and the latency:
        the fields of ``mlprobe eval --json``. ``X`` a numpy array with ``y`` its class
        numbers, or a table with its ``label`` column."""
        ys = None if y is None else [int(v) for v in np.asarray(y).ravel()]
        return json.loads(self._inner.evaluate_json(_table(X), ys, label, latency_samples))

    def __repr__(self) -> str:
        return f"Model({os.fspath(self._inner.path)!r})"


def expect(data: Any, suite: PathLike) -> dict[str, Any]:
    """Checks ``data`` against the expectation suite file ``suite``: the dict of ``mlprobe
    expect --json``. ``data`` is a file (CSV, compressed CSV, Parquet) or a table in memory."""
    if isinstance(data, os.PathLike):
        data = os.fspath(data)
    return json.loads(_mlprobe.expect_json(_table(data), os.fspath(suite)))


class ExpectState:
    """A suite's check over rows given batch by batch, mergeable with the state of the rows
    that follow and carried between processes as bytes (what ``mlprobe.spark.expect`` ships
    from Spark's executors to its driver). ``result()`` is what ``expect`` gives on all the
    rows in one table."""

    def __init__(self, suite: PathLike) -> None:
        self._inner = _mlprobe.ExpectState(os.fspath(suite))

    def update(self, batch: Any) -> int:
        """Adds the rows of a table (pyarrow RecordBatch or Table, pandas or polars
        DataFrame); returns how many. On an error the state is unchanged."""
        return self._inner.update(_table(batch))

    def merge(self, other: "ExpectState") -> "ExpectState":
        """Appends ``other``: its rows follow this state's (a later partition's). Both must be
        of the same suite and of tables with the same columns. Returns this state."""
        self._inner.merge(other._inner)
        return self

    def to_bytes(self) -> bytes:
        """The state as bytes, suite included."""
        return self._inner.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ExpectState":
        """The state ``to_bytes`` wrote."""
        state = cls.__new__(cls)
        state._inner = _mlprobe.ExpectState.from_bytes(bytes(data))
        return state

    def result(self, data: str = "state") -> dict[str, Any]:
        """The dict of ``mlprobe expect --json`` over every row seen (``data`` its ``data``)."""
        return json.loads(self._inner.result_json(data))

    @property
    def rows(self) -> int:
        """The rows seen."""
        return self._inner.rows

    @property
    def columns(self) -> Optional[list[str]]:
        """The table's columns (``None`` before the first batch)."""
        return self._inner.columns

    def __repr__(self) -> str:
        return f"ExpectState(rows={self.rows}, columns={self.columns!r})"


def profile(data: Any, *, name: str = "suite") -> str:
    """A starting expectation suite for a table in memory (a pyarrow Table, a pandas or polars
    DataFrame): the TOML ``mlprobe profile`` writes for the same rows, read in two passes."""
    data = _table(data)
    first = _mlprobe.ProfileState()
    first.update(data)
    second = first.second_pass()
    second.update(data)
    return second.suite_toml(name, "mlprobe.profile")


def drift(
    reference: PathLike,
    current: PathLike,
    *,
    columns: Optional[Sequence[str]] = None,
    alpha: float = 0.05,
    threads: Optional[int] = None,
) -> dict[str, Any]:
    """Has the data moved since the reference? The dict of ``mlprobe drift --json``: per
    column, KS, PSI and Wasserstein for numbers, chi-square and PSI for categories, with
    Benjamini–Hochberg adjusted p-values."""
    cols = None if columns is None else [str(c) for c in columns]
    return json.loads(
        _mlprobe.drift_json(os.fspath(reference), os.fspath(current), cols, alpha, threads)
    )
