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


if __name__ == "__main__":
    main()
