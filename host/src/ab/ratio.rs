//! `mlprobe ab ratio`: A/B tests of a ratio metric, `Σ numerator / Σ denominator` per variant
//! (clicks per session, revenue per order), when the unit of randomization (a user) is not the
//! unit of the ratio (a session): the delta method of [`mlprobe_core::means::ratio_test`] (Deng,
//! Knoblich & Lu, KDD 2018) on each unit's `(numerator, denominator)` pair, which a t-test of
//! per-session values would get wrong (sessions of one user are not independent).
//!
//! The table is read by [`super::units::read_arms`] (the numerator as the metric, the
//! denominator as its pair); several treatments are each compared with the control, the
//! p-values adjusted as in `ab ttest`.

use super::means::{TtestOptions, adjusted_p, bounds, means_error};
use super::units::{Arms, TableSpec};
use crate::error::Result;
use mlprobe_core::means::{RatioTest, ratio_moments, ratio_test};
use serde::Serialize;
use std::fmt::Write as _;

/// One arm in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioArm {
    /// The variant.
    pub name: String,
    /// Units (rows with both values).
    pub n: u64,
    /// `Σ numerator / Σ denominator`.
    pub ratio: f64,
    /// Its delta-method standard error.
    pub se: f64,
}

/// One treatment against the control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioComparison {
    /// The treatment's variant.
    pub treatment: String,
    /// `R_t - R_c`.
    pub difference: f64,
    /// Its standard error.
    pub se: f64,
    /// `difference / se`.
    pub z: f64,
    /// The p-value (normal).
    pub p_value: f64,
    /// Adjusted over the comparisons.
    pub p_adjusted: f64,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// The interval of the difference (`null`: unbounded, one-sided).
    pub ci: [Option<f64>; 2],
    /// `R_t / R_c - 1`.
    pub relative_lift: Option<f64>,
    /// Its delta-method interval.
    pub relative_ci: Option<[Option<f64>; 2]>,
}

/// The report of `ab ratio` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioReport {
    /// The numerator's column.
    pub numerator: String,
    /// The denominator's column.
    pub denominator: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows left out (variant, numerator or denominator missing).
    pub skipped_rows: u64,
    /// The significance level.
    pub alpha: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// The correction over the comparisons.
    pub adjust: &'static str,
    /// The control's variant.
    pub control: String,
    /// Every arm, control first.
    pub arms: Vec<RatioArm>,
    /// Each treatment against the control.
    pub comparisons: Vec<RatioComparison>,
}

/// `ab ratio` over a table whose `spec.metric` is the numerator and `spec.covariate` the
/// denominator.
pub fn ratio(spec: &TableSpec, table: &Arms, options: &TtestOptions) -> Result<RatioReport> {
    let order = table.control_first(&spec.variant, options.control.as_deref())?;
    table.two_units_each(&order, "--numerator")?;
    let flag = format!(
        "--denominator {}",
        spec.covariate.as_deref().unwrap_or_default()
    );
    let tests: Vec<RatioTest> = (order[1..].iter())
        .map(|t| {
            ratio_test(
                &order[0].metric,
                &t.metric,
                options.alpha,
                options.alternative,
            )
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| means_error(&flag, e))?;
    let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
    let adjusted = adjusted_p(&p, options, &flag)?;
    let arms = order
        .iter()
        .map(|a| {
            let (ratio, var) = ratio_moments(&a.metric).unwrap_or((f64::NAN, f64::NAN));
            RatioArm {
                name: a.name.clone(),
                n: a.metric.count(),
                ratio,
                se: var.sqrt(),
            }
        })
        .collect();
    let comparisons = (tests.iter().enumerate())
        .map(|(i, t)| RatioComparison {
            treatment: order[i + 1].name.clone(),
            difference: t.difference,
            se: t.se,
            z: t.z,
            p_value: t.p_value,
            p_adjusted: adjusted[i],
            significant: adjusted[i] < options.alpha,
            ci: bounds(t.ci),
            relative_lift: t.relative_lift,
            relative_ci: t.relative_ci.map(bounds),
        })
        .collect();
    Ok(RatioReport {
        numerator: spec.metric.clone(),
        denominator: spec.covariate.clone().unwrap_or_default(),
        rows: table.rows,
        skipped_rows: table.skipped,
        alpha: options.alpha,
        alternative: options.alternative.as_str(),
        adjust: options.adjust.as_str(),
        control: order[0].name.clone(),
        arms,
        comparisons,
    })
}

impl RatioReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Ratio {} / {} per variant, delta method ({}, {})",
            self.numerator, self.denominator, self.alternative, self.adjust
        );
        let _ = writeln!(
            s,
            "  {} rows, {} left out (a value missing)",
            self.rows, self.skipped_rows
        );
        for a in &self.arms {
            let role = if a.name == self.control {
                " (control)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {:<12} units = {:>9}  ratio = {:.6} ± {:.6}{role}",
                a.name, a.n, a.ratio, a.se
            );
        }
        let pct = 100.0 * (1.0 - self.alpha);
        let end = |v: Option<f64>, inf: &str| v.map_or(inf.to_string(), |v| format!("{v:.6}"));
        for c in &self.comparisons {
            let _ = writeln!(
                s,
                "  {} − {}: {:+.6}, {pct:.0}% CI [{}, {}], z = {:.4}, p = {:.6}, adjusted p = {:.6}: {}",
                c.treatment,
                self.control,
                c.difference,
                end(c.ci[0], "-inf"),
                end(c.ci[1], "+inf"),
                c.z,
                c.p_value,
                c.p_adjusted,
                if c.significant {
                    "significant"
                } else {
                    "not significant"
                }
            );
        }
        s
    }
}
