//! `mlprobe ab size` and `mlprobe ab power`: planning an experiment with the seed's sample-size
//! formula ([`mlprobe_core::abtest::sample_size`]), the power of `ab ztest`'s test for a size
//! (both tails when two-sided; the seed's one-tail formula on request) and its inverse (the
//! effect detectable with a size).

use super::{core_error, unit, usage};
use crate::error::Result;
use mlprobe_core::abtest::{self, Alternative, Design, Effect, PowerFormula};
use serde::Serialize;
use std::fmt::Write as _;

/// The checked design: every rate strictly inside (0, 1), the effect non-zero and finite.
fn design(
    baseline: f64,
    mde: f64,
    effect: Effect,
    alpha: f64,
    power: f64,
    alternative: Alternative,
    formula: PowerFormula,
) -> Result<Design> {
    unit("--baseline", baseline)?;
    unit("--alpha", alpha)?;
    unit("--power", power)?;
    if !mde.is_finite() || mde == 0.0 {
        return Err(usage(
            "--mde",
            format!("must be a non-zero number, got {mde}"),
        ));
    }
    let d = Design {
        baseline,
        mde,
        effect,
        alpha,
        power,
        alternative,
        formula,
    };
    let treatment = treatment_rate(&d);
    if !(treatment > 0.0 && treatment < 1.0) {
        return Err(usage(
            "--mde",
            format!(
                "the treatment's rate {treatment} (baseline with the effect) must be strictly between 0 and 1"
            ),
        ));
    }
    Ok(d)
}

/// The treatment's rate of a design.
fn treatment_rate(d: &Design) -> f64 {
    d.effect.treatment_rate(d.baseline, d.mde)
}

/// Options of [`size()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizeOptions {
    /// The control's expected conversion rate, in (0, 1) (`--baseline`).
    pub baseline: f64,
    /// The minimum detectable effect (`--mde`), non-zero.
    pub mde: f64,
    /// Whether `mde` is absolute or relative to the baseline (`--relative`).
    pub effect: Effect,
    /// Significance level (`--alpha`, default 0.05).
    pub alpha: f64,
    /// Power (`--power`, default 0.8).
    pub power: f64,
    /// Sidedness of the planned test (`--alternative`, default two-sided).
    pub alternative: Alternative,
}

impl SizeOptions {
    /// An absolute effect of `mde` over `baseline` at the defaults: alpha 0.05, power 0.8,
    /// two-sided.
    pub fn new(baseline: f64, mde: f64) -> Self {
        Self {
            baseline,
            mde,
            effect: Effect::Absolute,
            alpha: 0.05,
            power: 0.8,
            alternative: Alternative::TwoSided,
        }
    }

    /// Checks the rates, the levels and the effect.
    pub fn validate(&self) -> Result<()> {
        self.design().map(|_| ())
    }

    fn design(&self) -> Result<Design> {
        design(
            self.baseline,
            self.mde,
            self.effect,
            self.alpha,
            self.power,
            self.alternative,
            PowerFormula::Test,
        )
    }
}

/// The report of `ab size` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeReport {
    /// Events per variant.
    pub per_variant: u64,
    /// Events over both variants.
    pub total: u64,
    /// The control's rate.
    pub baseline: f64,
    /// The treatment's rate under the effect.
    pub treatment_rate: f64,
    /// The effect in rate points.
    pub absolute_mde: f64,
    /// The effect relative to the baseline.
    pub relative_mde: f64,
    /// Significance level.
    pub alpha: f64,
    /// Power.
    pub power: f64,
    /// Sidedness.
    pub alternative: &'static str,
}

/// The sample size per variant to detect the effect (the seed's formula, rounded up).
pub fn size(options: &SizeOptions) -> Result<SizeReport> {
    let d = options.design()?;
    let n = abtest::sample_size(&d).map_err(core_error)?;
    let total = n
        .checked_mul(2)
        .ok_or_else(|| usage("--mde", "the required sample size does not fit in 64 bits"))?;
    let p2 = treatment_rate(&d);
    Ok(SizeReport {
        per_variant: n,
        total,
        baseline: d.baseline,
        treatment_rate: p2,
        absolute_mde: p2 - d.baseline,
        relative_mde: (p2 - d.baseline) / d.baseline,
        alpha: d.alpha,
        power: d.power,
        alternative: d.alternative.as_str(),
    })
}

impl SizeReport {
    /// The text report.
    pub fn human(&self) -> String {
        format!(
            "Sample size to detect {:.4} → {:.4} ({:+.2}%) at alpha = {}, power = {} ({}):\n  {} per variant, {} in total\n",
            self.baseline,
            self.treatment_rate,
            100.0 * self.relative_mde,
            self.alpha,
            self.power,
            self.alternative,
            self.per_variant,
            self.total
        )
    }
}

/// Options of [`power()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerOptions {
    /// The control's expected conversion rate, in (0, 1) (`--baseline`).
    pub baseline: f64,
    /// Sample size per variant, at least 1 (`--n`).
    pub n: u64,
    /// An effect to compute the power for (`--mde`).
    pub mde: Option<f64>,
    /// Whether `mde` is absolute or relative to the baseline (`--relative`).
    pub effect: Effect,
    /// Significance level (`--alpha`, default 0.05).
    pub alpha: f64,
    /// The power at which to report the detectable effect (`--power`, default 0.8).
    pub power: f64,
    /// Sidedness of the planned test (`--alternative`, default two-sided).
    pub alternative: Alternative,
    /// How the power is counted (`--power-formula`, default: the power of `ab ztest`'s test).
    pub formula: PowerFormula,
}

impl PowerOptions {
    /// `n` per variant over `baseline`, no effect, at the defaults: alpha 0.05, power 0.8,
    /// two-sided.
    pub fn new(baseline: f64, n: u64) -> Self {
        Self {
            baseline,
            n,
            mde: None,
            effect: Effect::Absolute,
            alpha: 0.05,
            power: 0.8,
            alternative: Alternative::TwoSided,
            formula: PowerFormula::Test,
        }
    }

    /// Checks the size, the rates, the levels and the effect.
    pub fn validate(&self) -> Result<()> {
        self.checked_design().map(|_| ())
    }

    /// The design of `mde`, if any, once every option is checked.
    fn checked_design(&self) -> Result<Option<Design>> {
        if self.n == 0 {
            return Err(usage(
                "--n",
                "the sample size per variant must be at least 1",
            ));
        }
        unit("--baseline", self.baseline)?;
        unit("--alpha", self.alpha)?;
        unit("--power", self.power)?;
        self.mde
            .map(|mde| {
                design(
                    self.baseline,
                    mde,
                    self.effect,
                    self.alpha,
                    self.power,
                    self.alternative,
                    self.formula,
                )
            })
            .transpose()
    }
}

/// The report of `ab power` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PowerReport {
    /// Sample size per variant.
    pub per_variant: u64,
    /// The control's rate.
    pub baseline: f64,
    /// Significance level.
    pub alpha: f64,
    /// Sidedness.
    pub alternative: &'static str,
    /// How the power is counted: `test` (the probability that `ab ztest` rejects, both tails
    /// when two-sided) or `seed` (the seed's one-tail formula).
    pub power_formula: &'static str,
    /// The power against `mde`; `null` without one.
    pub power: Option<f64>,
    /// The treatment's rate under `mde`; `null` without one.
    pub treatment_rate: Option<f64>,
    /// The power at which the detectable effect is reported.
    pub target_power: f64,
    /// Smallest absolute effect detectable with `target_power`: an increase, or a decrease
    /// (negative) for `smaller` with the `test` formula; `null` when none within (0, 1) is.
    pub detectable_mde: Option<f64>,
    /// The same, relative to the baseline.
    pub detectable_mde_relative: Option<f64>,
}

/// The power of `n` per variant against the effect, and the effect detectable with it.
pub fn power(options: &PowerOptions) -> Result<PowerReport> {
    let o = options;
    let (power, p2) = match o.checked_design()? {
        Some(d) => (
            Some(abtest::power(&d, o.n).map_err(core_error)?),
            Some(treatment_rate(&d)),
        ),
        None => (None, None),
    };
    let d = Design {
        baseline: o.baseline,
        mde: 0.0,
        effect: Effect::Absolute,
        alpha: o.alpha,
        power: o.power,
        alternative: o.alternative,
        formula: o.formula,
    };
    let mde = abtest::detectable_effect(&d, o.n).map_err(core_error)?;
    Ok(PowerReport {
        per_variant: o.n,
        baseline: o.baseline,
        alpha: o.alpha,
        alternative: o.alternative.as_str(),
        power_formula: o.formula.as_str(),
        power,
        treatment_rate: p2,
        target_power: o.power,
        detectable_mde: mde,
        detectable_mde_relative: mde.map(|m| m / o.baseline),
    })
}

impl PowerReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{} per variant, baseline {}, alpha = {} ({}, {} power):\n",
            self.per_variant, self.baseline, self.alpha, self.alternative, self.power_formula
        );
        if let (Some(p), Some(p2)) = (self.power, self.treatment_rate) {
            let _ = writeln!(s, "  power to detect {} → {p2:.4}: {p:.4}", self.baseline);
        }
        match self.detectable_mde {
            Some(m) => {
                let _ = writeln!(
                    s,
                    "  detectable at power {}: {m:+.5} absolute ({:+.2}%)",
                    self.target_power,
                    100.0 * m / self.baseline
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "  no effect is detectable at power {}",
                    self.target_power
                );
            }
        }
        s
    }
}
