//! Expectation suites checked against data: the library behind `mlprobe expect`.
//!
//! [`validate`] streams a CSV file; [`validate_dataset`] checks rows already in memory (the
//! damaged datasets of `mlprobe chaos --experiment input --suite …`).

pub use crate::commands::expect::{Validation, validate};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::suite::Suite;

/// Checks `values` (row-major, `data.width()` features per row, `NaN` missing) with `data`'s
/// header and labels against `suite`, exactly as `mlprobe expect` would check the same rows
/// written as CSV.
pub fn validate_dataset(suite: &Suite, data: &Dataset, values: &[f32]) -> Result<Validation> {
    use std::fmt::Write;
    let dir = tempfile::tempdir().map_err(|e| Error::Internal(format!("temporary dir: {e}")))?;
    let path = dir.path().join("rows.csv");
    let mut s = data.feature_names.join(",");
    if let Some(l) = &data.label_name {
        s += ",";
        s += l;
    }
    s.push('\n');
    let w = data.width();
    for r in 0..data.rows() {
        for (j, v) in values[r * w..(r + 1) * w].iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            if !v.is_nan() {
                let _ = write!(s, "{v}");
            }
        }
        if let Some(l) = &data.labels {
            let _ = write!(s, ",{}", l[r]);
        }
        s.push('\n');
    }
    std::fs::write(&path, s).map_err(|e| Error::io(&path, e))?;
    validate(suite, &path, Default::default())
}
