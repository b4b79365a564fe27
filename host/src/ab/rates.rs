//! `mlprobe ab rates`: several arms' conversion rates, each treatment against the control by
//! `ab ztest`'s two-proportion z-test, the p-values adjusted over the treatments, and the
//! chi-square test of homogeneity of every arm as the omnibus test
//! ([`mlprobe_core::means::rates_homogeneity`]).

use super::means::{TtestOptions, adjusted_p};
use super::{Arm, core_error, parse_counts, usage};
use crate::error::Result;
use mlprobe_core::abtest::{self, Variant};
use mlprobe_core::means::rates_homogeneity;
use serde::Serialize;
use std::fmt::Write as _;

/// Parses `--arm NAME=C/N`.
pub fn parse_arm(text: &str) -> Result<(String, Variant)> {
    let Some((name, counts)) = text.split_once('=') else {
        return Err(usage(
            "--arm",
            format!("expected NAME=C/N (e.g. control=200/1000), got '{text}'"),
        ));
    };
    let name = name.trim();
    if name.is_empty() {
        return Err(usage("--arm", format!("no name before '=' in '{text}'")));
    }
    Ok((name.to_string(), parse_counts("--arm", counts)?))
}

/// A named arm in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NamedArm {
    /// The arm's name.
    pub name: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Arm,
}

/// One treatment against the control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateComparison {
    /// The treatment.
    pub treatment: String,
    /// The pooled z statistic.
    pub z: f64,
    /// The p-value.
    pub p_value: f64,
    /// Adjusted over the treatments.
    pub p_adjusted: f64,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// `p_t - p_c`.
    pub absolute_lift: f64,
    /// `(p_t - p_c)/p_c` (`null` when the control's rate is 0).
    pub relative_lift: Option<f64>,
    /// The interval of the difference at `1 - alpha`.
    pub ci: [f64; 2],
}

/// The chi-square test of homogeneity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Homogeneity {
    /// Pearson's statistic.
    pub chi2: f64,
    /// `k - 1`.
    pub df: f64,
    /// The p-value.
    pub p_value: f64,
}

/// The report of `ab rates` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatesReport {
    /// The significance level.
    pub alpha: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// The correction over the treatments.
    pub adjust: &'static str,
    /// The control's name.
    pub control: String,
    /// Every arm, control first.
    pub arms: Vec<NamedArm>,
    /// Each treatment against the control.
    pub comparisons: Vec<RateComparison>,
    /// Every arm's rates equal? (`null` when every event converted, or none did).
    pub omnibus: Option<Homogeneity>,
}

/// Tests `arms` (control first unless `options.control` names another).
pub fn rates(arms: &[(String, Variant)], options: &TtestOptions) -> Result<RatesReport> {
    if arms.len() < 2 {
        return Err(usage(
            "--arm",
            "give at least two arms, the control and a treatment",
        ));
    }
    for (i, (name, v)) in arms.iter().enumerate() {
        if v.total() == 0 {
            return Err(usage("--arm", format!("`{name}` has a total of zero")));
        }
        if arms[..i].iter().any(|(n, _)| n == name) {
            return Err(usage("--arm", format!("`{name}` is given twice")));
        }
    }
    let at = match &options.control {
        Some(c) => arms
            .iter()
            .position(|(n, _)| n == c)
            .ok_or_else(|| usage("--control", format!("no --arm is named `{c}`")))?,
        None => 0,
    };
    let mut order = vec![&arms[at]];
    order.extend(
        (arms.iter().enumerate())
            .filter(|&(i, _)| i != at)
            .map(|(_, a)| a),
    );
    let control = &order[0].1;
    let tests = (order[1..].iter())
        .map(|(_, t)| abtest::ztest(control, t, options.alpha, options.alternative))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(core_error)?;
    let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
    let adjusted = adjusted_p(&p, options, "--arm")?;
    let counts: Vec<Variant> = order.iter().map(|(_, v)| *v).collect();
    Ok(RatesReport {
        alpha: options.alpha,
        alternative: options.alternative.as_str(),
        adjust: options.adjust.as_str(),
        control: order[0].0.clone(),
        arms: (order.iter())
            .map(|(n, v)| NamedArm {
                name: n.clone(),
                counts: Arm::from(v),
            })
            .collect(),
        comparisons: (tests.iter().enumerate())
            .map(|(i, t)| RateComparison {
                treatment: order[i + 1].0.clone(),
                z: t.z,
                p_value: t.p_value,
                p_adjusted: adjusted[i],
                significant: adjusted[i] < options.alpha,
                absolute_lift: t.absolute_lift,
                relative_lift: t.relative_lift,
                ci: [t.ci.0, t.ci.1],
            })
            .collect(),
        omnibus: rates_homogeneity(&counts).ok().map(|h| Homogeneity {
            chi2: h.chi2,
            df: h.df,
            p_value: h.p_value,
        }),
    })
}

impl RatesReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Conversion rates of {} arms ({}, {})",
            self.arms.len(),
            self.alternative,
            self.adjust
        );
        for a in &self.arms {
            let role = if a.name == self.control {
                " (control)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {:<12} {}/{} = {:.4}{role}",
                a.name,
                a.counts.conversions,
                a.counts.total,
                a.counts.rate.unwrap_or_default()
            );
        }
        for c in &self.comparisons {
            let _ = writeln!(
                s,
                "  {} − {}: {:+.4}, CI [{:.4}, {:.4}], z = {:.4}, p = {:.6}, adjusted p = {:.6}: {}",
                c.treatment,
                self.control,
                c.absolute_lift,
                c.ci[0],
                c.ci[1],
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
        if let Some(h) = &self.omnibus {
            let _ = writeln!(
                s,
                "  chi-square of homogeneity: {:.4} on {:.0} df, p = {:.6}",
                h.chi2, h.df, h.p_value
            );
        }
        s
    }
}
