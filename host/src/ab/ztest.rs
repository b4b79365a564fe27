//! `mlprobe ab ztest`: the two-proportion z-test of treatment against control, with the
//! confidence interval of the difference ([`mlprobe_core::abtest::ztest`]).

use super::{Arm, core_error, nonempty, unit};
use crate::error::Result;
use mlprobe_core::abtest::{self, Alternative, Variant};
use serde::Serialize;
use std::fmt::Write as _;

/// Options of [`ztest()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZtestOptions {
    /// Significance level (`--alpha`, default 0.05); the interval's level is `1 - alpha`.
    pub alpha: f64,
    /// The alternative about treatment − control (`--alternative`, default two-sided).
    pub alternative: Alternative,
}

impl Default for ZtestOptions {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            alternative: Alternative::TwoSided,
        }
    }
}

impl ZtestOptions {
    /// Checks the level: strictly between 0 and 1.
    pub fn validate(&self) -> Result<()> {
        unit("--alpha", self.alpha).map(|_| ())
    }
}

/// The report of `ab ztest` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ZtestReport {
    /// `(p_t - p_c) / SE_pooled`.
    pub z: f64,
    /// The p-value under the alternative.
    pub p_value: f64,
    /// `p_value < alpha`.
    pub significant: bool,
    /// The significance level.
    pub alpha: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// The control's counts.
    pub control: Arm,
    /// The treatment's counts.
    pub treatment: Arm,
    /// `p_t - p_c`.
    pub absolute_lift: f64,
    /// `(p_t - p_c) / p_c`; `null` when the control's rate is 0.
    pub relative_lift: Option<f64>,
    /// `[low, high]` of treatment − control at `1 - alpha`.
    pub ci: [f64; 2],
}

/// Tests `treatment` against `control` (both with events).
pub fn ztest(
    control: &Variant,
    treatment: &Variant,
    options: &ZtestOptions,
) -> Result<ZtestReport> {
    nonempty("--control", control)?;
    nonempty("--treatment", treatment)?;
    options.validate()?;
    let r = abtest::ztest(control, treatment, options.alpha, options.alternative)
        .map_err(core_error)?;
    Ok(ZtestReport {
        z: r.z,
        p_value: r.p_value,
        significant: r.significant,
        alpha: options.alpha,
        alternative: r.alternative.as_str(),
        control: Arm::from(control),
        treatment: Arm::from(treatment),
        absolute_lift: r.absolute_lift,
        relative_lift: r.relative_lift,
        ci: [r.ci.0, r.ci.1],
    })
}

impl ZtestReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Two-proportion z-test ({})", self.alternative);
        for (name, arm) in [
            ("control   ", &self.control),
            ("treatment ", &self.treatment),
        ] {
            let _ = writeln!(
                s,
                "  {name} {}/{} = {:.4}",
                arm.conversions,
                arm.total,
                arm.rate.unwrap_or_default()
            );
        }
        let rel = self
            .relative_lift
            .map_or_else(|| "n/a".to_string(), |l| format!("{:+.2}%", 100.0 * l));
        let _ = writeln!(
            s,
            "  lift       {:+.4} absolute, {rel} relative",
            self.absolute_lift
        );
        let _ = writeln!(s, "  z = {:.4}, p = {:.6}", self.z, self.p_value);
        let _ = writeln!(
            s,
            "  {:.0}% CI of the difference: [{:.4}, {:.4}]",
            100.0 * (1.0 - self.alpha),
            self.ci[0],
            self.ci[1]
        );
        let _ = writeln!(
            s,
            "  {} at alpha = {}",
            if self.significant {
                "significant"
            } else {
                "not significant"
            },
            self.alpha
        );
        s
    }
}
