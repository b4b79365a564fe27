//! Throughput and peak memory of `mlprobe expect` on a large CSV file, and on the same table in
//! Parquet.
//!
//! Generates 1,000,000 rows × 10 numeric columns (about 81 MB; 1 % of cells missing) in a
//! temporary directory, runs the release `mlprobe expect --json` on it with a suite of 12
//! expectations (every type but `expect_column_to_exist`), five times, and prints the wall time
//! (best and median), rows per second and the child's peak resident memory (`VmHWM`, which the
//! command reports in its JSON). When `python3` with `polars` is installed, the same checks run
//! in polars as the baseline (the issue's reference: about 0.37 s and 230 MiB on 2 cores).
//! Then the same table is written as Parquet (the `parquet` crate's Arrow writer, snappy, row
//! groups of 128 Ki rows, as pyarrow writes by default: float64 columns, the class column
//! int64) and both are timed again, polars with `read_parquet`.
//!
//! Last, a table of numbers *and* strings (1,000,000 rows: six numeric columns, a category of
//! ten values, a code `AB-1234` (1 % malformed), a city of 50 values (1 % missing) and a
//! boolean flag) as Parquet and CSV, checked by a suite of numeric and text expectations (sets
//! of strings, a regex, lengths, distinct and unique counts, the mode, the dtype, a KL
//! divergence), and polars computing the same on the same file.
//!
//! ```text
//! cargo bench -p mlprobe --bench expect
//! EXPECT_BENCH_ROWS=10000000 cargo bench -p mlprobe --bench expect   # ~0.8 GB: memory stays flat
//! EXPECT_BENCH_DIR=/tmp/bench cargo bench -p mlprobe --bench expect   # keeps the tables and suites
//! ```

use rand::{RngExt, SeedableRng};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const COLUMNS: usize = 10;

fn generate(path: &Path, rows: usize) -> u64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let header: Vec<String> = (0..COLUMNS).map(|c| format!("c{c}")).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut line = String::with_capacity(128);
    for _ in 0..rows {
        line.clear();
        for c in 0..COLUMNS {
            if c > 0 {
                line.push(',');
            }
            if rng.random_range(0..100u32) == 0 {
                continue; // missing
            }
            if c == 2 {
                // A class column.
                line.push_str(&rng.random_range(0..10u32).to_string());
            } else {
                let x: f64 = rng.random_range(0.0..100.0);
                line.push_str(&format!("{x:.5}"));
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

const SUITE: &str = r#"
name = "bench"

[[expectations]]
type = "expect_table_row_count_to_be_between"
min_value = 1

[[expectations]]
type = "expect_table_columns_to_match_ordered_list"
column_list = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "c0"
mostly = 0.95

[[expectations]]
type = "expect_column_values_to_be_between"
column = "c1"
min_value = 0.0
max_value = 100.0

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "c2"
value_set = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "c3"
min_value = 45.0
max_value = 55.0

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "c4"
min_value = 25.0
max_value = 33.0

[[expectations]]
type = "expect_column_min_to_be_between"
column = "c5"
min_value = 0.0
max_value = 1.0

[[expectations]]
type = "expect_column_max_to_be_between"
column = "c6"
min_value = 99.0
max_value = 100.0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "c7"
quantile_ranges = { quantiles = [0.05, 0.5, 0.95], value_ranges = [[3.0, 7.0], [45.0, 55.0], [93.0, 97.0]] }

[[expectations]]
type = "expect_column_psi_to_be_less_than"
column = "c8"
partition_object = { bins = [0.0, 25.0, 50.0, 75.0, 100.0], weights = [0.25, 0.25, 0.25, 0.25] }
threshold = 0.1

[[expectations]]
type = "expect_column_values_to_be_between"
column = "c9"
min_value = 10.0
mostly = 0.85
"#;

/// The same checks in polars (`read_csv` or `read_parquet`, one `select`), printing seconds and
/// peak RSS (MiB).
const POLARS: &str = r#"
import resource, sys, time
import polars as pl
t = time.perf_counter()
df = pl.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pl.read_csv(sys.argv[1])
n = df.height
c = pl.col
r = df.select(
    c("c0").null_count().alias("nulls"),
    ((c("c1") < 0) | (c("c1") > 100)).sum().alias("between"),
    (~c("c2").is_in(list(range(10)))).sum().alias("in_set"),
    c("c3").mean().alias("mean"),
    c("c4").std().alias("std"),
    c("c5").min().alias("min"),
    c("c6").max().alias("max"),
    c("c7").quantile(0.05, "nearest").alias("q05"),
    c("c7").quantile(0.5, "nearest").alias("q50"),
    c("c7").quantile(0.95, "nearest").alias("q95"),
    (c("c8") < 25).sum().alias("b0"),
    ((c("c8") >= 25) & (c("c8") < 50)).sum().alias("b1"),
    ((c("c8") >= 50) & (c("c8") < 75)).sum().alias("b2"),
    (c("c8") >= 75).sum().alias("b3"),
    (c("c9") < 10).sum().alias("c9"),
)
cols = df.columns
s = time.perf_counter() - t
print(f"{s:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"#;

fn main() {
    // `cargo bench` passes `--bench`; any other argument is ignored.
    let rows: usize = std::env::var("EXPECT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // EXPECT_BENCH_DIR keeps the generated files (to time or profile one case by hand).
    let kept = std::env::var_os("EXPECT_BENCH_DIR").map(std::path::PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.as_deref().unwrap_or(temp.path());
    std::fs::create_dir_all(dir).unwrap();
    let data = dir.join("big.csv");
    let suite = dir.join("bench.toml");
    std::fs::write(&suite, SUITE).unwrap();
    let t = Instant::now();
    let bytes = generate(&data, rows);
    println!(
        "generated {rows} rows x {COLUMNS} columns, {:.1} MB, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = dir.join("polars_expect.py");
    std::fs::write(&script, POLARS).unwrap();
    let best = measure(&suite, &data, rows, bytes, cores, "CSV");
    baseline(&script, &data, best, "read_csv");

    let parquet = dir.join("big.parquet");
    let t = Instant::now();
    let bytes = to_parquet(&data, &parquet);
    println!(
        "wrote it as Parquet (snappy), {:.1} MB, in {:.1} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let best = measure(&suite, &parquet, rows, bytes, cores, "Parquet");
    baseline(&script, &parquet, best, "read_parquet");

    // Numbers and strings.
    let mixed = dir.join("mixed.csv");
    let bytes = generate_mixed(&mixed, rows);
    let mixed_suite = dir.join("mixed.toml");
    std::fs::write(&mixed_suite, MIXED_SUITE).unwrap();
    let mixed_script = dir.join("polars_mixed.py");
    std::fs::write(&mixed_script, POLARS_MIXED).unwrap();
    let mixed_parquet = dir.join("mixed.parquet");
    let parquet_bytes = to_parquet(&mixed, &mixed_parquet);
    println!(
        "mixed table: {rows} rows x 10 columns (6 numbers, 4 text), CSV {:.1} MB, Parquet {:.1} MB",
        bytes as f64 / 1e6,
        parquet_bytes as f64 / 1e6
    );
    let what = "numbers and strings, 16 expectations";
    let best = measure(
        &mixed_suite,
        &mixed_parquet,
        rows,
        parquet_bytes,
        cores,
        &format!("Parquet, {what}"),
    );
    baseline(&mixed_script, &mixed_parquet, best, "read_parquet");
    let best = measure(
        &mixed_suite,
        &mixed,
        rows,
        bytes,
        cores,
        &format!("CSV, {what}"),
    );
    baseline(&mixed_script, &mixed, best, "read_csv");
}

const CITIES: usize = 50;

/// The mixed table: `n0`–`n5` numbers, `cat` (ten categories), `code` (`AB-1234`, 1 % not),
/// `city` (50 values, 1 % missing), `flag` (`true`/`false`).
fn generate_mixed(path: &Path, rows: usize) -> u64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "n0,n1,n2,n3,n4,n5,cat,code,city,flag").unwrap();
    let mut line = String::with_capacity(128);
    for _ in 0..rows {
        line.clear();
        for _ in 0..6 {
            let x: f64 = rng.random_range(0.0..100.0);
            line.push_str(&format!("{x:.4},"));
        }
        line.push_str(&format!("cat_{},", rng.random_range(0..10u32)));
        let (a, b) = (rng.random_range(b'A'..=b'Z'), rng.random_range(b'A'..=b'Z'));
        if rng.random_range(0..100u32) == 0 {
            line.push_str(&format!(
                "{}{}{},",
                a as char,
                b as char,
                rng.random_range(0..100u32)
            ));
        } else {
            line.push_str(&format!(
                "{}{}-{:04},",
                a as char,
                b as char,
                rng.random_range(0..10_000u32)
            ));
        }
        if rng.random_range(0..100u32) != 0 {
            line.push_str(&format!("city_{:02}", rng.random_range(0..CITIES)));
        }
        line.push(',');
        line.push_str(if rng.random_range(0..3u32) == 0 {
            "true"
        } else {
            "false"
        });
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

const MIXED_SUITE: &str = r#"
name = "mixed"

[[expectations]]
type = "expect_table_row_count_to_be_between"
min_value = 1

[[expectations]]
type = "expect_column_values_to_be_between"
column = "n0"
min_value = 0.0
max_value = 100.0

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "n1"
min_value = 45.0
max_value = 55.0

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "n2"
min_value = 25.0
max_value = 33.0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "n3"
quantile_ranges = { quantiles = [0.05, 0.5, 0.95], value_ranges = [[3.0, 7.0], [45.0, 55.0], [93.0, 97.0]] }

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "n4"

[[expectations]]
type = "expect_column_max_to_be_between"
column = "n5"
min_value = 99.0

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "cat"
value_set = ["cat_0", "cat_1", "cat_2", "cat_3", "cat_4", "cat_5", "cat_6", "cat_7", "cat_8", "cat_9"]

[[expectations]]
type = "expect_column_most_common_value_to_be_in_set"
column = "cat"
value_set = ["cat_0", "cat_1", "cat_2", "cat_3", "cat_4", "cat_5", "cat_6", "cat_7", "cat_8", "cat_9"]

[[expectations]]
type = "expect_column_kl_divergence_to_be_less_than"
column = "cat"
partition_object = { values = ["cat_0", "cat_1", "cat_2", "cat_3", "cat_4", "cat_5", "cat_6", "cat_7", "cat_8", "cat_9"], weights = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1] }
threshold = 0.01

[[expectations]]
type = "expect_column_values_to_match_regex"
column = "code"
regex = '^[A-Z]{2}-\d{4}$'
mostly = 0.95

[[expectations]]
type = "expect_column_value_lengths_to_be_between"
column = "code"
min_value = 7
max_value = 7
mostly = 0.95

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "city"
mostly = 0.95

[[expectations]]
type = "expect_column_unique_value_count_to_be_between"
column = "city"
min_value = 40
max_value = 60

[[expectations]]
type = "expect_column_proportion_of_unique_values_to_be_between"
column = "city"
max_value = 0.01

[[expectations]]
type = "expect_column_values_to_be_of_type"
column = "flag"
type_ = "bool"
"#;

/// The mixed suite's checks in polars.
const POLARS_MIXED: &str = r#"
import math, resource, sys, time
import polars as pl
t = time.perf_counter()
df = pl.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else pl.read_csv(sys.argv[1])
c = pl.col
cats = [f"cat_{i}" for i in range(10)]
r = df.select(
    pl.len().alias("rows"),
    ((c("n0") < 0) | (c("n0") > 100)).sum().alias("between"),
    c("n1").mean().alias("mean"),
    c("n2").std().alias("std"),
    c("n3").quantile(0.05, "nearest").alias("q05"),
    c("n3").quantile(0.5, "nearest").alias("q50"),
    c("n3").quantile(0.95, "nearest").alias("q95"),
    c("n4").null_count().alias("n4_nulls"),
    c("n5").max().alias("max"),
    (~c("cat").is_in(cats)).sum().alias("in_set"),
    (~c("code").str.contains(r"^[A-Z]{2}-\d{4}$")).sum().alias("regex"),
    (c("code").str.len_chars() != 7).sum().alias("lengths"),
    c("city").null_count().alias("city_nulls"),
    c("city").n_unique().alias("city_unique"),
)
counts = df["cat"].value_counts()
modes = df["cat"].mode().to_list()
n = counts["count"].sum()
kl = sum((k / n) * math.log((k / n) / 0.1) for k in counts["count"].to_list())
dtype = df.schema["flag"]
s = time.perf_counter() - t
print(f"{s:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"#;

/// Runs `mlprobe expect` five times on `data`; prints the figures and returns the best time.
fn measure(suite: &Path, data: &Path, rows: usize, bytes: u64, cores: usize, what: &str) -> f64 {
    let bin = env!("CARGO_BIN_EXE_mlprobe");
    let mut times = Vec::new();
    let mut peak = 0u64;
    for _ in 0..5 {
        let t = Instant::now();
        let o = Command::new(bin)
            .args(["expect", "--json", "--suite"])
            .arg(suite)
            .arg("--data")
            .arg(data)
            .output()
            .unwrap();
        times.push(t.elapsed().as_secs_f64());
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
        });
        assert_eq!(doc["rows"], rows as u64, "{doc}");
        assert_eq!(
            doc["success"],
            true,
            "{}",
            serde_json::to_string_pretty(&doc["results"]).unwrap()
        );
        peak = peak.max(doc["peak_rss_bytes"].as_u64().unwrap_or(0));
    }
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[times.len() / 2]);
    println!(
        "mlprobe expect ({what}), {cores} cores: best {best:.3} s, median {median:.3} s, {:.2} M \
         rows/s (best), {:.0} MB/s; peak RSS {:.1} MiB",
        rows as f64 / best / 1e6,
        bytes as f64 / best / 1e6,
        peak as f64 / (1024.0 * 1024.0)
    );
    best
}

/// The same checks in polars on `data` (best of 3), against mlprobe's best time.
fn baseline(script: &Path, data: &Path, best: f64, reader: &str) {
    let mut polars = Vec::new();
    for _ in 0..3 {
        match Command::new("python3").arg(script).arg(data).output() {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout).to_string();
                let mut it = text.split_whitespace();
                let s: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                let mib: f64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
                polars.push((s, mib));
            }
            _ => break,
        }
    }
    if polars.is_empty() {
        println!("polars: not measured (python3 with polars is not installed)");
    } else {
        polars.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (s, mib) = polars[0];
        println!(
            "polars {reader} + same checks: best {s:.3} s, peak RSS {mib:.0} MiB; mlprobe is \
             {:.2}x faster",
            s / best
        );
    }
}

/// The CSV file `csv` as Parquet at `out` (arrow-csv reads it with the schema it infers from
/// its first rows); returns the file's size.
fn to_parquet(csv: &Path, out: &Path) -> u64 {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    let mut file = std::fs::File::open(csv).unwrap();
    let (schema, _) = arrow_csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&mut file, Some(10_000))
        .unwrap();
    let file = std::fs::File::open(csv).unwrap();
    let reader = arrow_csv::ReaderBuilder::new(std::sync::Arc::new(schema))
        .with_header(true)
        .with_batch_size(65_536)
        .build(file)
        .unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(128 * 1024))
        .build();
    let sink = std::fs::File::create(out).unwrap();
    let mut writer = ArrowWriter::try_new(sink, reader.schema(), Some(props)).unwrap();
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.close().unwrap();
    std::fs::metadata(out).unwrap().len()
}
