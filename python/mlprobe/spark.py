"""mlprobe's checks over a Spark DataFrame, computed where its data lives.

``expect(df, suite)`` runs the suite's streaming state update on the executors, over each
partition's Arrow batches (``DataFrame.mapInArrow``), ships each partition's state to the driver
as bytes (``ExpectState.to_bytes``, a few kilobytes per column), merges them there in partition
order and evaluates the merged state: the results ``mlprobe expect`` gives on the same rows in
one file (means and deviations up to rounding; quantiles within the sketch's stated error,
which merging does not widen). Needs pyspark and pyarrow, and the ``mlprobe`` package on the
executors' Python.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator

from . import ExpectState, PathLike

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["expect", "expect_state", "profile"]

_SCHEMA = "partition INT, state BINARY"


def _partition_states(empty: bytes, profile: bool = False):
    """The function Spark runs on each partition: its rows into a copy of the empty state (an
    ``ExpectState``'s, or a ``ProfileState``'s)."""

    def run(batches: Iterator["pa.RecordBatch"]) -> Iterator["pa.RecordBatch"]:
        import pyarrow as pa
        from pyspark import TaskContext

        from mlprobe import ExpectState, _mlprobe

        state = (_mlprobe.ProfileState if profile else ExpectState).from_bytes(empty)
        for batch in batches:
            state.update(batch)
        partition = TaskContext.get().partitionId()
        yield pa.RecordBatch.from_pydict(
            {"partition": [partition], "state": [state.to_bytes()]},
            schema=pa.schema([("partition", pa.int32()), ("state", pa.binary())]),
        )

    return run


def expect_state(df: "DataFrame", suite: PathLike) -> ExpectState:
    """The merged state of the suite's check over every row of ``df``, partitions in order."""
    return _merged(df, ExpectState(os.fspath(suite)), profile=False)


def expect(df: "DataFrame", suite: PathLike, *, data: str = "spark.DataFrame") -> dict[str, Any]:
    """Checks ``df`` against the suite file ``suite`` on the executors: the dict of ``mlprobe
    expect --json`` (``data`` its ``data`` field)."""
    return expect_state(df, suite).result(data)


def _merged(df: "DataFrame", empty, profile: bool):
    """``empty`` (a state of no rows) merged with the state of each partition, in order."""
    rows = df.mapInArrow(_partition_states(empty.to_bytes(), profile), _SCHEMA).collect()
    kind = type(empty)
    for row in sorted(rows, key=lambda r: r["partition"]):
        empty.merge(kind.from_bytes(bytes(row["state"])))
    return empty


def profile(df: "DataFrame", *, name: str = "suite") -> str:
    """A starting expectation suite for ``df``: the TOML ``mlprobe profile`` writes for the same
    rows in one file. Two passes over the partitions on the executors, as the command reads a
    file twice: the first learns each column's counts, moments, quantile sketch, distinct values
    and text; the driver merges them and fixes the drift bins; the second counts the rows per
    bin."""
    from . import _mlprobe

    first = _merged(df, _mlprobe.ProfileState(), profile=True)
    second = _merged(df, first.second_pass(), profile=True)
    return second.suite_toml(name, "mlprobe.spark.profile")
