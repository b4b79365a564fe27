//! Quality gates: thresholds and regression against a baseline, with results as data.
//!
//! The seed notebook's `ModelValidator` and `RegressionTester`, made correct:
//! - every [`Metric`] knows whether higher or lower is better ([`Direction`]), so a threshold
//!   is a minimum for accuracy and a maximum for latency without being told;
//! - a regression check compares **every** metric of the baseline (the seed compares only
//!   accuracy and p99 latency), each in its own direction;
//! - a zero baseline does not divide by zero: `0 → 0` is unchanged, `0 → x` is an infinite
//!   relative change (reported as `None`), a regression or an improvement by its direction;
//! - a metric that a check needs but the run did not measure (or that is not a finite number)
//!   fails the check as [`Outcome::Missing`] instead of passing silently;
//! - results are plain `Copy` structs and enums ([`ThresholdReport`], [`RegressionReport`]),
//!   never strings: the host renders them as JSON, JUnit or Markdown, and their `Display` impls
//!   give a one-line message without allocating.
//!
//! Everything is fixed-size: one slot per metric ([`Metric::COUNT`]).
//!
//! ```
//! use mlprobe_core::validate::{Metric, Metrics, RegressionPolicy, Thresholds};
//! let mut t = Thresholds::new();
//! t.set(Metric::Accuracy, 0.9).unwrap();
//! t.set(Metric::LatencyP99, 100.0).unwrap(); // µs
//! let run = Metrics::new().with(Metric::Accuracy, 0.95).with(Metric::LatencyP99, 120.0);
//! let report = t.check(&run);
//! assert!(!report.passed());
//! assert_eq!(report.violations().next().unwrap().metric, Metric::LatencyP99);
//!
//! let baseline = Metrics::new().with(Metric::Accuracy, 1.0).with(Metric::LatencyP99, 120.0);
//! let reg = RegressionPolicy::new(5.0).unwrap().compare(&baseline, &run);
//! // accuracy 1.0 → 0.95 is −5 %: within the allowed 5 %.
//! assert!(reg.passed());
//! ```

use core::fmt;

/// Errors of a gate's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ValidateError {
    /// A threshold is not a finite number.
    NonFiniteLimit {
        /// The metric it was meant for.
        metric: Metric,
    },
    /// A threshold is outside its metric's range: a quality metric's is 0 to 1, a latency's
    /// or a size's is 0 or more.
    LimitOutOfRange {
        /// The metric it was meant for.
        metric: Metric,
    },
    /// An allowed regression percentage is negative or not a finite number.
    InvalidAllowedPct,
    /// A threshold key is not `min_<metric>` or `max_<metric>` with a known metric.
    UnknownThreshold,
    /// A threshold key names a known metric with the wrong direction (`max_accuracy`).
    WrongDirection {
        /// The metric named.
        metric: Metric,
    },
}

impl fmt::Display for ValidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFiniteLimit { metric } => {
                write!(f, "the threshold for {metric} is not a finite number")
            }
            Self::LimitOutOfRange { metric } => {
                if metric.is_quality() {
                    write!(f, "the threshold for {metric} must be from 0 to 1")
                } else {
                    write!(f, "the threshold for {metric} must be 0 or more")
                }
            }
            Self::InvalidAllowedPct => {
                f.write_str("an allowed regression percentage is negative or not a finite number")
            }
            Self::UnknownThreshold => {
                f.write_str("a threshold key is min_<metric> or max_<metric> with a known metric")
            }
            Self::WrongDirection { metric } => {
                write!(
                    f,
                    "the threshold of {metric} is `{}`",
                    metric.threshold_key()
                )
            }
        }
    }
}

impl core::error::Error for ValidateError {}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Larger is better (accuracy): a threshold is a minimum.
    HigherIsBetter,
    /// Smaller is better (latency, memory): a threshold is a maximum.
    LowerIsBetter,
}

impl Direction {
    /// What a threshold is in this direction: `"min"` or `"max"` (the policy key's prefix).
    pub const fn limit_kind(self) -> &'static str {
        match self {
            Self::HigherIsBetter => "min",
            Self::LowerIsBetter => "max",
        }
    }

    /// The comparison a threshold in this direction holds to: `">="` or `"<="`.
    pub const fn operator(self) -> &'static str {
        match self {
            Self::HigherIsBetter => ">=",
            Self::LowerIsBetter => "<=",
        }
    }
}

/// A metric the gate knows. Names are stable: they are the keys of baseline files and the
/// suffixes of policy keys (`min_accuracy`, `max_latency_p99_us`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Metric {
    /// Fraction of correct predictions.
    Accuracy,
    /// Macro-averaged precision.
    Precision,
    /// Macro-averaged recall.
    Recall,
    /// Macro-averaged F1.
    F1,
    /// Median latency per inference, µs.
    LatencyP50,
    /// 95th percentile latency, µs.
    LatencyP95,
    /// 99th percentile latency, µs.
    LatencyP99,
    /// 99.9th percentile latency, µs.
    LatencyP999,
    /// Model bytes (weights and normalizer) plus inference scratch.
    MemoryBytes,
    /// Peak resident set size of the process, bytes.
    PeakRssBytes,
}

impl Metric {
    /// Number of metrics.
    pub const COUNT: usize = 10;

    /// Every metric, in report order.
    pub const ALL: [Metric; Metric::COUNT] = [
        Self::Accuracy,
        Self::Precision,
        Self::Recall,
        Self::F1,
        Self::LatencyP50,
        Self::LatencyP95,
        Self::LatencyP99,
        Self::LatencyP999,
        Self::MemoryBytes,
        Self::PeakRssBytes,
    ];

    /// The stable name (as in `mlprobe eval --json` where the field exists there).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Precision => "precision_macro",
            Self::Recall => "recall_macro",
            Self::F1 => "f1_macro",
            Self::LatencyP50 => "latency_p50_us",
            Self::LatencyP95 => "latency_p95_us",
            Self::LatencyP99 => "latency_p99_us",
            Self::LatencyP999 => "latency_p999_us",
            Self::MemoryBytes => "memory_bytes",
            Self::PeakRssBytes => "peak_rss_bytes",
        }
    }

    /// The metric of a name: the stable [`name`](Self::name), or the short aliases
    /// `precision`, `recall` and `f1`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "precision" => Some(Self::Precision),
            "recall" => Some(Self::Recall),
            "f1" => Some(Self::F1),
            _ => Self::ALL.into_iter().find(|m| m.name() == name),
        }
    }

    /// Which way the metric improves.
    pub const fn direction(self) -> Direction {
        match self {
            Self::Accuracy | Self::Precision | Self::Recall | Self::F1 => Direction::HigherIsBetter,
            _ => Direction::LowerIsBetter,
        }
    }

    /// True for the metrics of predictions (accuracy, precision, recall, F1): a subgroup of the
    /// rows (a slice) has them too. Latency and memory belong to the model and the machine.
    pub const fn is_quality(self) -> bool {
        matches!(
            self,
            Self::Accuracy | Self::Precision | Self::Recall | Self::F1
        )
    }

    /// True for the metrics that depend on the machine and its load (latency percentiles, peak
    /// RSS) rather than on the model alone: a baseline leaves them out unless asked.
    pub const fn is_machine_dependent(self) -> bool {
        matches!(
            self,
            Self::LatencyP50
                | Self::LatencyP95
                | Self::LatencyP99
                | Self::LatencyP999
                | Self::PeakRssBytes
        )
    }

    /// The policy key of the metric's threshold; displays as `min_accuracy`,
    /// `max_latency_p99_us`.
    pub const fn threshold_key(self) -> ThresholdKey {
        ThresholdKey(self)
    }

    /// The metric of a threshold key: `min_` or `max_` (by the metric's [`Direction`]) and a
    /// name [`from_name`](Self::from_name) knows.
    ///
    /// ```
    /// use mlprobe_core::validate::{Metric, ValidateError};
    /// assert_eq!(Metric::from_threshold_key("min_f1"), Ok(Metric::F1));
    /// assert_eq!(
    ///     Metric::from_threshold_key("max_accuracy"),
    ///     Err(ValidateError::WrongDirection { metric: Metric::Accuracy })
    /// );
    /// assert_eq!(Metric::from_threshold_key("min_speed"), Err(ValidateError::UnknownThreshold));
    /// ```
    pub fn from_threshold_key(key: &str) -> Result<Self, ValidateError> {
        let (kind, name) = match (key.strip_prefix("min_"), key.strip_prefix("max_")) {
            (Some(n), _) => ("min", n),
            (_, Some(n)) => ("max", n),
            _ => return Err(ValidateError::UnknownThreshold),
        };
        let metric = Self::from_name(name).ok_or(ValidateError::UnknownThreshold)?;
        if metric.direction().limit_kind() == kind {
            Ok(metric)
        } else {
            Err(ValidateError::WrongDirection { metric })
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The policy key of a metric's threshold (see [`Metric::threshold_key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThresholdKey(pub Metric);

impl fmt::Display for ThresholdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{}_{}", m.direction().limit_kind(), m.name())
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The measured value of each metric, `None` where not measured.
///
/// ```
/// use mlprobe_core::validate::{Metric, Metrics};
/// let m = Metrics::new().with(Metric::Accuracy, 0.9);
/// assert_eq!(m.get(Metric::Accuracy), Some(0.9));
/// assert_eq!(m.get(Metric::F1), None);
/// assert_eq!(m.iter().count(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Metrics {
    values: [Option<f64>; Metric::COUNT],
}

impl Metrics {
    /// No metric measured.
    pub const fn new() -> Self {
        Self {
            values: [None; Metric::COUNT],
        }
    }

    /// Sets a metric's value.
    pub fn set(&mut self, metric: Metric, value: f64) {
        self.values[metric.index()] = Some(value);
    }

    /// Sets a metric's value, builder style.
    #[must_use]
    pub fn with(mut self, metric: Metric, value: f64) -> Self {
        self.set(metric, value);
        self
    }

    /// Forgets a metric's value.
    pub fn unset(&mut self, metric: Metric) {
        self.values[metric.index()] = None;
    }

    /// A metric's value.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.values[metric.index()]
    }

    /// These metrics without the machine-dependent ones
    /// ([`Metric::is_machine_dependent`]).
    #[must_use]
    pub fn without_machine_dependent(&self) -> Self {
        let mut m = *self;
        for metric in Metric::ALL.into_iter().filter(|m| m.is_machine_dependent()) {
            m.unset(metric);
        }
        m
    }

    /// The measured metrics and their values, in [`Metric::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, f64)> + '_ {
        Metric::ALL
            .into_iter()
            .filter_map(|m| self.get(m).map(|v| (m, v)))
    }

    /// Sets accuracy and the macro precision, recall and F1 from a confusion matrix.
    pub fn set_classification<const K: usize>(
        &mut self,
        confusion: &crate::metrics::ConfusionMatrix<K>,
    ) {
        let m = confusion.macro_stats();
        self.set(Metric::Accuracy, confusion.accuracy());
        self.set(Metric::Precision, m.precision);
        self.set(Metric::Recall, m.recall);
        self.set(Metric::F1, m.f1);
    }

    /// Sets the latency percentiles from a sketch summary recorded in **nanoseconds**
    /// (metrics are in microseconds).
    pub fn set_latency_ns(&mut self, summary: &crate::sketch::Summary) {
        let us = |ns: u32| f64::from(ns) / 1000.0;
        self.set(Metric::LatencyP50, us(summary.p50));
        self.set(Metric::LatencyP95, us(summary.p95));
        self.set(Metric::LatencyP99, us(summary.p99));
        self.set(Metric::LatencyP999, us(summary.p999));
    }
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// Within the limit.
    Passed,
    /// Beyond the limit.
    Failed,
    /// The metric was not measured, or is not a finite number: the check fails.
    Missing,
}

/// One threshold check: `actual ≥ limit` for a [`Direction::HigherIsBetter`] metric,
/// `actual ≤ limit` otherwise.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ThresholdCheck {
    /// The metric checked.
    pub metric: Metric,
    /// The minimum (higher is better) or maximum (lower is better).
    pub limit: f64,
    /// The measured value, if any.
    pub actual: Option<f64>,
    /// The result.
    pub outcome: Outcome,
}

impl ThresholdCheck {
    /// True unless the check failed or could not be evaluated.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// `"min"` or `"max"`, for the policy key (`min_accuracy`) and messages.
    pub const fn kind(&self) -> &'static str {
        self.metric.direction().limit_kind()
    }

    /// `">="` or `"<="`: what the check held the metric to.
    pub const fn operator(&self) -> &'static str {
        self.metric.direction().operator()
    }
}

impl fmt::Display for ThresholdCheck {
    /// `accuracy 0.8 >= 0.9 failed`-style one-liners.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.operator();
        let (metric, limit) = (self.metric, self.limit);
        match (self.outcome, self.actual) {
            (Outcome::Passed, Some(a)) => write!(f, "{metric} {a} {op} {limit}: passed"),
            (Outcome::Failed, Some(a)) => {
                write!(f, "{metric} {a} violates {} {limit}", self.kind())
            }
            _ => write!(
                f,
                "{metric} was not measured (or is not a number): cannot check {op} {limit}"
            ),
        }
    }
}

/// Limits on metrics: a minimum for higher-is-better metrics, a maximum for the others.
///
/// ```
/// use mlprobe_core::validate::{Metric, Metrics, Outcome, Thresholds};
/// let mut t = Thresholds::new();
/// t.set(Metric::MemoryBytes, 4096.0).unwrap();
/// let r = t.check(&Metrics::new());
/// // a limit on a metric that was not measured fails
/// assert_eq!(r.iter().next().unwrap().outcome, Outcome::Missing);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Thresholds {
    limits: [Option<f64>; Metric::COUNT],
}

impl Thresholds {
    /// No limit.
    pub const fn new() -> Self {
        Self {
            limits: [None; Metric::COUNT],
        }
    }

    /// Sets the limit of a metric (a minimum or a maximum by its [`Direction`]).
    pub fn set(&mut self, metric: Metric, limit: f64) -> Result<(), ValidateError> {
        if !limit.is_finite() {
            return Err(ValidateError::NonFiniteLimit { metric });
        }
        let in_range = if metric.is_quality() {
            (0.0..=1.0).contains(&limit)
        } else {
            limit >= 0.0
        };
        if !in_range {
            return Err(ValidateError::LimitOutOfRange { metric });
        }
        self.limits[metric.index()] = Some(limit);
        Ok(())
    }

    /// Removes the limit of a metric.
    pub fn unset(&mut self, metric: Metric) {
        self.limits[metric.index()] = None;
    }

    /// The limit of a metric.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        self.limits[metric.index()]
    }

    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        self.limits.iter().all(Option::is_none)
    }

    /// The limits on [quality](Metric::is_quality) metrics only: what gates a slice of the
    /// rows (latency and memory belong to the model, not to a subgroup of rows).
    #[must_use]
    pub fn quality_only(&self) -> Self {
        let mut t = *self;
        for m in Metric::ALL.into_iter().filter(|m| !m.is_quality()) {
            t.unset(m);
        }
        t
    }

    /// Checks every limit against measured metrics.
    pub fn check(&self, metrics: &Metrics) -> ThresholdReport {
        let mut checks = [None; Metric::COUNT];
        for (slot, metric) in checks.iter_mut().zip(Metric::ALL) {
            let Some(limit) = self.get(metric) else {
                continue;
            };
            let actual = metrics.get(metric);
            let outcome = match actual {
                Some(a) if a.is_finite() => {
                    let ok = match metric.direction() {
                        Direction::HigherIsBetter => a >= limit,
                        Direction::LowerIsBetter => a <= limit,
                    };
                    if ok { Outcome::Passed } else { Outcome::Failed }
                }
                _ => Outcome::Missing,
            };
            *slot = Some(ThresholdCheck {
                metric,
                limit,
                actual,
                outcome,
            });
        }
        ThresholdReport { checks }
    }
}

/// The result of [`Thresholds::check`]: one check per limit set.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ThresholdReport {
    checks: [Option<ThresholdCheck>; Metric::COUNT],
}

impl ThresholdReport {
    /// Every check, passed or not, in [`Metric::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = &ThresholdCheck> + '_ {
        self.checks.iter().flatten()
    }

    /// The checks that failed or could not be evaluated.
    pub fn violations(&self) -> impl Iterator<Item = &ThresholdCheck> + '_ {
        self.iter().filter(|c| !c.passed())
    }

    /// True when every check passed (also when there was none).
    pub fn passed(&self) -> bool {
        self.violations().next().is_none()
    }

    /// Number of checks.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when no limit was checked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What happened to a metric since the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Change {
    /// Worse by more than the allowed percentage: the check fails.
    Regressed,
    /// Better by more than the allowed percentage.
    Improved,
    /// Within the allowed percentage either way.
    Unchanged,
    /// The current run lacks the metric, or a value is not a finite number: the check fails.
    Missing,
}

impl Change {
    /// `regressed`, `improved`, `unchanged` or `missing`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Regressed => "regressed",
            Self::Improved => "improved",
            Self::Unchanged => "unchanged",
            Self::Missing => "missing",
        }
    }
}

/// One metric compared with its baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Comparison {
    /// The metric.
    pub metric: Metric,
    /// Its baseline value.
    pub baseline: f64,
    /// Its current value, if measured.
    pub current: Option<f64>,
    /// `100 · (current − baseline) / |baseline|`; `Some(0.0)` for `0 → 0`; `None` when the
    /// baseline is 0 and the current value is not (an infinite change) or a value is missing.
    pub change_pct: Option<f64>,
    /// The allowed regression, percent.
    pub allowed_pct: f64,
    /// The verdict.
    pub change: Change,
}

impl Comparison {
    /// True unless the metric regressed or is missing.
    pub fn passed(&self) -> bool {
        matches!(self.change, Change::Improved | Change::Unchanged)
    }
}

impl fmt::Display for Comparison {
    /// `accuracy 0.9 -> 0.8 (-11.11 %, allowed 5 %): regressed`-style one-liners.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = self.change.name();
        let (metric, baseline, allowed) = (self.metric, self.baseline, self.allowed_pct);
        match (self.current, self.change_pct) {
            (None, _) => write!(f, "{metric} {baseline} -> not measured: {verdict}"),
            (Some(c), Some(p)) => write!(
                f,
                "{metric} {baseline} -> {c} ({p:+.2} %, allowed {allowed} %): {verdict}"
            ),
            (Some(c), None) => write!(
                f,
                "{metric} {baseline} -> {c} (infinite change, allowed {allowed} %): {verdict}"
            ),
        }
    }
}

/// How much each metric may regress, in percent of its baseline.
///
/// ```
/// use mlprobe_core::validate::{Change, Metric, Metrics, RegressionPolicy};
/// let mut p = RegressionPolicy::new(5.0).unwrap();
/// p.set_allowed(Metric::LatencyP99, 25.0).unwrap(); // latency is noisy
/// let base = Metrics::new().with(Metric::LatencyP99, 100.0);
/// let r = p.compare(&base, &Metrics::new().with(Metric::LatencyP99, 120.0));
/// assert_eq!(r.iter().next().unwrap().change, Change::Unchanged);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RegressionPolicy {
    allowed_pct: [f64; Metric::COUNT],
}

impl Default for RegressionPolicy {
    /// [`RegressionPolicy::DEFAULT_ALLOWED_PCT`] for every metric.
    fn default() -> Self {
        Self {
            allowed_pct: [Self::DEFAULT_ALLOWED_PCT; Metric::COUNT],
        }
    }
}

impl RegressionPolicy {
    /// The allowed regression when none is given: 5 %, the seed's `allowed_regression_pct`.
    pub const DEFAULT_ALLOWED_PCT: f64 = 5.0;

    /// The same allowed regression for every metric (the seed's `allowed_regression_pct`,
    /// 5.0 by default there).
    pub fn new(allowed_pct: f64) -> Result<Self, ValidateError> {
        check_pct(allowed_pct)?;
        Ok(Self {
            allowed_pct: [allowed_pct; Metric::COUNT],
        })
    }

    /// Overrides the allowed regression of one metric.
    pub fn set_allowed(&mut self, metric: Metric, allowed_pct: f64) -> Result<(), ValidateError> {
        check_pct(allowed_pct)?;
        self.allowed_pct[metric.index()] = allowed_pct;
        Ok(())
    }

    /// The allowed regression of a metric, percent.
    pub fn allowed(&self, metric: Metric) -> f64 {
        self.allowed_pct[metric.index()]
    }

    /// Compares every metric of `baseline` with `current`.
    pub fn compare(&self, baseline: &Metrics, current: &Metrics) -> RegressionReport {
        let mut comparisons = [None; Metric::COUNT];
        for (slot, (metric, base)) in comparisons.iter_mut().zip(baseline.iter()) {
            *slot = Some(self.compare_one(metric, base, current.get(metric)));
        }
        RegressionReport { comparisons }
    }

    fn compare_one(&self, metric: Metric, baseline: f64, current: Option<f64>) -> Comparison {
        let allowed_pct = self.allowed(metric);
        let mut c = Comparison {
            metric,
            baseline,
            current,
            change_pct: None,
            allowed_pct,
            change: Change::Missing,
        };
        let Some(cur) = current.filter(|v| v.is_finite()) else {
            return c;
        };
        if !baseline.is_finite() {
            return c;
        }
        // Signed so that positive means "better", whatever the direction.
        let sign = match metric.direction() {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        };
        c.change = if baseline == 0.0 {
            // No division by zero: 0 → 0 is no change; 0 → x an infinite one.
            c.change_pct = (cur == 0.0).then_some(0.0);
            if cur == 0.0 {
                Change::Unchanged
            } else if sign * cur > 0.0 {
                Change::Improved
            } else {
                Change::Regressed
            }
        } else {
            let pct = 100.0 * (cur - baseline) / libm::fabs(baseline);
            c.change_pct = Some(pct);
            let better = sign * pct;
            // Rounding slack so that a change of exactly the allowed percentage stays inside
            // the band: (0.95 − 1.0) / 1.0 · 100 is −5.000000000000004 in f64.
            let band = allowed_pct + PCT_SLACK;
            if better < -band {
                Change::Regressed
            } else if better > band {
                Change::Improved
            } else {
                Change::Unchanged
            }
        };
        c
    }
}

/// Percentage points by which a change may exceed the allowed band and still count as inside
/// it: absorbs `f64` rounding, far below any meaningful change.
const PCT_SLACK: f64 = 1e-9;

fn check_pct(pct: f64) -> Result<(), ValidateError> {
    if pct.is_finite() && pct >= 0.0 {
        Ok(())
    } else {
        Err(ValidateError::InvalidAllowedPct)
    }
}

/// The result of [`RegressionPolicy::compare`]: one comparison per baseline metric.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RegressionReport {
    comparisons: [Option<Comparison>; Metric::COUNT],
}

impl RegressionReport {
    /// Every comparison, in [`Metric::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = &Comparison> + '_ {
        self.comparisons.iter().flatten()
    }

    /// Comparisons with a given verdict.
    pub fn with_change(&self, change: Change) -> impl Iterator<Item = &Comparison> + '_ {
        self.iter().filter(move |c| c.change == change)
    }

    /// Metrics worse by more than allowed.
    pub fn regressions(&self) -> impl Iterator<Item = &Comparison> + '_ {
        self.with_change(Change::Regressed)
    }

    /// Metrics better by more than allowed.
    pub fn improvements(&self) -> impl Iterator<Item = &Comparison> + '_ {
        self.with_change(Change::Improved)
    }

    /// Metrics within the allowed band.
    pub fn unchanged(&self) -> impl Iterator<Item = &Comparison> + '_ {
        self.with_change(Change::Unchanged)
    }

    /// True when no metric regressed or went missing.
    pub fn passed(&self) -> bool {
        self.iter().all(Comparison::passed)
    }

    /// Number of comparisons.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when the baseline held no metric.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A quality gate: limits on metrics and the allowed regression against a baseline.
///
/// ```
/// use mlprobe_core::validate::{Gate, Metric, Metrics};
/// let mut gate = Gate::default(); // no limit, 5 % allowed regression
/// gate.thresholds.set(Metric::Accuracy, 0.9).unwrap();
/// gate.thresholds.set(Metric::LatencyP99, 100.0).unwrap();
/// let base = Metrics::new().with(Metric::Accuracy, 0.96);
/// let run = Metrics::new().with(Metric::Accuracy, 0.95).with(Metric::LatencyP99, 50.0);
/// assert!(gate.check(&run, Some(&base)).passed());
/// // A slice of the rows is held to the quality limits only.
/// assert_eq!(gate.for_slice().thresholds.get(Metric::LatencyP99), None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Gate {
    /// Limits on metrics.
    pub thresholds: Thresholds,
    /// Allowed regression against a baseline.
    pub regression: RegressionPolicy,
}

impl Gate {
    /// Checks metrics against the limits and, when there is a baseline, against it.
    pub fn check(&self, metrics: &Metrics, baseline: Option<&Metrics>) -> Verdict {
        Verdict {
            thresholds: self.thresholds.check(metrics),
            regression: baseline.map(|b| self.regression.compare(b, metrics)),
        }
    }

    /// The gate of a slice of the rows: the [quality](Thresholds::quality_only) limits, the
    /// same allowed regression.
    #[must_use]
    pub fn for_slice(&self) -> Self {
        Self {
            thresholds: self.thresholds.quality_only(),
            regression: self.regression,
        }
    }
}

/// The result of [`Gate::check`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Verdict {
    /// Threshold checks.
    pub thresholds: ThresholdReport,
    /// Comparison with the baseline, when there was one.
    pub regression: Option<RegressionReport>,
}

impl Verdict {
    /// True when every threshold held and nothing regressed or went missing.
    pub fn passed(&self) -> bool {
        self.thresholds.passed()
            && self
                .regression
                .as_ref()
                .is_none_or(RegressionReport::passed)
    }

    /// Number of checks: thresholds and comparisons.
    pub fn len(&self) -> usize {
        self.thresholds.len() + self.regression.as_ref().map_or(0, RegressionReport::len)
    }

    /// True when nothing was checked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec as Vec;
    use crate::metrics::ConfusionMatrix;

    #[test]
    fn names_round_trip_and_directions() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
            assert_eq!(m.index(), Metric::ALL.iter().position(|&x| x == m).unwrap());
        }
        assert_eq!(Metric::from_name("f1"), Some(Metric::F1));
        assert_eq!(Metric::from_name("latency"), None);
        assert_eq!(Metric::Recall.direction(), Direction::HigherIsBetter);
        assert_eq!(Metric::PeakRssBytes.direction(), Direction::LowerIsBetter);
    }

    #[test]
    fn seed_example_thresholds() {
        // Seed section 3: y_true/y_pred with one error in 10 → accuracy 0.9; the seed's
        // validator(min_accuracy=0.85, min_precision=0.80) passes on accuracy.
        let mut cm = ConfusionMatrix::<3>::new();
        let truth = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0];
        let pred = [0, 1, 2, 0, 1, 1, 0, 1, 2, 0];
        for (t, p) in truth.into_iter().zip(pred) {
            cm.record(t, p).unwrap();
        }
        let mut m = Metrics::new();
        m.set_classification(&cm);
        assert_eq!(m.get(Metric::Accuracy), Some(0.9));
        let mut t = Thresholds::new();
        t.set(Metric::Accuracy, 0.85).unwrap();
        t.set(Metric::Precision, 0.80).unwrap();
        t.set(Metric::Recall, 0.95).unwrap();
        let r = t.check(&m);
        assert_eq!(r.len(), 3);
        // macro recall = (1 + 1 + 2/3) / 3 = 0.888… < 0.95: the only violation.
        let v: Vec<_> = r.violations().map(|c| c.metric).collect();
        assert_eq!(v, [Metric::Recall]);
        assert!(!r.passed());
    }

    #[test]
    fn thresholds_use_each_direction_and_limits_are_inclusive() {
        let mut t = Thresholds::new();
        t.set(Metric::Accuracy, 0.9).unwrap();
        t.set(Metric::LatencyP99, 100.0).unwrap();
        t.set(Metric::MemoryBytes, 1000.0).unwrap();
        let ok = Metrics::new()
            .with(Metric::Accuracy, 0.9)
            .with(Metric::LatencyP99, 100.0)
            .with(Metric::MemoryBytes, 10.0);
        assert!(t.check(&ok).passed());
        let bad = ok
            .with(Metric::Accuracy, 0.89)
            .with(Metric::LatencyP99, 100.5)
            .with(Metric::MemoryBytes, f64::NAN);
        let outcomes: Vec<_> = t.check(&bad).iter().map(|c| c.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Failed, Outcome::Failed, Outcome::Missing]
        );
        assert_eq!(
            t.set(Metric::F1, f64::INFINITY),
            Err(ValidateError::NonFiniteLimit { metric: Metric::F1 })
        );
        assert_eq!(
            t.set(Metric::Accuracy, -1.0),
            Err(ValidateError::LimitOutOfRange {
                metric: Metric::Accuracy
            })
        );
        assert!(t.set(Metric::Recall, 1.5).is_err());
        assert!(t.set(Metric::LatencyP99, -0.5).is_err());
        assert_eq!(t.set(Metric::LatencyP99, 0.0), Ok(()));
        assert_eq!(t.set(Metric::F1, 1.0), Ok(()));
        assert!(Thresholds::new().check(&bad).passed());
        assert!(Thresholds::new().is_empty());
    }

    #[test]
    fn regression_compares_every_baseline_metric_both_ways() {
        let p = RegressionPolicy::new(5.0).unwrap();
        let base = Metrics::new()
            .with(Metric::Accuracy, 0.90)
            .with(Metric::F1, 0.80)
            .with(Metric::Recall, 0.50)
            .with(Metric::LatencyP50, 10.0)
            .with(Metric::LatencyP99, 100.0)
            .with(Metric::MemoryBytes, 1000.0);
        let cur = Metrics::new()
            .with(Metric::Accuracy, 0.90 * 0.94) // −6 %: regressed
            .with(Metric::F1, 0.80 * 1.06) // +6 %: improved
            .with(Metric::Recall, 0.51) // +2 %: unchanged
            .with(Metric::LatencyP50, 9.0) // −10 % (lower is better): improved
            .with(Metric::LatencyP99, 110.0) // +10 %: regressed
            .with(Metric::PeakRssBytes, 1.0); // not in the baseline: not compared
        // MemoryBytes is missing from the current run.
        let r = p.compare(&base, &cur);
        assert_eq!(r.len(), 6);
        let got: Vec<_> = r.iter().map(|c| (c.metric, c.change)).collect();
        assert_eq!(
            got,
            [
                (Metric::Accuracy, Change::Regressed),
                (Metric::Recall, Change::Unchanged),
                (Metric::F1, Change::Improved),
                (Metric::LatencyP50, Change::Improved),
                (Metric::LatencyP99, Change::Regressed),
                (Metric::MemoryBytes, Change::Missing),
            ]
        );
        assert_eq!(r.regressions().count(), 2);
        assert_eq!(r.improvements().count(), 2);
        assert_eq!(r.unchanged().count(), 1);
        assert!(!r.passed());
        // (0.846 − 0.9) / 0.9 · 100 = −6 %
        let acc = r.iter().next().unwrap();
        assert!((acc.change_pct.unwrap() + 6.0).abs() < 1e-9);
    }

    #[test]
    fn regression_exactly_at_the_allowed_percentage_passes() {
        let p = RegressionPolicy::new(10.0).unwrap();
        let base = Metrics::new().with(Metric::LatencyP99, 100.0);
        // 100 → 110 is +10 %, allowed 10 %: unchanged (the seed's `>` comparison).
        let r = p.compare(&base, &Metrics::new().with(Metric::LatencyP99, 110.0));
        assert!(r.passed());
        assert_eq!(r.unchanged().count(), 1);
        // 1.0 → 0.9 computes as −9.999999999999998 %, 0.7 → 0.63 as −9.999999999999993 %:
        // both are exactly the allowed 10 % and pass; 0.7 → 0.6299 does not.
        for (b, c, ok) in [(1.0, 0.9, true), (0.7, 0.63, true), (0.7, 0.6299, false)] {
            let r = p.compare(
                &Metrics::new().with(Metric::Accuracy, b),
                &Metrics::new().with(Metric::Accuracy, c),
            );
            assert_eq!(r.passed(), ok, "{b} -> {c}");
        }
        // 1.0 → 0.95 computes as −5.000000000000004 %: still exactly the allowed 5 %.
        let r = RegressionPolicy::new(5.0).unwrap().compare(
            &Metrics::new().with(Metric::Accuracy, 1.0),
            &Metrics::new().with(Metric::Accuracy, 0.95),
        );
        assert!(r.passed());
    }

    #[test]
    fn zero_baseline_does_not_divide_by_zero() {
        let p = RegressionPolicy::new(5.0).unwrap();
        let base = Metrics::new()
            .with(Metric::Accuracy, 0.0)
            .with(Metric::Recall, 0.0)
            .with(Metric::LatencyP99, 0.0)
            .with(Metric::MemoryBytes, 0.0);
        let cur = Metrics::new()
            .with(Metric::Accuracy, 0.5) // 0 → 0.5, higher is better: improved
            .with(Metric::Recall, 0.0) // 0 → 0: unchanged, 0 %
            .with(Metric::LatencyP99, 3.0) // 0 → 3, lower is better: regressed
            .with(Metric::MemoryBytes, 0.0);
        let r = p.compare(&base, &cur);
        let got: Vec<_> = r.iter().map(|c| (c.change, c.change_pct)).collect();
        assert_eq!(
            got,
            [
                (Change::Improved, None),
                (Change::Unchanged, Some(0.0)),
                (Change::Regressed, None),
                (Change::Unchanged, Some(0.0)),
            ]
        );
    }

    #[test]
    fn non_finite_values_and_bad_policies() {
        let p = RegressionPolicy::new(0.0).unwrap();
        let base = Metrics::new()
            .with(Metric::Accuracy, f64::NAN)
            .with(Metric::F1, 0.5);
        let cur = Metrics::new()
            .with(Metric::Accuracy, 0.9)
            .with(Metric::F1, f64::NAN);
        let r = p.compare(&base, &cur);
        assert!(r.iter().all(|c| c.change == Change::Missing));
        assert!(!r.passed());
        assert!(p.compare(&Metrics::new(), &cur).is_empty());
        assert_eq!(
            RegressionPolicy::new(-1.0),
            Err(ValidateError::InvalidAllowedPct)
        );
        assert_eq!(
            RegressionPolicy::new(f64::NAN),
            Err(ValidateError::InvalidAllowedPct)
        );
    }

    #[test]
    fn messages() {
        let mut t = Thresholds::new();
        t.set(Metric::Accuracy, 0.9).unwrap();
        let r = t.check(&Metrics::new().with(Metric::Accuracy, 0.8));
        assert_eq!(
            format!("{}", r.iter().next().unwrap()),
            "accuracy 0.8 violates min 0.9"
        );
        let p = RegressionPolicy::new(5.0).unwrap();
        let r = p.compare(
            &Metrics::new().with(Metric::Accuracy, 0.8),
            &Metrics::new().with(Metric::Accuracy, 0.6),
        );
        assert_eq!(
            format!("{}", r.iter().next().unwrap()),
            "accuracy 0.8 -> 0.6 (-25.00 %, allowed 5 %): regressed"
        );
    }

    #[test]
    fn latency_from_sketch_is_in_microseconds() {
        let mut s = crate::sketch::Sketch::new();
        s.record(100); // 100 ns, exact bucket
        let mut m = Metrics::new();
        m.set_latency_ns(&s.summary().unwrap());
        assert_eq!(m.get(Metric::LatencyP99), Some(0.1));
    }
    #[test]
    fn threshold_keys_name_metric_and_direction() {
        for m in Metric::ALL {
            let key = format!("{}", m.threshold_key());
            assert_eq!(Metric::from_threshold_key(&key), Ok(m), "{key}");
        }
        assert_eq!(
            format!("{}", Metric::LatencyP99.threshold_key()),
            "max_latency_p99_us"
        );
        assert_eq!(
            Metric::from_threshold_key("min_precision"),
            Ok(Metric::Precision)
        );
        assert_eq!(
            Metric::from_threshold_key("min_memory_bytes"),
            Err(ValidateError::WrongDirection {
                metric: Metric::MemoryBytes
            })
        );
        for bad in ["accuracy", "min_", "min_acuracy", "mean_accuracy", ""] {
            assert_eq!(
                Metric::from_threshold_key(bad),
                Err(ValidateError::UnknownThreshold),
                "{bad}"
            );
        }
        assert_eq!(
            format!(
                "{}",
                ValidateError::WrongDirection {
                    metric: Metric::Accuracy
                }
            ),
            "the threshold of accuracy is `min_accuracy`"
        );
    }

    #[test]
    fn metric_groups_and_operators() {
        let quality: Vec<_> = Metric::ALL.into_iter().filter(|m| m.is_quality()).collect();
        assert_eq!(
            quality,
            [
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1
            ]
        );
        // Memory is the model's: neither a quality metric nor a machine's.
        assert!(!Metric::MemoryBytes.is_quality() && !Metric::MemoryBytes.is_machine_dependent());
        assert!(
            Metric::ALL
                .into_iter()
                .all(|m| !(m.is_quality() && m.is_machine_dependent()))
        );
        assert_eq!(Direction::HigherIsBetter.operator(), ">=");
        assert_eq!(Direction::LowerIsBetter.limit_kind(), "max");
        let all = Metric::ALL
            .into_iter()
            .fold(Metrics::new(), |m, k| m.with(k, 1.0));
        let kept: Vec<_> = all
            .without_machine_dependent()
            .iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(
            kept,
            [
                Metric::Accuracy,
                Metric::Precision,
                Metric::Recall,
                Metric::F1,
                Metric::MemoryBytes
            ]
        );
        assert_eq!(
            [
                Change::Regressed,
                Change::Improved,
                Change::Unchanged,
                Change::Missing
            ]
            .map(Change::name),
            ["regressed", "improved", "unchanged", "missing"]
        );
    }

    #[test]
    fn gate_checks_thresholds_and_baseline_and_slices_see_quality_limits() {
        let mut gate = Gate::default();
        assert_eq!(gate.regression, RegressionPolicy::new(5.0).unwrap());
        gate.thresholds.set(Metric::Accuracy, 0.9).unwrap();
        gate.thresholds.set(Metric::MemoryBytes, 100.0).unwrap();
        let run = Metrics::new()
            .with(Metric::Accuracy, 0.95)
            .with(Metric::MemoryBytes, 50.0);
        let v = gate.check(&run, None);
        assert!(v.passed() && v.regression.is_none());
        assert_eq!(v.len(), 2);
        // −10 % against the baseline: beyond the allowed 5 %.
        let base = Metrics::new().with(Metric::Accuracy, 0.95 / 0.9);
        let v = gate.check(&run, Some(&base));
        assert!(!v.passed());
        assert_eq!(v.len(), 3);
        let slice = gate.for_slice();
        assert_eq!(slice.thresholds.get(Metric::Accuracy), Some(0.9));
        assert_eq!(slice.thresholds.get(Metric::MemoryBytes), None);
        let v = slice.check(&Metrics::new(), None);
        assert!(!v.passed(), "a slice without rows misses its accuracy");
        assert!(Gate::default().check(&Metrics::new(), None).is_empty());
    }
}
