//! `mlprobe ab srm`: the sample ratio mismatch check, a chi-square test of the observed split
//! against the planned one ([`mlprobe_core::abtest::srm`]). A mismatch fails the check.

use super::{core_error, parse_count, unit, usage};
use crate::error::Result;
use mlprobe_core::abtest::{self, AbError};
use serde::Serialize;

/// Options of [`srm()`].
#[derive(Clone, Debug, PartialEq)]
pub struct SrmOptions {
    /// Planned shares per variant, any positive scale (`--expected`); `None`: equal.
    pub expected: Option<Vec<f64>>,
    /// Flag a mismatch when the p-value is below this (`--threshold`, default 0.001).
    pub threshold: f64,
}

impl Default for SrmOptions {
    fn default() -> Self {
        Self {
            expected: None,
            threshold: 0.001,
        }
    }
}

impl SrmOptions {
    /// Checks the shares (positive, finite, one per variant of `observed`) and the threshold.
    pub fn validate(&self, observed: &[u64]) -> Result<()> {
        check_observed(observed)?;
        if let Some(shares) = &self.expected {
            if let Some(w) = shares.iter().find(|w| !(**w > 0.0 && w.is_finite())) {
                return Err(usage(
                    "--expected",
                    format!("shares must be positive numbers, got '{w}'"),
                ));
            }
            if shares.len() != observed.len() {
                return Err(usage(
                    "--expected",
                    format!(
                        "{} shares for {} variants in --observed",
                        shares.len(),
                        observed.len()
                    ),
                ));
            }
        }
        unit("--threshold", self.threshold)?;
        Ok(())
    }
}

fn check_observed(observed: &[u64]) -> Result<()> {
    if observed.len() < 2 {
        return Err(usage(
            "--observed",
            "give the events of at least two variants, e.g. 50500,49500",
        ));
    }
    Ok(())
}

/// `N1,N2[,…]`: the events of at least two variants (`--observed`).
pub fn parse_observed(text: &str) -> Result<Vec<u64>> {
    let observed = text
        .split(',')
        .map(|t| parse_count("--observed", t))
        .collect::<Result<Vec<u64>>>()?;
    check_observed(&observed)?;
    Ok(observed)
}

/// `W1,W2[,…]`: positive, finite shares (`--expected`).
pub fn parse_shares(text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|w| *w > 0.0 && w.is_finite())
                .ok_or_else(|| {
                    usage(
                        "--expected",
                        format!("shares must be positive numbers, got '{t}'"),
                    )
                })
        })
        .collect()
}

/// The report of `ab srm` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SrmReport {
    /// Pearson's chi-square statistic.
    pub chi2: f64,
    /// Degrees of freedom (variants − 1).
    pub df: u32,
    /// Its p-value.
    pub p_value: f64,
    /// `p_value < threshold`: the split is not the planned one.
    pub mismatch: bool,
    /// The threshold.
    pub threshold: f64,
    /// Events per variant.
    pub observed: Vec<u64>,
    /// The planned shares, normalised to sum to 1.
    pub expected_shares: Vec<f64>,
}

/// Tests the `observed` split against the planned shares.
pub fn srm(observed: &[u64], options: &SrmOptions) -> Result<SrmReport> {
    options.validate(observed)?;
    let weights = options
        .expected
        .clone()
        .unwrap_or_else(|| vec![1.0; observed.len()]);
    let r = abtest::srm(observed, &weights).map_err(|e| match e {
        AbError::ZeroTotal => usage("--observed", "no events observed"),
        e => core_error(e),
    })?;
    let sum: f64 = weights.iter().sum();
    Ok(SrmReport {
        chi2: r.chi2,
        df: r.df,
        p_value: r.p_value,
        mismatch: r.mismatch(options.threshold),
        threshold: options.threshold,
        observed: observed.to_vec(),
        expected_shares: weights.iter().map(|w| w / sum).collect(),
    })
}

impl SrmReport {
    /// Whether the split is the planned one (the check passes).
    pub fn passed(&self) -> bool {
        !self.mismatch
    }

    /// The text report.
    pub fn human(&self) -> String {
        let threshold = self.threshold;
        format!(
            "Sample ratio check: chi2 = {:.4} (df {}), p = {:.6}: {}\n",
            self.chi2,
            self.df,
            self.p_value,
            if self.mismatch {
                format!(
                    "MISMATCH (p < {threshold}): the split is not the planned one; do not trust this experiment's results"
                )
            } else {
                format!("ok (p ≥ {threshold})")
            }
        )
    }
}
