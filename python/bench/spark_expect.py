"""Benchmark: the same expectation suite over 10 M rows × 10 columns (6 of numbers, 4 of text)
in one Parquet file, three ways, in one run:

1. ``mlprobe.spark.expect`` on local Spark (``mapInArrow``: mlprobe's streaming states on the
   executors, merged on the driver);
2. the same checks as plain PySpark aggregations, as Deequ computes them: one scan with every
   column's aggregates (null counts, out-of-range and out-of-set counts, min, max, mean,
   stddev, ``percentile_approx``, lengths, regex misses), then one group-by per text column
   for its distinct values and most common value;
3. the ``mlprobe expect`` command line on the file.

Prints each time and the ratios against the PySpark aggregations. Usage:

    python python/bench/spark_expect.py [--rows 10000000] [--dir DIR] [--cores 2]

``--dir`` keeps the generated file (and reuses it when its row count matches).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
NUMBERS = ["amount", "latency", "score", "age", "items", "ratio"]
TEXTS = ["city", "country", "status", "code"]
CITIES = ["Paris", "Lyon", "Lille", "Nantes", "Brest", "Nice", "Metz", "Caen"]
COUNTRIES = [f"C{i:02d}" for i in range(50)]
STATUSES = ["ok", "retry", "failed"]
REGEX = r"^[A-Z]-[0-9]{4}$"
RANGES = {"amount": (0, 1e6), "latency": (0, 1e4), "score": (-6, 6), "age": (18, 89),
          "items": (0, 30), "ratio": (0, 1)}


def generate(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    group = 1_000_000
    writer = None
    for start in range(0, rows, group):
        n = min(group, rows - start)
        amount = rng.lognormal(3.0, 1.0, n)
        amount[rng.random(n) < 0.01] = np.nan
        code = pc.binary_join_element_wise(
            pa.array(np.array(list("ABCDEFGHIJ"))[rng.integers(0, 10, n)]),
            pc.utf8_lpad(pa.array(rng.integers(0, 10_000, n)).cast(pa.string()), 4, "0"),
            "-",
        )
        table = pa.table(
            {
                "amount": amount,
                "latency": rng.gamma(2.0, 20.0, n),
                "score": rng.normal(0.0, 1.0, n),
                "age": rng.integers(18, 90, n),
                "items": rng.poisson(3.0, n),
                "ratio": rng.random(n),
                "city": pa.array(np.array(CITIES)[rng.integers(0, len(CITIES), n)]),
                "country": pa.array(np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n)]),
                "status": pa.array(np.array(STATUSES)[rng.choice(3, n, p=[0.9, 0.08, 0.02])]),
                "code": code,
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=group)
    writer.close()


def suite_text(rows: int) -> str:
    def q(s):
        return '"' + s + '"'

    out = ['name = "bench"', ""]

    def add(kind: str, column: str, **params):
        out.append("[[expectations]]")
        out.append(f'type = "{kind}"')
        out.append(f"column = {q(column)}")
        for k, v in params.items():
            out.append(f"{k} = {v}")
        out.append("")

    for c in NUMBERS:
        lo, hi = RANGES[c]
        add("expect_column_values_to_not_be_null", c, mostly=0.95)
        add("expect_column_values_to_be_between", c, min_value=lo, max_value=hi)
        add("expect_column_mean_to_be_between", c, min_value=-1e9, max_value=1e9)
        add("expect_column_stdev_to_be_between", c, min_value=0, max_value=1e9)
        add("expect_column_quantile_values_to_be_between", c,
            quantile_ranges="{ quantiles = [0.25, 0.5, 0.75], value_ranges = [[-1e9, 1e9], [-1e9, 1e9], [-1e9, 1e9]] }")
    sets = {"city": CITIES, "country": COUNTRIES, "status": STATUSES}
    for c in TEXTS:
        add("expect_column_values_to_not_be_null", c)
        add("expect_column_value_lengths_to_be_between", c, min_value=1, max_value=10)
        add("expect_column_unique_value_count_to_be_between", c, min_value=1, max_value=200_000)
        if c in sets:
            add("expect_column_values_to_be_in_set", c, value_set="[" + ", ".join(q(s) for s in sets[c]) + "]")
            add("expect_column_most_common_value_to_be_in_set", c, value_set="[" + ", ".join(q(s) for s in sets[c]) + "]")
        else:
            add("expect_column_values_to_match_regex", c, regex=q(REGEX.replace("\\", "\\\\")))
    return "\n".join(out)


def pyspark_checks(df) -> dict:
    """The suite's checks as PySpark aggregations: one scan, then a group-by per text column."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("rows")]
    for c in NUMBERS:
        col = F.col(c).cast("double")
        missing = col.isNull() | F.isnan(col)
        aggs += [
            F.sum(F.when(missing, 1).otherwise(0)).alias(f"{c}_missing"),
            F.sum(F.when(~missing & ((col < RANGES[c][0]) | (col > RANGES[c][1])), 1).otherwise(0))
            .alias(f"{c}_out"),
            F.mean(F.when(~missing, col)).alias(f"{c}_mean"),
            F.stddev_samp(F.when(~missing, col)).alias(f"{c}_stdev"),
            F.percentile_approx(F.when(~missing, col), [0.25, 0.5, 0.75], 10000).alias(f"{c}_q"),
        ]
    sets = {"city": CITIES, "country": COUNTRIES, "status": STATUSES}
    for c in TEXTS:
        col = F.col(c)
        aggs += [
            F.sum(F.when(col.isNull(), 1).otherwise(0)).alias(f"{c}_missing"),
            F.min(F.length(col)).alias(f"{c}_minlen"),
            F.max(F.length(col)).alias(f"{c}_maxlen"),
        ]
        if c in sets:
            aggs.append(F.sum(F.when(col.isNotNull() & ~col.isin(sets[c]), 1).otherwise(0)).alias(f"{c}_out"))
        else:
            aggs.append(F.sum(F.when(col.isNotNull() & ~col.rlike(REGEX), 1).otherwise(0)).alias(f"{c}_out"))
    result = df.agg(*aggs).collect()[0].asDict()
    for c in TEXTS:
        counts = df.groupBy(c).count()
        result[f"{c}_distinct"] = counts.count()
        if c in sets:
            result[f"{c}_mode"] = counts.orderBy(F.desc("count")).first()[c]
    return result


def timed(f):
    start = time.perf_counter()
    value = f()
    return time.perf_counter() - start, value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "mlprobe")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="mlprobe-spark-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, suite = work / "bench.parquet", work / "bench.suite.toml"
    if not data.exists() or pq.ParquetFile(data).metadata.num_rows != args.rows:
        seconds, _ = timed(lambda: generate(data, args.rows))
        print(f"generated {args.rows:,} rows x 10 columns in {seconds:.1f} s: {data} "
              f"({data.stat().st_size / 2**20:.0f} MiB)", flush=True)
    suite.write_text(suite_text(args.rows))

    import mlprobe.spark
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .appName("mlprobe-bench")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "65536")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(str(data))
    print(f"Spark local[{args.cores}], {df.rdd.getNumPartitions()} partitions", flush=True)
    # Warm the JVM and the file cache once.
    df.count()

    t_spark, doc = timed(lambda: mlprobe.spark.expect(df, suite))
    t_agg, agg = timed(lambda: pyspark_checks(df))
    t_cli, cli = timed(lambda: subprocess.run(
        [str(args.bin), "expect", "--data", str(data), "--suite", str(suite), "--json"],
        capture_output=True, text=True))
    spark.stop()
    assert doc["rows"] == agg["rows"] == args.rows, (doc["rows"], agg["rows"])
    assert doc["success"], [r for r in doc["results"] if not r["success"]][:3]
    means = {r["column"]: r["result"]["observed_value"] for r in doc["results"]
             if r["expectation_type"] == "expect_column_mean_to_be_between"}
    worst = max(abs(means[c] - agg[f"{c}_mean"]) / max(abs(agg[f"{c}_mean"]), 1e-300) for c in NUMBERS)

    print(f"\n{args.rows:,} rows x 10 columns, {len(doc['results'])} expectations, "
          f"{args.cores} cores")
    print(f"  PySpark aggregations (as Deequ):  {t_agg:8.2f} s  1.00x")
    print(f"  mlprobe.spark.expect (mapInArrow): {t_spark:7.2f} s  {t_agg / t_spark:.2f}x faster")
    print(f"  mlprobe expect (CLI, one process): {t_cli:7.2f} s  {t_agg / t_cli:.2f}x faster")
    print(f"  means: mlprobe and Spark agree to {worst:.1e} (relative)")
    if args.dir is None:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
