//! A profile fed batch by batch and merged across processes: [`ProfileState`], what
//! `mlprobe.spark.profile` runs on Spark's executors (two passes over the partitions, their
//! states merged on the driver between them).

use super::{MAX_DISTINCT, Pass1, Pass2, TextProfile, bins_of, suite_of};
use crate::data::Sink;
use crate::data::arrow::scan_batches;
use crate::error::{Error, Result};
use crate::suite::Suite;
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema};
use mlprobe_core::expect::{ColumnState, Partition, QuantileSketch};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// The state of `mlprobe profile` over the rows seen so far, in two passes as the command
/// reads a file twice: the first learns each column's counts, extremes, moments, quantile
/// sketch, distinct values and text; [`second_pass`](ProfileState::second_pass) fixes the
/// drift bins from the merged first pass, and the second counts the rows per bin. Either
/// pass is fed in batches ([`update`](ProfileState::update)), merged with the state of the
/// rows that follow ([`merge`](ProfileState::merge)) and carried as bytes;
/// [`suite`](ProfileState::suite) is the suite `mlprobe profile` writes for the same rows.
pub struct ProfileState {
    names: Option<Vec<String>>,
    rows: u64,
    first: Option<Pass1>,
    /// The second pass: its bins and counts (the first pass is then complete).
    second: Option<Pass2>,
}

impl std::fmt::Debug for ProfileState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileState")
            .field("columns", &self.names)
            .field("rows", &self.rows)
            .field("second_pass", &self.second.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for ProfileState {
    fn default() -> Self {
        Self::new()
    }
}

/// The first bytes of [`ProfileState::to_bytes`]: a name and the format's version.
const MAGIC: &[u8; 8] = b"mlpPS\x00\x00\x01";

#[derive(Serialize, Deserialize)]
struct Wire {
    names: Option<Vec<String>>,
    rows: u64,
    first: Option<WirePass1>,
    /// Each column's bin edges (`None`: no bins) and counts.
    second: Option<Vec<WireBins>>,
}

/// A column's drift bins in the second pass: their edges (`None`: no bins) and counts.
type WireBins = (Option<Vec<f64>>, Vec<u64>);

#[derive(Serialize, Deserialize)]
struct WirePass1 {
    columns: Vec<ColumnState>,
    sketches: Vec<QuantileSketch>,
    distinct: Vec<Option<Vec<f64>>>,
    texts: Vec<TextProfile>,
}

impl ProfileState {
    /// The first pass, before any row.
    pub fn new() -> Self {
        Self {
            names: None,
            rows: 0,
            first: None,
            second: None,
        }
    }

    /// The rows seen (in the second pass: by the first).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Whether this is the second pass.
    pub fn is_second_pass(&self) -> bool {
        self.second.is_some()
    }

    /// Adds the rows of `batches` (with `schema`; `label` names them in messages) to the
    /// pass. Their columns must be those of the rows before; in the second pass, those of the
    /// first. On an error the state is unchanged. Returns the rows added.
    pub fn update<I>(&mut self, label: &Path, schema: &Schema, batches: I) -> Result<u64>
    where
        I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
    {
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        if let Some(known) = &self.names
            && *known != names
        {
            return Err(Error::file(
                label,
                format!(
                    "its columns [{}] are not those of the rows profiled before [{}]",
                    crate::limits::excerpt_list(&names),
                    crate::limits::excerpt_list(known)
                ),
            ));
        }
        if let Some(second) = &mut self.second {
            let fresh = Pass2::new(&second.partitions);
            let (fresh, _) = scan_batches(label, schema, batches, fresh, 0)?;
            second.merge(fresh, 0);
            return Ok(0);
        }
        let fresh = Pass1::new(names.len());
        let (fresh, rows) = scan_batches(label, schema, batches, fresh, self.rows)?;
        match &mut self.first {
            Some(first) => first.merge(fresh, 0),
            None => self.first = Some(fresh),
        }
        self.names = Some(names);
        self.rows += rows;
        Ok(rows)
    }

    /// Appends the state of the rows that follow (`later`, of the same pass and columns; a
    /// state of no rows merges with any).
    pub fn merge(&mut self, later: ProfileState) -> Result<()> {
        if later.second.is_some() != self.second.is_some() {
            return Err(Error::Usage(
                "the profile states are of different passes: merge first passes, then second \
                 passes"
                    .into(),
            ));
        }
        if let (Some(a), Some(b)) = (&self.names, &later.names)
            && a != b
        {
            return Err(Error::Usage(format!(
                "the profile states are of tables with different columns ([{}] and [{}])",
                crate::limits::excerpt_list(a),
                crate::limits::excerpt_list(b)
            )));
        }
        if let (Some(a), Some(b)) = (&mut self.second, later.second) {
            if a.partitions != b.partitions {
                return Err(Error::Usage(
                    "the second passes have different bins: start them from one first pass".into(),
                ));
            }
            a.merge(b, 0);
            return Ok(());
        }
        match (&mut self.first, later.first) {
            (_, None) => {}
            (None, Some(b)) => {
                self.first = Some(b);
                self.names = later.names;
            }
            (Some(a), Some(b)) => a.merge(b, 0),
        }
        self.rows = self.rows.saturating_add(later.rows);
        Ok(())
    }

    /// The second pass of this (merged) first pass: its drift bins, no rows counted yet. A
    /// first pass of no rows is an error (there is nothing to profile).
    pub fn second_pass(&self) -> Result<ProfileState> {
        let (Some(first), Some(names)) = (&self.first, &self.names) else {
            return Err(Error::Usage("no rows to profile".into()));
        };
        if self.rows == 0 {
            return Err(Error::Usage("no rows to profile".into()));
        }
        let partitions = bins_of(first);
        Ok(Self {
            names: Some(names.clone()),
            rows: self.rows,
            first: Some(first.clone()),
            second: Some(Pass2::new(&partitions)),
        })
    }

    /// The suite named `name` that `mlprobe profile` writes for these rows (after both
    /// passes).
    pub fn suite(&self, name: &str) -> Result<Suite> {
        match (&self.names, &self.first, &self.second) {
            (Some(names), Some(first), Some(second)) => suite_of(name, names, first, second),
            _ => Err(Error::Usage(
                "the profile needs its second pass (second_pass, then the rows again)".into(),
            )),
        }
    }

    /// The suite as `mlprobe profile` writes it (TOML), its heading naming `source` (what
    /// profiled the rows).
    pub fn suite_toml(&self, name: &str, source: &str) -> Result<String> {
        Ok(self
            .suite(name)?
            .to_toml(&super::comment(source, self.rows)))
    }

    /// The state as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = Wire {
            names: self.names.clone(),
            rows: self.rows,
            first: self.first.as_ref().map(|p| WirePass1 {
                columns: p.columns.clone(),
                sketches: p.sketches.clone(),
                distinct: p.distinct.clone(),
                texts: p.texts.clone(),
            }),
            second: self.second.as_ref().map(|p| {
                p.partitions
                    .iter()
                    .zip(&p.counts)
                    .map(|(part, counts)| {
                        (part.as_ref().map(|q| q.edges().to_vec()), counts.clone())
                    })
                    .collect()
            }),
        };
        postcard::to_extend(&wire, MAGIC.to_vec()).expect("a Vec grows")
    }

    /// The state [`to_bytes`](Self::to_bytes) wrote; bytes of another format, or whose parts
    /// do not fit each other, are an error (`label` names them).
    pub fn from_bytes(label: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |m: &str| Error::file(label, format!("not an mlprobe profile state: {m}"));
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("it does not start with the state's magic bytes"))?;
        let wire: Wire = postcard::from_bytes(body).map_err(|e| bad(&e.to_string()))?;
        let width = wire.names.as_ref().map_or(0, Vec::len);
        let first = match wire.first {
            None => None,
            Some(p) => {
                let fits = p.columns.len() == width
                    && p.sketches.len() == width
                    && p.distinct.len() == width
                    && p.texts.len() == width
                    && p.distinct.iter().flatten().all(|d| d.len() <= MAX_DISTINCT)
                    && p.texts.iter().all(TextProfile::is_consistent);
                if !fits {
                    return Err(bad("its column states do not fit its columns"));
                }
                Some(Pass1 {
                    columns: p.columns,
                    sketches: p.sketches,
                    distinct: p.distinct,
                    texts: p.texts,
                    present: vec![false; width],
                })
            }
        };
        let second = match wire.second {
            None => None,
            Some(columns) => {
                if columns.len() != width || first.is_none() {
                    return Err(bad("its bins do not fit its columns"));
                }
                let mut partitions = Vec::with_capacity(width);
                let mut counts = Vec::with_capacity(width);
                for (edges, n) in columns {
                    let part = match edges {
                        None => None,
                        Some(e) if e.len() >= 2 => {
                            let k = e.len() - 1;
                            Some(
                                Partition::new(&e, &vec![1.0 / k as f64; k])
                                    .map_err(|e| bad(&format!("bins: {e}")))?,
                            )
                        }
                        Some(_) => return Err(bad("bins without edges")),
                    };
                    if n.len() != part.as_ref().map_or(0, |p| p.weights().len()) {
                        return Err(bad("bin counts that do not fit its bins"));
                    }
                    partitions.push(part);
                    counts.push(n);
                }
                Some(Pass2 {
                    partitions: Arc::from(partitions),
                    counts,
                })
            }
        };
        if wire.names.is_none() && (first.is_some() || wire.rows != 0) {
            return Err(bad("rows but no columns"));
        }
        Ok(Self {
            names: wire.names,
            rows: wire.rows,
            first,
            second,
        })
    }
}
