//! `mlprobe ab adjust`: multiple-comparison correction of p-values, Bonferroni, Holm or
//! Benjamini–Hochberg ([`mlprobe_core::abtest::adjust`]).

use super::{core_error, unit, usage};
use crate::error::Result;
use mlprobe_core::abtest::{self, Correction};
use serde::Serialize;
use std::fmt::Write as _;

/// Options of [`adjust()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdjustOptions {
    /// The correction (`--method`).
    pub method: Correction,
    /// Level at which hypotheses are rejected (`--alpha`, default 0.05): family-wise for
    /// Bonferroni and Holm, false discovery rate for Benjamini–Hochberg.
    pub alpha: f64,
}

impl AdjustOptions {
    /// `method` at alpha 0.05.
    pub fn new(method: Correction) -> Self {
        Self {
            method,
            alpha: 0.05,
        }
    }

    /// Checks the level.
    pub fn validate(&self) -> Result<()> {
        unit("--alpha", self.alpha).map(|_| ())
    }
}

/// The p-values of the command line (`P …`): numbers in [0, 1].
pub fn parse_p_values<S: AsRef<str>>(texts: &[S]) -> Result<Vec<f64>> {
    texts
        .iter()
        .map(|t| {
            let t = t.as_ref();
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    usage(
                        "P",
                        format!("p-values must be numbers in [0, 1], got '{t}'"),
                    )
                })
        })
        .collect()
}

/// The report of `ab adjust` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdjustReport {
    /// `bonferroni`, `holm` or `bh`.
    pub method: &'static str,
    /// The level.
    pub alpha: f64,
    /// The p-values, in input order.
    pub p_values: Vec<f64>,
    /// The adjusted p-values, in input order.
    pub adjusted: Vec<f64>,
    /// Whether each hypothesis is rejected at `alpha`.
    pub rejected: Vec<bool>,
}

/// Adjusts `p_values` (each in [0, 1], at least one).
pub fn adjust(p_values: &[f64], options: &AdjustOptions) -> Result<AdjustReport> {
    options.validate()?;
    let m = p_values.len();
    let mut order = vec![0usize; m];
    let mut adjusted = vec![0.0; m];
    let mut rejected = vec![false; m];
    abtest::adjust(
        options.method,
        p_values,
        options.alpha,
        &mut order,
        &mut adjusted,
        &mut rejected,
    )
    .map_err(core_error)?;
    Ok(AdjustReport {
        method: options.method.as_str(),
        alpha: options.alpha,
        p_values: p_values.to_vec(),
        adjusted,
        rejected,
    })
}

impl AdjustReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = format!("{} adjustment at alpha = {}\n", self.method, self.alpha);
        let _ = writeln!(s, "  {:>12} {:>12}  rejected", "p", "adjusted");
        for ((p, q), r) in self.p_values.iter().zip(&self.adjusted).zip(&self.rejected) {
            let _ = writeln!(
                s,
                "  {p:>12.6} {q:>12.6}  {}",
                if *r { "yes" } else { "no" }
            );
        }
        s
    }
}
