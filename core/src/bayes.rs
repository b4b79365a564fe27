//! Bayesian A/B analysis of two conversion rates (Beta–Binomial), the seed notebook's
//! `BayesianABTest` with every statistic computed exactly where a closed form exists.
//!
//! With a `Beta(α₀, β₀)` prior (default `Beta(1, 1)`), an arm with `c` conversions of `n` has the
//! posterior `Beta(α₀ + c, β₀ + n - c)` ([`BetaDist::posterior`]). From the two posteriors:
//!
//! - [`prob_greater`]: `P(p_treatment > p_control)` **exactly**, by Evan Miller's closed-form
//!   sum when one posterior parameter is an integer (always, for integer priors), otherwise by
//!   tanh-sinh quadrature; the sum runs from its largest term outwards and stops when the
//!   remainder is provably below 1e-17 of the total, so counts up to 10^6 and beyond take
//!   microseconds (see the host's `benches/ab.rs`);
//! - credible intervals from Beta quantiles ([`BetaDist::credible_interval`], on
//!   [`crate::special::beta_ppf`]);
//! - the expected relative lift `E[p_t/p_c] - 1` in closed form ([`expected_lift`]);
//! - the expected loss of choosing each arm in closed form ([`expected_loss`]; Chris Stucchio,
//!   "Bayesian A/B testing at VWO", 2015, appendix);
//! - a decision rule on the probability or on the expected loss ([`DecisionRule`]).
//!
//! [`exact`] computes all of them from two [`Variant`]s. The Monte-Carlo estimates of the seed
//! (random draws, a growable sample for the lift interval) stay on the host.
//!
//! When not to use it: for a frequentist reading of the same counters (p-values, sample sizes,
//! sequential looks) see [`crate::abtest`] and [`crate::sequential`].
//!
//! ## Host and device numbers
//! The sums and the quadrature call `ln`, `exp`, `sinh` and `cosh`. With the `std` feature (the
//! host) they are the standard library's, so the host reports the numbers it reported before this
//! module moved into `core`, bit for bit; without it (the device) they are `libm`'s, which
//! differ from the platform's in the last bit for some arguments, so a device's probabilities
//! agree with the host's to about 1e-13 relative (a unit test runs both).

use crate::abtest::Variant;
use crate::special::{beta_inc, beta_inc_complement, beta_pdf, beta_ppf, ln_beta};
use core::f64::consts::FRAC_PI_2;
use core::fmt;

/// Errors of the Bayesian analysis. Each variant's doc line is its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BayesError {
    /// the prior's parameters must be positive and finite
    InvalidPrior,
    /// the credible level must be strictly between 0 and 1
    LevelOutOfRange,
    /// the probability threshold must be strictly between 0.5 and 1
    ProbabilityThresholdOutOfRange,
    /// the loss threshold must be positive and finite
    LossThresholdOutOfRange,
    /// at least one Monte-Carlo sample is needed
    ZeroSamples,
}

impl fmt::Display for BayesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidPrior => "the prior's parameters must be positive and finite",
            Self::LevelOutOfRange => "the credible level must be strictly between 0 and 1",
            Self::ProbabilityThresholdOutOfRange => {
                "the probability threshold must be strictly between 0.5 and 1"
            }
            Self::LossThresholdOutOfRange => "the loss threshold must be positive and finite",
            Self::ZeroSamples => "at least one Monte-Carlo sample is needed",
        })
    }
}

impl core::error::Error for BayesError {}

/// A Beta distribution `Beta(alpha, beta)`: a prior or a posterior of a conversion rate.
///
/// ```
/// use mlprobe_core::abtest::Variant;
/// use mlprobe_core::bayes::BetaDist;
/// let posterior = BetaDist::default().posterior(&Variant::from_counts(21, 200).unwrap());
/// assert_eq!((posterior.alpha, posterior.beta), (22.0, 180.0));
/// let (lo, hi) = posterior.credible_interval(0.95).unwrap();
/// assert!(lo < posterior.mean() && posterior.mean() < hi);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BetaDist {
    /// First shape parameter (prior successes + conversions).
    pub alpha: f64,
    /// Second shape parameter (prior failures + non-conversions).
    pub beta: f64,
}

impl Default for BetaDist {
    /// The uniform prior `Beta(1, 1)`.
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 1.0,
        }
    }
}

impl BetaDist {
    /// `Beta(alpha, beta)`; both must be positive and finite.
    pub fn new(alpha: f64, beta: f64) -> Result<Self, BayesError> {
        if alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite() {
            Ok(Self { alpha, beta })
        } else {
            Err(BayesError::InvalidPrior)
        }
    }

    /// The posterior of this prior after `arm`'s counts.
    pub fn posterior(&self, arm: &Variant) -> Self {
        let c = arm.conversions() as f64;
        let n = arm.total() as f64;
        Self {
            alpha: self.alpha + c,
            beta: self.beta + (n - c),
        }
    }

    /// The mean `α / (α + β)`.
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// The equal-tailed credible interval at `level` (e.g. 0.95), from Beta quantiles.
    pub fn credible_interval(&self, level: f64) -> Result<(f64, f64), BayesError> {
        check_level(level)?;
        let tail = 0.5 * (1.0 - level);
        Ok((
            beta_ppf(self.alpha, self.beta, tail),
            beta_ppf(self.alpha, self.beta, 1.0 - tail),
        ))
    }

    /// The variance `αβ / ((α+β)²(α+β+1))`.
    fn variance(&self) -> f64 {
        let s = self.alpha + self.beta;
        self.alpha * self.beta / (s * s * (s + 1.0))
    }

    /// `Beta(α + 1, β)`: `x·f(x; α, β) = E[X]·f(x; α+1, β)`.
    fn shifted(&self) -> Self {
        Self {
            alpha: self.alpha + 1.0,
            beta: self.beta,
        }
    }
}

/// A credible level strictly inside (0, 1).
pub fn check_level(level: f64) -> Result<(), BayesError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(BayesError::LevelOutOfRange)
    }
}

/// The elementary functions of the sums and the quadrature: the platform's with `std` (the
/// values the host always reported), `libm`'s without (see the module docs).
trait Elementary {
    fn ln(x: f64) -> f64;
    fn exp(x: f64) -> f64;
    fn sinh(x: f64) -> f64;
    fn cosh(x: f64) -> f64;
}

/// `libm`: the device's functions (and, in tests, the check that they agree with the host's).
#[cfg_attr(all(feature = "std", not(test)), allow(dead_code))]
struct Libm;

impl Elementary for Libm {
    fn ln(x: f64) -> f64 {
        libm::log(x)
    }
    fn exp(x: f64) -> f64 {
        libm::exp(x)
    }
    fn sinh(x: f64) -> f64 {
        libm::sinh(x)
    }
    fn cosh(x: f64) -> f64 {
        libm::cosh(x)
    }
}

/// The standard library's functions (the platform's `libm`).
#[cfg(any(test, feature = "std"))]
struct Platform;

#[cfg(any(test, feature = "std"))]
impl Elementary for Platform {
    fn ln(x: f64) -> f64 {
        x.ln()
    }
    fn exp(x: f64) -> f64 {
        x.exp()
    }
    fn sinh(x: f64) -> f64 {
        x.sinh()
    }
    fn cosh(x: f64) -> f64 {
        x.cosh()
    }
}

#[cfg(any(test, feature = "std"))]
type Native = Platform;
#[cfg(not(any(test, feature = "std")))]
type Native = Libm;

/// `P(X_b > X_a)` for independent `X_a ~ a`, `X_b ~ b`, exactly.
///
/// Evan Miller, "Formulas for Bayesian A/B Testing" (2014):
/// `P(X_b > X_a) = Σ_{i=0}^{α_b-1} B(α_a+i, β_a+β_b) / ((β_b+i) B(1+i, β_b) B(α_a, β_a))` for an
/// integer `α_b`, and its three mirror images for an integer `α_a`, `β_a` or `β_b` (by
/// `P(X_b > X_a) = 1 - P(X_a > X_b)` and `1 - X ~ Beta(β, α)`). The form with the fewest terms
/// is used. Consecutive terms have the ratio `(α_a+i)(β_b+i) / ((α_a+β_a+β_b+i)(i+1))`, so the
/// terms are unimodal; the sum starts at the largest term (its logarithm from
/// [`ln_beta`]) and walks outwards with that ratio until the remaining terms, bounded by the
/// current term times their count, fall below 1e-17 of the sum.
///
/// When no parameter is an integer (a non-integer prior such as Jeffreys' `Beta(½, ½)`), the
/// probability is `∫ f_narrow(x) · P(X_wide on the right side of x) dx` by tanh-sinh quadrature
/// over the narrower posterior ([`prob_greater_quadrature`]).
///
/// ```
/// use mlprobe_core::bayes::{prob_greater, BetaDist};
/// let a = BetaDist::new(22.0, 180.0).unwrap();
/// let b = BetaDist::new(32.0, 170.0).unwrap();
/// assert!((prob_greater(&a, &b) - 0.9300618733).abs() < 1e-10);
/// ```
pub fn prob_greater(a: &BetaDist, b: &BetaDist) -> f64 {
    prob_greater_with::<Native>(a, b)
}

fn prob_greater_with<M: Elementary>(a: &BetaDist, b: &BetaDist) -> f64 {
    // The candidate forms: (term count, complement?, parameters of `miller_sum`).
    let mut best: Option<(f64, bool, [f64; 4])> = None;
    let mut consider = |count: f64, complement: bool, p: [f64; 4]| {
        if is_summable(count) && best.is_none_or(|(c, _, _)| count < c) {
            best = Some((count, complement, p));
        }
    };
    consider(b.alpha, false, [a.alpha, a.beta, b.alpha, b.beta]);
    consider(a.alpha, true, [b.alpha, b.beta, a.alpha, a.beta]);
    // X_b > X_a ⇔ 1 - X_a > 1 - X_b, with 1 - X ~ Beta(β, α): "a" is 1 - X_b, "b" is 1 - X_a.
    consider(a.beta, false, [b.beta, b.alpha, a.beta, a.alpha]);
    consider(b.beta, true, [a.beta, a.alpha, b.beta, b.alpha]);
    let p = match best {
        Some((_, false, [aa, ba, ab, bb])) => miller_sum::<M>(aa, ba, ab, bb),
        Some((_, true, [aa, ba, ab, bb])) => 1.0 - miller_sum::<M>(aa, ba, ab, bb),
        None => quadrature_with::<M>(a, b),
    };
    p.clamp(0.0, 1.0)
}

/// Whether `x` is a positive integer the closed form can sum over.
fn is_summable(x: f64) -> bool {
    // `x - trunc(x)` is `f64::fract`, spelled for `no_std`.
    x >= 1.0 && x - libm::trunc(x) == 0.0 && x < 1e15
}

/// `P(X_b > X_a)` by Evan Miller's sum over `i < αb` (an integer).
fn miller_sum<M: Elementary>(aa: f64, ba: f64, ab: f64, bb: f64) -> f64 {
    let m = ab; // number of terms, i = 0..m-1
    let ln_term =
        |i: f64| ln_beta(aa + i, ba + bb) - M::ln(bb + i) - ln_beta(1.0 + i, bb) - ln_beta(aa, ba);
    let ratio = |i: f64| (aa + i) * (bb + i) / ((aa + ba + bb + i) * (i + 1.0));
    // Terms grow while ratio(i) > 1 ⇔ i < (aa·bb - (aa + ba + bb)) / (ba + 1).
    let turn = (aa * bb - (aa + ba + bb)) / (ba + 1.0);
    let mode = if turn > 0.0 {
        libm::ceil(turn).min(m - 1.0)
    } else {
        0.0
    };
    let scale = ln_term(mode);
    // Terms relative to the mode's: the mode's is 1.
    let mut sum = 1.0;
    const EPS: f64 = 1e-17;
    // Upwards: t_{i+1} = t_i · ratio(i), decreasing beyond the mode.
    let mut t = 1.0;
    let mut i = mode;
    while i + 1.0 < m {
        t *= ratio(i);
        i += 1.0;
        sum += t;
        if t * (m - 1.0 - i) < EPS * sum {
            break;
        }
    }
    // Downwards: t_{i-1} = t_i / ratio(i-1), decreasing below the mode.
    let mut t = 1.0;
    let mut i = mode;
    while i > 0.0 {
        t /= ratio(i - 1.0);
        i -= 1.0;
        sum += t;
        if t * i < EPS * sum {
            break;
        }
    }
    M::exp(scale + M::ln(sum))
}

/// `P(X_b > X_a)` by tanh-sinh (double-exponential) quadrature over the narrower of the two
/// distributions: `∫ f_a(x)·(1 - I_x(b)) dx` or `∫ f_b(y)·I_y(a) dy` (Takahasi & Mori 1974;
/// levels are refined until two agree to 1e-12). Slower than the closed form (milliseconds
/// for counts of 10^6): [`prob_greater`] uses it only when no parameter is an integer.
pub fn prob_greater_quadrature(a: &BetaDist, b: &BetaDist) -> f64 {
    quadrature_with::<Native>(a, b)
}

fn quadrature_with<M: Elementary>(a: &BetaDist, b: &BetaDist) -> f64 {
    // The narrow density's mass lies within 40 standard deviations of its mean (or it touches
    // an end, where tanh-sinh handles the endpoint singularity of α < 1 or β < 1).
    let window = |d: &BetaDist| {
        let (m, sd) = (d.mean(), libm::sqrt(d.variance()));
        ((m - 40.0 * sd).max(0.0), (m + 40.0 * sd).min(1.0))
    };
    let p = if a.variance() <= b.variance() {
        let (lo, hi) = window(a);
        tanh_sinh::<M>(
            |x| beta_pdf(a.alpha, a.beta, x) * beta_inc_complement(b.alpha, b.beta, x),
            lo,
            hi,
        )
    } else {
        let (lo, hi) = window(b);
        tanh_sinh::<M>(
            |y| beta_pdf(b.alpha, b.beta, y) * beta_inc(a.alpha, a.beta, y),
            lo,
            hi,
        )
    };
    p.clamp(0.0, 1.0)
}

/// `∫_lo^hi f` by tanh-sinh quadrature, halving the step until two levels agree.
fn tanh_sinh<M: Elementary>(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    let half = 0.5 * (hi - lo);
    // Node at t: x = tanh(π/2·sinh t), weight π/2·cosh t / cosh²(π/2·sinh t). Nodes are taken
    // as distances from the nearer end so that points next to an end do not round onto it.
    let eval = |t: f64| -> f64 {
        let u = FRAC_PI_2 * M::sinh(t);
        let w = FRAC_PI_2 * M::cosh(t) / (M::cosh(u) * M::cosh(u));
        // 1 - tanh(|u|) = 2 / (1 + e^{2|u|}), without cancellation.
        let gap = 2.0 / (1.0 + M::exp(2.0 * u.abs()));
        let x = if u >= 0.0 {
            hi - half * gap
        } else {
            lo + half * gap
        };
        if x <= lo || x >= hi || w == 0.0 {
            return 0.0;
        }
        let v = f(x);
        if v.is_finite() { v * w } else { 0.0 }
    };
    const T_MAX: f64 = 3.5;
    let mut h = 0.5;
    let mut sum = eval(0.0);
    let mut k = 1.0;
    while k * h <= T_MAX {
        sum += eval(k * h) + eval(-k * h);
        k += 1.0;
    }
    let mut estimate = sum * h * half;
    for _ in 0..10 {
        h *= 0.5;
        // Add the new odd nodes.
        let mut k = 1.0;
        while k * h <= T_MAX {
            sum += eval(k * h) + eval(-k * h);
            k += 2.0;
        }
        let next = sum * h * half;
        let done = (next - estimate).abs() <= 1e-12 * next.abs().max(1e-300);
        estimate = next;
        if done {
            break;
        }
    }
    estimate
}

/// The expected loss of choosing each arm: `E[max(X_other - X_chosen, 0)]`, in closed form.
///
/// Chris Stucchio, "Bayesian A/B Testing at VWO" (2015), appendix:
/// `E[max(X_a - X_b, 0)] = E[X_a]·P(X_a⁺ > X_b) - E[X_b]·P(X_a > X_b⁺)`, where `X⁺` has `α + 1`
/// (since `x·f(x; α, β) = E[X]·f(x; α+1, β)`). Returns `(choose a, choose b)`.
///
/// ```
/// use mlprobe_core::bayes::{expected_loss, BetaDist};
/// let (a, b) = (BetaDist::new(22.0, 180.0).unwrap(), BetaDist::new(32.0, 170.0).unwrap());
/// let (choose_a, choose_b) = expected_loss(&a, &b);
/// assert!((choose_b - 0.0010478680129541).abs() < 1e-12 && choose_a > choose_b);
/// ```
pub fn expected_loss(a: &BetaDist, b: &BetaDist) -> (f64, f64) {
    expected_loss_with::<Native>(a, b)
}

fn expected_loss_with<M: Elementary>(a: &BetaDist, b: &BetaDist) -> (f64, f64) {
    let p = prob_greater_with::<M>;
    let choose_b = a.mean() * p(b, &a.shifted()) - b.mean() * p(&b.shifted(), a);
    let choose_a = b.mean() * p(a, &b.shifted()) - a.mean() * p(&a.shifted(), b);
    (choose_a.max(0.0), choose_b.max(0.0))
}

/// The expected relative lift `E[X_b / X_a] - 1 = E[X_b]·(α_a + β_a - 1)/(α_a - 1) - 1`
/// (independence and `E[1/X] = (α+β-1)/(α-1)` for a Beta); `None` when `α_a ≤ 1`, where
/// `E[1/X_a]` is infinite.
pub fn expected_lift(a: &BetaDist, b: &BetaDist) -> Option<f64> {
    (a.alpha > 1.0).then(|| b.mean() * (a.alpha + a.beta - 1.0) / (a.alpha - 1.0) - 1.0)
}

/// When to call a winner.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(tag = "rule", content = "threshold", rename_all = "snake_case")]
pub enum DecisionRule {
    /// Treatment if `P(treatment > control) ≥ threshold`, control if `≤ 1 - threshold`
    /// (the seed uses 0.95).
    Probability(f64),
    /// The arm whose expected loss is below the threshold (the smaller if both are): stop when
    /// the cost of a wrong choice is negligible (Stucchio 2015).
    Loss(f64),
}

impl Default for DecisionRule {
    fn default() -> Self {
        Self::Probability(0.95)
    }
}

impl DecisionRule {
    /// The rule if its threshold is valid: a probability in (0.5, 1), a loss positive and
    /// finite.
    pub fn validate(self) -> Result<Self, BayesError> {
        match self {
            Self::Probability(t) if !(t > 0.5 && t < 1.0) => {
                Err(BayesError::ProbabilityThresholdOutOfRange)
            }
            Self::Loss(t) if !(t > 0.0 && t.is_finite()) => {
                Err(BayesError::LossThresholdOutOfRange)
            }
            ok => Ok(ok),
        }
    }

    /// The decision for `P(treatment > control) = prob` and the expected losses of choosing
    /// the control and the treatment.
    ///
    /// ```
    /// use mlprobe_core::bayes::{Decision, DecisionRule};
    /// assert_eq!(DecisionRule::Probability(0.9).decide(0.93, 0.05, 0.001), Decision::Treatment);
    /// assert_eq!(DecisionRule::Loss(1e-4).decide(0.93, 0.05, 0.001), Decision::Inconclusive);
    /// ```
    pub fn decide(self, prob: f64, loss_control: f64, loss_treatment: f64) -> Decision {
        match self {
            Self::Probability(t) if prob >= t => Decision::Treatment,
            Self::Probability(t) if prob <= 1.0 - t => Decision::Control,
            Self::Probability(_) => Decision::Inconclusive,
            Self::Loss(eps) => match (loss_control < eps, loss_treatment < eps) {
                (true, true) if loss_treatment <= loss_control => Decision::Treatment,
                (true, _) => Decision::Control,
                (false, true) => Decision::Treatment,
                (false, false) => Decision::Inconclusive,
            },
        }
    }
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Ship the treatment.
    Treatment,
    /// Keep the control.
    Control,
    /// No clear winner yet.
    Inconclusive,
}

/// The exact statistics of two arms under one prior (everything but the Monte-Carlo
/// estimates): what [`exact`] returns.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Exact {
    /// The control's posterior.
    pub control: BetaDist,
    /// The treatment's posterior.
    pub treatment: BetaDist,
    /// `P(p_treatment > p_control)`.
    pub prob_treatment_better: f64,
    /// The control's equal-tailed credible interval.
    pub control_ci: (f64, f64),
    /// The treatment's equal-tailed credible interval.
    pub treatment_ci: (f64, f64),
    /// `E[p_t/p_c] - 1`; `None` when infinite (the control's `α ≤ 1`).
    pub expected_lift: Option<f64>,
    /// `E[max(p_t - p_c, 0)]`: the expected loss of keeping the control.
    pub loss_control: f64,
    /// `E[max(p_c - p_t, 0)]`: the expected loss of shipping the treatment.
    pub loss_treatment: f64,
}

/// The exact analysis of `control` against `treatment` under `prior`, intervals at `level`.
///
/// ```
/// use mlprobe_core::abtest::Variant;
/// use mlprobe_core::bayes::{exact, BetaDist};
/// let c = Variant::from_counts(21, 200).unwrap();
/// let t = Variant::from_counts(31, 200).unwrap();
/// let r = exact(&c, &t, BetaDist::default(), 0.95).unwrap();
/// assert!((r.prob_treatment_better - 0.9300618733).abs() < 1e-10);
/// ```
pub fn exact(
    control: &Variant,
    treatment: &Variant,
    prior: BetaDist,
    level: f64,
) -> Result<Exact, BayesError> {
    let prior = BetaDist::new(prior.alpha, prior.beta)?;
    check_level(level)?;
    let pc = prior.posterior(control);
    let pt = prior.posterior(treatment);
    let (loss_control, loss_treatment) = expected_loss(&pc, &pt);
    Ok(Exact {
        control: pc,
        treatment: pt,
        prob_treatment_better: prob_greater(&pc, &pt),
        control_ci: pc.credible_interval(level)?,
        treatment_ci: pt.credible_interval(level)?,
        expected_lift: expected_lift(&pc, &pt),
        loss_control,
        loss_treatment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beta(a: f64, b: f64) -> BetaDist {
        BetaDist::new(a, b).unwrap()
    }

    #[track_caller]
    fn close(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "got {got}, want {want}, diff {:e}",
            (got - want).abs()
        );
    }

    #[track_caller]
    fn same(got: f64, want: f64) {
        assert_eq!(got.to_bits(), want.to_bits(), "got {got:?}, want {want:?}");
    }

    /// `(a, b, P(X_b > X_a), the same by quadrature, loss of choosing a, of choosing b,
    /// expected lift)`, printed by the host's `bayes.rs` (`{:?}`, which round-trips) before it
    /// moved here: the host's numbers must not change in the move, not even in the last bit.
    /// The pairs reach every form of the sum (each mirror image, the early stops of large
    /// counts), both quadrature branches, priors that are not integers and the extremes.
    #[allow(clippy::type_complexity)]
    const HOST_NUMBERS: &[((f64, f64), (f64, f64), f64, f64, f64, f64, Option<f64>)] = &[
        (
            (22.0, 180.0),
            (32.0, 170.0),
            0.9300618732926655,
            0.9300618732926652,
            0.05055281850800371,
            0.0010478680129542214,
            Some(0.5162659123055162),
        ),
        (
            (32.0, 170.0),
            (22.0, 180.0),
            0.06993812670733442,
            0.06993812670733442,
            0.0010478680129542214,
            0.05055281850800371,
            Some(-0.29383583519642287),
        ),
        (
            (21.5, 179.5),
            (31.5, 169.5),
            0.9317455059003524,
            0.9317455059003524,
            0.05076617169320641,
            0.0010149279121118918,
            Some(0.5289406625409538),
        ),
        (
            (0.5, 0.5),
            (0.5, 0.5),
            0.4999999999996112,
            0.4999999999996112,
            0.20264236239792988,
            0.20264236239792988,
            None,
        ),
        (
            (3.0, 7.0),
            (3.0, 7.0),
            0.5000000000000011,
            0.5000000000000001,
            0.0780185758513925,
            0.0780185758513925,
            Some(0.34999999999999987),
        ),
        (
            (100001.0, 900001.0),
            (100401.0, 899601.0),
            0.8268960353568298,
            0.8268960353517121,
            0.00043946435438896314,
            3.946515438736642e-5,
            Some(0.004008995992007991),
        ),
        (
            (3.0, 10.0),
            (250001.0, 750001.0),
            0.6093253789166237,
            0.6093253788578662,
            0.05639016181356442,
            0.03715889258379523,
            Some(0.5000029999939999),
        ),
        (
            (500001.0, 500001.0),
            (501001.0, 499001.0),
            0.9213504051305499,
            0.9213504051228224,
            0.0010251252257363341,
            2.5127225732300695e-5,
            Some(0.002000998000004195),
        ),
        (
            (1.0, 1000000.0),
            (1000000.0, 1.0),
            1.0,
            0.9999999999999994,
            0.9999980000019999,
            0.0,
            None,
        ),
        (
            (1000000.0, 1.0),
            (1.0, 1000000.0),
            0.0,
            0.0,
            0.0,
            0.9999980000019999,
            Some(-0.999999),
        ),
        (
            (1.0, 1.0),
            (1.0, 1.0),
            0.5,
            0.49999999999999994,
            0.16666666666666663,
            0.16666666666666663,
            None,
        ),
        (
            (1.0, 51.0),
            (4.0, 48.0),
            0.9411941194119411,
            0.9411941194119414,
            0.058779272251347624,
            0.0010869645590399222,
            None,
        ),
        (
            (2.5, 7.0),
            (3.5, 6.0),
            0.7008298635482801,
            0.7008298635482791,
            0.14423818337289857,
            0.03897502547816174,
            Some(1.0877192982456139),
        ),
        (
            (0.1, 1.1),
            (1.1, 0.1),
            0.9833216122916856,
            0.9833216122916856,
            0.8135006683942142,
            0.0024141318108372133,
            None,
        ),
        (
            (1.5, 2.5),
            (100.5, 1000.5),
            0.08626271874898807,
            0.08626271874898807,
            0.0032710562062708342,
            0.286990402255317,
            Some(-0.45231607629427795),
        ),
        (
            (100000.5, 900000.5),
            (110000.5, 890000.5),
            0.9999999999999972,
            0.9999999999999972,
            0.009999990000009687,
            8.625528804046266e-123,
            Some(0.10000940004310022),
        ),
        (
            (5.0, 3.0),
            (2.0, 9.0),
            0.017533936651583728,
            0.017533936651583714,
            0.0013883175647881425,
            0.44457013574660625,
            Some(-0.6818181818181819),
        ),
        (
            (1.0, 1.0),
            (3.0, 51.0),
            0.05555555555555536,
            0.05555555555555563,
            0.002020202020201969,
            0.4464646464646464,
            None,
        ),
        (
            (7.0, 2.5),
            (4.0, 1.5),
            0.50336456298828,
            0.5033645629882814,
            0.08314930308948865,
            0.09271868107991921,
            Some(0.030303030303030276),
        ),
        (
            (2.5, 9.0),
            (4.5, 3.0),
            0.9624149799346924,
            0.9624149799346899,
            0.3858874756356945,
            0.0032787799835205834,
            Some(3.2),
        ),
    ];

    /// `(posterior, level, low, high)` of the host's `credible_interval` before the move.
    const HOST_INTERVALS: &[((f64, f64), f64, f64, f64)] = &[
        (
            (22.0, 180.0),
            0.95,
            0.06987704450519412,
            0.15526486307372678,
        ),
        ((22.0, 180.0), 0.9, 0.07527040123188872, 0.14695818320712864),
        ((22.0, 180.0), 0.5, 0.09350040689004137, 0.12291973060397415),
        ((32.0, 170.0), 0.95, 0.1115159092629983, 0.21171591603956308),
        ((32.0, 170.0), 0.9, 0.11826101141146986, 0.2024226585217745),
        ((32.0, 170.0), 0.5, 0.1405182814587501, 0.1750877248059798),
        ((1.0, 1.0), 0.95, 0.025000000000000022, 0.975),
        ((1.0, 1.0), 0.9, 0.049999999999999996, 0.95),
        ((1.0, 1.0), 0.5, 0.25, 0.75),
        ((0.5, 0.5), 0.95, 0.001541333133436014, 0.998458666866564),
        ((0.5, 0.5), 0.9, 0.0061558297024311365, 0.9938441702975689),
        ((0.5, 0.5), 0.5, 0.14644660940672632, 0.8535533905932737),
        (
            (100001.0, 900001.0),
            0.95,
            0.09941356780392221,
            0.10058954763083468,
        ),
        (
            (100001.0, 900001.0),
            0.9,
            0.09950779808809952,
            0.10049471152837919,
        ),
        (
            (100001.0, 900001.0),
            0.5,
            0.09979830744067983,
            0.10020300185694896,
        ),
        (
            (1.0, 51.0),
            0.95,
            0.0004963044077377715,
            0.06977703074953867,
        ),
        ((1.0, 51.0), 0.9, 0.001005245272453573, 0.05704795236044281),
        ((1.0, 51.0), 0.5, 0.005624945368985465, 0.026816129977161273),
        ((0.1, 1.1), 0.95, 8.260161295114298e-17, 0.7319483783890454),
        ((0.1, 1.1), 0.9, 8.458405166197063e-14, 0.5500605975507681),
        ((0.1, 1.1), 0.5, 8.260161915389567e-7, 0.04899578922543413),
        ((2.5, 8.0), 0.95, 0.046533021449610704, 0.5225388758104179),
        ((2.5, 8.0), 0.9, 0.06356452748357029, 0.47128491932408006),
        ((2.5, 8.0), 0.5, 0.14224935088360796, 0.31663922356014923),
        (
            (1000000.0, 1.0),
            0.95,
            0.9999963111273498,
            0.9999999746821924,
        ),
        (
            (1000000.0, 1.0),
            0.9,
            0.9999970042722136,
            0.9999999487067069,
        ),
        (
            (1000000.0, 1.0),
            0.5,
            0.9999986137065998,
            0.9999997123179689,
        ),
    ];

    #[test]
    fn numbers_are_the_hosts_bit_for_bit() {
        for &((aa, ba), (ab, bb), p, q, loss_a, loss_b, lift) in HOST_NUMBERS {
            let (a, b) = (beta(aa, ba), beta(ab, bb));
            same(prob_greater(&a, &b), p);
            same(prob_greater_quadrature(&a, &b), q);
            let (la, lb) = expected_loss(&a, &b);
            same(la, loss_a);
            same(lb, loss_b);
            assert_eq!(
                expected_lift(&a, &b).map(f64::to_bits),
                lift.map(f64::to_bits)
            );
        }
        for &((a, b), level, lo, hi) in HOST_INTERVALS {
            let (l, h) = beta(a, b).credible_interval(level).unwrap();
            same(l, lo);
            same(h, hi);
        }
    }

    // The device computes with libm's ln/exp/sinh/cosh: the same numbers to about 1e-13.
    #[test]
    fn libm_numbers_agree_with_the_hosts() {
        for &((aa, ba), (ab, bb), p, q, loss_a, loss_b, _) in HOST_NUMBERS {
            let (a, b) = (beta(aa, ba), beta(ab, bb));
            let tol = |x: f64| 1e-13 * x.max(1e-300) + 1e-300;
            close(prob_greater_with::<Libm>(&a, &b), p, tol(p));
            close(quadrature_with::<Libm>(&a, &b), q, tol(q));
            let (la, lb) = expected_loss_with::<Libm>(&a, &b);
            close(la, loss_a, tol(loss_a).max(1e-16));
            close(lb, loss_b, tol(loss_b).max(1e-16));
        }
    }

    // Issue 5's reference: Evan Miller's closed form gives P(B > A) = 0.9300618733 for 21/200 (A)
    // against 31/200 (B) under Beta(1, 1), i.e. Beta(22, 180) against Beta(32, 170)
    // (https://www.evanmiller.org/bayesian-ab-testing.html); mpmath 1.3.0 quadrature at 30
    // digits: 0.93006187329266558.
    #[test]
    fn prob_greater_matches_evan_miller() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        let want = 0.930_061_873_292_665_6;
        close(prob_greater(&a, &b), want, 1e-13);
        close(prob_greater(&b, &a), 1.0 - want, 1e-13);
        close(prob_greater_quadrature(&a, &b), want, 1e-11);
        close(prob_greater_quadrature(&b, &a), 1.0 - want, 1e-11);
        // Every mirror-image form agrees (each is chosen for some parameter set).
        let sum = miller_sum::<Native>;
        close(sum(22.0, 180.0, 32.0, 170.0), want, 1e-13);
        close(1.0 - sum(32.0, 170.0, 22.0, 180.0), want, 1e-13);
        close(sum(170.0, 32.0, 180.0, 22.0), want, 1e-13);
        close(1.0 - sum(180.0, 22.0, 170.0, 32.0), want, 1e-13);
    }

    // Jeffreys prior Beta(½, ½) (no integer parameter: quadrature): Beta(21.5, 179.5) against
    // Beta(31.5, 169.5) gives 0.93174550590035271 (mpmath 1.3.0 `quad` at 30 digits).
    #[test]
    fn prob_greater_without_integer_parameters_uses_quadrature() {
        close(
            prob_greater(&beta(21.5, 179.5), &beta(31.5, 169.5)),
            0.931_745_505_900_352_7,
            1e-11,
        );
        // Symmetry: identical posteriors are a coin toss.
        close(prob_greater(&beta(0.5, 0.5), &beta(0.5, 0.5)), 0.5, 1e-11);
        close(prob_greater(&beta(3.0, 7.0), &beta(3.0, 7.0)), 0.5, 1e-14);
    }

    #[test]
    fn prob_greater_for_large_counts_agrees_with_quadrature() {
        // 10^6 events per arm, a 0.2% lift: the windowed sum against quadrature.
        let a = beta(1.0 + 100_000.0, 1.0 + 900_000.0);
        let b = beta(1.0 + 100_400.0, 1.0 + 899_600.0);
        let exact = prob_greater(&a, &b);
        close(exact, prob_greater_quadrature(&a, &b), 1e-9);
        assert!(exact > 0.5 && exact < 1.0);
        // One side with few parameters, the other huge.
        let a = beta(3.0, 10.0);
        let b = beta(250_001.0, 750_001.0);
        close(prob_greater(&a, &b), prob_greater_quadrature(&a, &b), 1e-10);
        // Half the events convert: every parameter ~5·10^5.
        let a = beta(500_001.0, 500_001.0);
        let b = beta(501_001.0, 499_001.0);
        close(prob_greater(&a, &b), prob_greater_quadrature(&a, &b), 1e-9);
        // Extremes never give NaN.
        for (a, b) in [
            (beta(1.0, 1e6), beta(1e6, 1.0)),
            (beta(1e6, 1.0), beta(1.0, 1e6)),
            (beta(1.0, 1.0), beta(1.0, 1.0)),
        ] {
            let p = prob_greater(&a, &b);
            assert!((0.0..=1.0).contains(&p), "{p}");
        }
    }

    // Expected loss for Beta(22, 180) (control) vs Beta(32, 170) (treatment), by mpmath 1.3.0
    // quadrature of E[max(X_a - X_b, 0)] = ∫ f_a(x)(x·I_x(b) - E[X_b]·I_x(α_b+1, β_b)) dx:
    // choosing the treatment loses 0.0010478680129541039, the control 0.050552818508003609.
    // Expected lift E[X_b]·(α_a+β_a-1)/(α_a-1) - 1 = 32/202 · 201/21 - 1 = 0.51626591230551627.
    #[test]
    fn expected_loss_and_lift_match_quadrature() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        let (choose_a, choose_b) = expected_loss(&a, &b);
        close(choose_b, 0.001_047_868_012_954_104, 1e-14);
        close(choose_a, 0.050_552_818_508_003_61, 1e-14);
        // E[max(B-A,0)] - E[max(A-B,0)] = E[B] - E[A].
        close(choose_a - choose_b, b.mean() - a.mean(), 1e-15);
        close(
            expected_lift(&a, &b).unwrap(),
            0.516_265_912_305_516_3,
            1e-14,
        );
        assert_eq!(expected_lift(&beta(1.0, 5.0), &b), None);
    }

    #[test]
    fn invalid_parameters_are_typed_errors() {
        assert_eq!(BetaDist::new(0.0, 1.0), Err(BayesError::InvalidPrior));
        assert_eq!(BetaDist::new(1.0, f64::NAN), Err(BayesError::InvalidPrior));
        assert_eq!(
            BetaDist::new(f64::INFINITY, 1.0),
            Err(BayesError::InvalidPrior)
        );
        for level in [0.0, 1.0, f64::NAN] {
            assert_eq!(
                beta(1.0, 1.0).credible_interval(level),
                Err(BayesError::LevelOutOfRange)
            );
        }
        assert_eq!(
            DecisionRule::Probability(0.5).validate(),
            Err(BayesError::ProbabilityThresholdOutOfRange)
        );
        assert_eq!(
            DecisionRule::Loss(0.0).validate(),
            Err(BayesError::LossThresholdOutOfRange)
        );
        assert_eq!(
            DecisionRule::Loss(0.001).validate(),
            Ok(DecisionRule::Loss(0.001))
        );
    }

    #[test]
    fn decisions_follow_the_rule() {
        // 21/200 against 31/200: P = 0.93, losses 0.0506 (keep control) and 0.00105 (ship).
        let (p, lc, lt) = (0.930_061_873_292_665_6, 0.050_552_818_5, 0.001_047_868);
        assert_eq!(
            DecisionRule::default().decide(p, lc, lt),
            Decision::Inconclusive
        );
        assert_eq!(
            DecisionRule::Probability(0.9).decide(p, lc, lt),
            Decision::Treatment
        );
        assert_eq!(
            DecisionRule::Probability(0.9).decide(1.0 - p, lt, lc),
            Decision::Control
        );
        assert_eq!(
            DecisionRule::Loss(0.002).decide(p, lc, lt),
            Decision::Treatment
        );
        assert_eq!(
            DecisionRule::Loss(0.0001).decide(p, lc, lt),
            Decision::Inconclusive
        );
        assert_eq!(
            DecisionRule::Loss(0.002).decide(1.0 - p, lt, lc),
            Decision::Control
        );
        // Both below the threshold: the smaller loss; a tie goes to the treatment.
        assert_eq!(
            DecisionRule::Loss(0.1).decide(p, lc, lt),
            Decision::Treatment
        );
        assert_eq!(
            DecisionRule::Loss(0.1).decide(0.5, 0.01, 0.02),
            Decision::Control
        );
        assert_eq!(
            DecisionRule::Loss(0.1).decide(0.5, 0.01, 0.01),
            Decision::Treatment
        );
    }

    #[test]
    fn exact_analysis_of_the_reference_counts() {
        let c = Variant::from_counts(21, 200).unwrap();
        let t = Variant::from_counts(31, 200).unwrap();
        let r = exact(&c, &t, BetaDist::default(), 0.95).unwrap();
        assert_eq!(r.control, beta(22.0, 180.0));
        assert_eq!(r.treatment, beta(32.0, 170.0));
        same(r.prob_treatment_better, 0.9300618732926655);
        same(r.control_ci.0, 0.06987704450519412);
        same(r.treatment_ci.1, 0.21171591603956308);
        same(r.loss_control, 0.05055281850800371);
        same(r.loss_treatment, 0.0010478680129542214);
        same(r.expected_lift.unwrap(), 0.5162659123055162);
        assert_eq!(
            exact(
                &c,
                &t,
                BetaDist {
                    alpha: 0.0,
                    beta: 1.0
                },
                0.95
            ),
            Err(BayesError::InvalidPrior)
        );
        assert_eq!(
            exact(&c, &t, BetaDist::default(), 1.0),
            Err(BayesError::LevelOutOfRange)
        );
    }

    // Degenerate counts: an arm without events keeps the prior; no conversions at all gives
    // an unbounded lift (E[1/X] is infinite for α ≤ 1) and finite probabilities, never NaN.
    #[test]
    fn exact_analysis_of_degenerate_counts() {
        let empty = Variant::new();
        let none = Variant::from_counts(0, 50).unwrap();
        let some = Variant::from_counts(3, 50).unwrap();
        let r = exact(&empty, &some, BetaDist::default(), 0.95).unwrap();
        assert_eq!(r.control, BetaDist::default());
        same(r.control_ci.0, 0.025000000000000022);
        same(r.control_ci.1, 0.975);
        assert_eq!(r.expected_lift, None);
        let r = exact(&none, &some, BetaDist::default(), 0.95).unwrap();
        assert_eq!(r.control, beta(1.0, 51.0));
        same(r.prob_treatment_better, 0.9411941194119411);
        same(r.loss_treatment, 0.0010869645590399222);
        assert_eq!(r.expected_lift, None);
        let r = exact(&empty, &empty, BetaDist::default(), 0.95).unwrap();
        same(r.prob_treatment_better, 0.5);
        same(r.loss_control, 0.16666666666666663);
        assert_eq!(r.loss_control, r.loss_treatment);
    }
}
