"""Parquet files for the input-format tests (tests/tests/formats.rs), written by pyarrow as
pandas, Spark and pyarrow users have them.

    python make_parquet.py CSV OUT_DIR

From the CSV file (read by pyarrow's CSV reader: integral columns become int64, the others
float64, empty cells null):
- table.parquet: snappy (pyarrow's default), row groups of 50 rows (several per file);
- table.zstd.parquet, table.gzip.parquet: the same rows, other codecs, one row group;
- table.f32.parquet: the float64 columns cast to float32 (as a model's features are often
  stored), and f32.json: per column, the smallest and largest value of the float32 column
  widened to float64 (numpy's float64 of the float32), which `mlprobe profile` must report;
- nested.parquet: an int64 column `a` and a list column `tags`;
- typed.parquet: a double column with a null, an int32 column with a null, a string column of
  numbers and missing-value markers, a string label column (typed.csv: the same table as CSV
  text, written here by hand);
- flag.parquet: a boolean column; words.parquet: a string column with a word in row 2;
- groups.parquet: 80,000 rows of four normal columns in 40 row groups (read on several
  threads), and groups.csv, the same numbers as CSV text (Python's shortest repr);
- empty.parquet: the columns of the CSV file and no rows.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    table = pacsv.read_csv(src)
    pq.write_table(table, out / "table.parquet", row_group_size=50)
    pq.write_table(table, out / "table.zstd.parquet", compression="zstd")
    pq.write_table(table, out / "table.gzip.parquet", compression="gzip")

    f32 = pa.table(
        {
            name: (col.cast(pa.float32()) if pa.types.is_floating(col.type) else col)
            for name, col in zip(table.column_names, table.columns)
        }
    )
    pq.write_table(f32, out / "table.f32.parquet")
    extremes = {}
    for name, col in zip(f32.column_names, f32.columns):
        if pa.types.is_float32(col.type):
            values = col.to_numpy(zero_copy_only=False)
            values = values[~np.isnan(values)]
            extremes[name] = [float(np.float64(values.min())), float(np.float64(values.max()))]
    (out / "f32.json").write_text(json.dumps(extremes))

    nested = pa.table({"a": pa.array([1, 2, 3]), "tags": pa.array([[1], [2, 3], []])})
    pq.write_table(nested, out / "nested.parquet")
    pq.write_table(table.slice(0, 0), out / "empty.parquet")

    typed = pa.table(
        {
            "x": pa.array([1.5, None, 2.5, 4.0, 0.1], pa.float64()),
            "n": pa.array([1, 2, None, 4, 5], pa.int32()),
            "s": pa.array(["1.25", "NA", None, "7", " 3 "]),
            "label": pa.array(["0", "1", "1", "0", "1"]),
        }
    )
    pq.write_table(typed, out / "typed.parquet")
    (out / "typed.csv").write_text(
        "x,n,s,label\n1.5,1,1.25,0\n,2,NA,1\n2.5,,,1\n4.0,4,7,0\n0.1,5, 3 ,1\n"
    )
    pq.write_table(
        pa.table({"a": pa.array([1.0, 2.0]), "flag": pa.array([True, False])}),
        out / "flag.parquet",
    )
    pq.write_table(
        pa.table({"a": pa.array([1.0, 2.0]), "s": pa.array(["3", "abc"])}),
        out / "words.parquet",
    )

    rng = np.random.default_rng(7)
    columns = {f"c{i}": rng.normal(i, 1 + i, 80_000) for i in range(4)}
    pq.write_table(pa.table(columns), out / "groups.parquet", row_group_size=2_000)
    with open(out / "groups.csv", "w") as f:
        f.write(",".join(columns) + "\n")
        for row in zip(*columns.values()):
            f.write(",".join(repr(float(v)) for v in row) + "\n")


if __name__ == "__main__":
    main()
