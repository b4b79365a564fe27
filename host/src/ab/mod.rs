//! A/B tests of conversion rates and of means, as a library: the analyses behind `mlprobe ab …`.
//!
//! One module per test family, each with a validated options type, a `Serialize` report (the
//! fields of `mlprobe ab <test> --json`, see DESIGN.md) that renders itself as text
//! (`human()`), and a function from counts and options to the report:
//!
//! | test | options | report | function |
//! | --- | --- | --- | --- |
//! | two-proportion z-test | [`ZtestOptions`] | [`ZtestReport`] | [`ztest()`] |
//! | Welch's t-test of means (CUPED, several arms, guardrails) | [`TtestOptions`] | [`TtestReport`] | [`ttest()`], [`ttest_summaries()`] |
//! | ratio metrics (delta method) | [`TtestOptions`] | [`RatioReport`] | [`ratio()`] |
//! | several arms' rates (z-tests, chi-square) | [`TtestOptions`] | [`RatesReport`] | [`rates()`] |
//! | sample size | [`SizeOptions`] | [`SizeReport`] | [`size()`] |
//! | power and detectable effect | [`PowerOptions`] | [`PowerReport`] | [`power()`] |
//! | Bayesian (Beta–Binomial) | [`BayesOptions`] | [`BayesReport`] | [`analyze()`] |
//! | sample ratio mismatch | [`SrmOptions`] | [`SrmReport`] | [`srm()`] |
//! | multiple comparisons | [`AdjustOptions`] | [`AdjustReport`] | [`adjust()`] |
//! | sequential looks | [`SequentialOptions`] | [`SequentialReport`] | [`sequential()`] |
//! | sequential looks at a mean | [`SequentialOptions`] | [`MeansSequentialReport`] | [`sequential_means()`] |
//! | size and power of a t-test | [`MeansPlan`] | [`MeansSizeReport`], [`MeansPowerReport`] | [`size_means()`], [`power_means()`] |
//!
//! Every statistic is computed by `mlprobe_core` ([`mlprobe_core::abtest`],
//! [`mlprobe_core::bayes`], [`mlprobe_core::sequential`], [`mlprobe_core::means`]); the host
//! adds the Monte-Carlo side of the Bayesian analysis, the events files, the table of units
//! and the reports. Invalid options are
//! [`Error::Usage`] naming the command-line flag they come from (exit 2).
//!
//! ```
//! use mlprobe::ab::{ztest, parse_counts, ZtestOptions};
//! let control = parse_counts("--control", "200/1000").unwrap();
//! let treatment = parse_counts("--treatment", "250/1000").unwrap();
//! let report = ztest(&control, &treatment, &ZtestOptions::default()).unwrap();
//! assert!(report.significant && (report.z - 2.6774).abs() < 1e-4);
//! ```

pub mod adjust;
pub mod bayes;
pub mod design;
pub mod design_means;
pub mod means;
pub mod rates;
pub mod ratio;
pub mod sequential;
pub mod sequential_means;
pub mod srm;
pub mod units;
pub mod ztest;

pub use adjust::{AdjustOptions, AdjustReport, adjust, parse_p_values};
pub use bayes::{BayesOptions, BayesReport, analyze, parse_prior};
pub use design::{PowerOptions, PowerReport, SizeOptions, SizeReport, power, size};
pub use design_means::{MeansPlan, MeansPowerReport, MeansSizeReport, power_means, size_means};
pub use means::{
    Guardrail, TtestOptions, TtestReport, parse_guardrail, parse_summary, ttest, ttest_summaries,
};
pub use rates::{RatesReport, parse_arm, rates};
pub use ratio::{RatioReport, ratio};
pub use sequential::{
    Event, SequentialMethod, SequentialOptions, SequentialReport, read_events, sequential,
};
pub use sequential_means::{MeansSequentialReport, read_metric_events, sequential_means};
pub use srm::{SrmOptions, SrmReport, parse_observed, parse_shares, srm};
pub use units::{TableSpec, read_arms};
pub use ztest::{ZtestOptions, ZtestReport, ztest};

use crate::error::{Error, Result};
use mlprobe_core::abtest::{AbError, Variant};
use serde::Serialize;

/// `flag: message` as a usage error.
fn usage(flag: &str, message: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{flag}: {message}"))
}

/// A probability-like value strictly inside (0, 1), or an error naming `flag`.
pub fn unit(flag: &str, value: f64) -> Result<f64> {
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(usage(
            flag,
            format!("must be strictly between 0 and 1, got {value}"),
        ))
    }
}

/// A count: a non-negative integer, or an error naming `flag`.
pub fn parse_count(flag: &str, text: &str) -> Result<u64> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(usage(
            flag,
            format!("counts cannot be negative, got '{text}'"),
        ));
    }
    t.parse::<u64>().map_err(|_| {
        usage(
            flag,
            format!("expected a non-negative integer, got '{text}'"),
        )
    })
}

/// `C/N`: conversions over a positive total, conversions at most the total; errors name `flag`.
pub fn parse_counts(flag: &str, text: &str) -> Result<Variant> {
    let Some((c, n)) = text.split_once('/') else {
        return Err(usage(
            flag,
            format!("expected C/N (conversions/total, e.g. 21/200), got '{text}'"),
        ));
    };
    let c = parse_count(flag, c)?;
    let n = parse_count(flag, n)?;
    if n == 0 {
        return Err(usage(flag, format!("the total is zero in '{text}'")));
    }
    Variant::from_counts(c, n).map_err(|_| {
        usage(
            flag,
            format!("conversions ({c}) exceed the total ({n}) in '{text}'"),
        )
    })
}

/// An arm that must have events, for the tests that compare two: an error naming `flag`.
fn nonempty(flag: &str, arm: &Variant) -> Result<()> {
    if arm.total() == 0 {
        return Err(usage(flag, "the total is zero"));
    }
    Ok(())
}

/// The flag a core error is about, in the context of the `ab` commands.
fn core_error(e: AbError) -> Error {
    let flag = match e {
        AbError::AlphaOutOfRange => "--alpha",
        AbError::PowerOutOfRange => "--power",
        AbError::BaselineOutOfRange => "--baseline",
        AbError::EffectOutOfRange | AbError::ZeroEffect | AbError::SampleSizeOverflow => "--mde",
        AbError::ZeroSampleSize => "--n",
        AbError::PValueOutOfRange | AbError::Empty => "P",
        AbError::WeightOutOfRange | AbError::LengthMismatch => "--expected",
        AbError::TauOutOfRange => "--tau",
        AbError::TooManyLooks | AbError::FractionsOutOfOrder => "--look-every",
        AbError::NoHorizon => "--max-events",
        AbError::EffectAgainstAlternative => "--alternative",
        _ => "input",
    };
    usage(flag, e)
}

/// One arm in a report: `{conversions, total, rate}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Arm {
    /// Conversions.
    pub conversions: u64,
    /// Events.
    pub total: u64,
    /// `null` before the first event.
    pub rate: Option<f64>,
}

impl From<&Variant> for Arm {
    fn from(v: &Variant) -> Self {
        Self {
            conversions: v.conversions(),
            total: v.total(),
            rate: v.rate(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn usage_naming(r: Result<impl std::fmt::Debug>, flag: &str) {
        match r {
            Err(Error::Usage(m)) => assert!(m.starts_with(flag), "{m}"),
            other => panic!("expected a usage error naming {flag}, got {other:?}"),
        }
    }

    #[test]
    fn counts_parse_and_name_their_flag() {
        let v = parse_counts("--control", " 21 / 200 ").unwrap();
        assert_eq!((v.conversions(), v.total()), (21, 200));
        for bad in ["21", "-1/2", "1/0", "3/2", "a/2", "1/2/3"] {
            usage_naming(parse_counts("--control", bad), "--control");
        }
        assert_eq!(parse_count("--n", "0").unwrap(), 0);
        usage_naming(parse_count("--n", "-5"), "--n");
        usage_naming(unit("--alpha", f64::NAN), "--alpha");
        usage_naming(unit("--alpha", 1.0), "--alpha");
        assert_eq!(unit("--alpha", 0.05).unwrap(), 0.05);
    }
}
