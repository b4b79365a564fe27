//! `mlprobe ab size --sd` and `mlprobe ab power --sd`: planning a test of means (Welch's or
//! Student's t-test of `ab ttest`) with the noncentral t, as statsmodels' `TTestIndPower`:
//! [`mlprobe_core::means::t_test_power`] and its inverse [`mlprobe_core::means::t_test_size`].
//! The effect is `--mde` in the metric's units, over its standard deviation `--sd` (Cohen's d).

use super::{core_error, unit, usage};
use crate::error::Result;
use mlprobe_core::abtest::Alternative;
use mlprobe_core::means::{t_test_power, t_test_size};
use serde::Serialize;
use std::fmt::Write as _;

/// A planned test of means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeansPlan {
    /// The metric's standard deviation (`--sd`), positive.
    pub sd: f64,
    /// The difference to detect, in the metric's units (`--mde`), non-zero.
    pub mde: f64,
    /// Treatment units per control unit (`--ratio`, default 1).
    pub ratio: f64,
    /// Significance level.
    pub alpha: f64,
    /// The planned test's sidedness.
    pub alternative: Alternative,
}

impl MeansPlan {
    /// Checks the plan; returns Cohen's d, `mde / sd`.
    fn effect_size(&self) -> Result<f64> {
        unit("--alpha", self.alpha)?;
        if !(self.sd.is_finite() && self.sd > 0.0) {
            return Err(usage(
                "--sd",
                format!("must be positive and finite, got {}", self.sd),
            ));
        }
        if !self.mde.is_finite() || self.mde == 0.0 {
            return Err(usage(
                "--mde",
                format!("must be finite and non-zero, got {}", self.mde),
            ));
        }
        if !(self.ratio.is_finite() && self.ratio > 0.0) {
            return Err(usage(
                "--ratio",
                format!("must be positive and finite, got {}", self.ratio),
            ));
        }
        Ok(self.mde / self.sd)
    }
}

/// The report of `ab size --sd` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeansSizeReport {
    /// The metric's standard deviation.
    pub sd: f64,
    /// The difference to detect.
    pub mde: f64,
    /// `mde / sd`.
    pub effect_size: f64,
    /// Treatment units per control unit.
    pub ratio: f64,
    /// Significance level.
    pub alpha: f64,
    /// The power asked for.
    pub power: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// The control's units solving the power equation, not rounded (statsmodels'
    /// `solve_power` `nobs1`).
    pub n_exact: f64,
    /// The control's units, rounded up.
    pub per_variant: u64,
    /// The treatment's units, `ceil(ratio · n_exact)`.
    pub treatment: u64,
    /// Both.
    pub total: u64,
}

/// The units per arm for `plan` to reach `power`.
pub fn size_means(plan: &MeansPlan, power: f64) -> Result<MeansSizeReport> {
    let d = plan.effect_size()?;
    unit("--power", power)?;
    let n = t_test_size(d, power, plan.ratio, plan.alpha, plan.alternative).map_err(core_error)?;
    let control = n.ceil() as u64;
    let treatment = (plan.ratio * n).ceil() as u64;
    Ok(MeansSizeReport {
        sd: plan.sd,
        mde: plan.mde,
        effect_size: d,
        ratio: plan.ratio,
        alpha: plan.alpha,
        power,
        alternative: plan.alternative.as_str(),
        n_exact: n,
        per_variant: control,
        treatment,
        total: control + treatment,
    })
}

/// The report of `ab power --sd` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeansPowerReport {
    /// The metric's standard deviation.
    pub sd: f64,
    /// The difference.
    pub mde: f64,
    /// `mde / sd`.
    pub effect_size: f64,
    /// Treatment units per control unit.
    pub ratio: f64,
    /// Significance level.
    pub alpha: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// The control's units.
    pub per_variant: u64,
    /// The power of the t-test.
    pub power: f64,
}

/// The power of `plan` with `n` control units.
pub fn power_means(plan: &MeansPlan, n: u64) -> Result<MeansPowerReport> {
    let d = plan.effect_size()?;
    let p = t_test_power(d, n as f64, plan.ratio, plan.alpha, plan.alternative)
        .map_err(|_| usage("--n", format!("too few units for a t-test: {n}")))?;
    Ok(MeansPowerReport {
        sd: plan.sd,
        mde: plan.mde,
        effect_size: d,
        ratio: plan.ratio,
        alpha: plan.alpha,
        alternative: plan.alternative.as_str(),
        per_variant: n,
        power: p,
    })
}

impl MeansSizeReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "t-test of means ({}): detect {:+} with sd {} (d = {:.4}) at alpha {}, power {}",
            self.alternative, self.mde, self.sd, self.effect_size, self.alpha, self.power
        );
        let _ = writeln!(
            s,
            "  {} control + {} treatment = {} units (exact {:.4} control)",
            self.per_variant, self.treatment, self.total, self.n_exact
        );
        s
    }
}

impl MeansPowerReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "t-test of means ({}): {} control units (ratio {}), difference {:+} with sd {} (d = \
             {:.4}) at alpha {}",
            self.alternative,
            self.per_variant,
            self.ratio,
            self.mde,
            self.sd,
            self.effect_size,
            self.alpha
        );
        let _ = writeln!(s, "  power = {:.6}", self.power);
        s
    }
}
