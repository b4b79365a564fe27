//! Bayesian A/B analysis of two conversion rates (Beta–Binomial), the seed notebook's
//! `BayesianABTest` with every statistic computed exactly where a closed form exists.
//!
//! With a `Beta(α₀, β₀)` prior (default `Beta(1, 1)`), an arm with `c` conversions of `n` has the
//! posterior `Beta(α₀ + c, β₀ + n - c)` ([`BetaDist::posterior`]). From the two posteriors:
//!
//! - [`prob_greater`]: `P(p_treatment > p_control)`, the smaller side integrated directly (so
//!   a tiny probability is never `1 - (sum ≈ 1)`), to about 1e-12 relative for every prior
//!   above 0 and every count up to 10^9;
//! - credible intervals from Beta quantiles ([`BetaDist::credible_interval`], on
//!   [`crate::special::beta_ppf`]);
//! - the expected relative lift `E[p_t/p_c] - 1` in closed form ([`expected_lift`]);
//! - the expected loss of choosing each arm ([`expected_loss`]): the smaller as the integral of
//!   a positive integrand, `∫ F_chosen·S_other`, the larger as the smaller plus the difference
//!   in means, never a difference of near-equal terms;
//! - a decision rule on the probability or on the expected loss ([`DecisionRule`]).
//!
//! [`exact`] computes all of them from two [`Variant`]s. The Monte-Carlo estimates of the seed
//! (random draws, a growable sample for the lift interval) stay on the host.
//!
//! When not to use it: for a frequentist reading of the same counters (p-values, sample sizes,
//! sequential looks) see [`crate::abtest`] and [`crate::sequential`].
//!
//! ## How, and how well
//! Every integral is over the log-odds `z = ln(x / (1 - x))`, where each integrand is
//! log-concave (see [`crate::quad`]): no mass is lost near 0 or 1 however far a prior below 1
//! pushes it (a `Beta(0.05, 100)` keeps 1e-15 of its mass below 1e-300), and each integral's
//! logarithm survives when the value is below the smallest `f64`. The tails come from
//! [`ln_beta_tails`] in logarithms. A randomized differential test against scipy and mpmath
//! (`tests/tests/reference.rs`, priors 0.05–20, counts up to 10^6) holds every number to
//! 1e-9 relative; the largest difference seen is about 6e-11, the references' own error.
//! Cost: 0.3–1.2 ms for `P` and 1–25 ms for [`exact`] (host, counts to 10^6), seconds at 10^9
//! (`cargo bench -p mlprobe --bench ab`).
//!
//! Everything runs on `libm`, so the host and a device compute the same numbers, bit for bit.

use crate::abtest::Variant;
use crate::quad::{Integral, integrate_log_concave};
use crate::special::{UnitPoint, beta_ppf, ln_beta_prefactor, ln_beta_tails};
use core::fmt;

/// The largest shape parameter of a prior or a posterior that the exact analysis takes.
///
/// Up to it, the continued fraction of the Beta tails ([`crate::special::ln_beta_tails`])
/// converges within its iteration cap, and the results agree with the normal limit to about
/// 1e-11 (test `largest_parameters_match_the_normal_limit`); beyond it, every tail takes the
/// cap's 10⁵ iterations (a minute per analysis at 1e12) and returns unconverged values.
/// Conversion counts that large are not A/B tests; priors that strong are point masses.
pub const MAX_SHAPE: f64 = 1e10;

/// Errors of the Bayesian analysis. Each variant's doc line is its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BayesError {
    /// the prior's parameters must be positive and at most 1e10 (`MAX_SHAPE`)
    InvalidPrior,
    /// a posterior's parameter (prior plus counts) is above 1e10 (`MAX_SHAPE`)
    PosteriorTooLarge,
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
            Self::InvalidPrior => "the prior's parameters must be positive and at most 1e10",
            Self::PosteriorTooLarge => {
                "a posterior's parameter (prior plus counts) is above 1e10, beyond the exact tails' range"
            }
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
    /// `Beta(alpha, beta)`; both must be positive and at most [`MAX_SHAPE`].
    pub fn new(alpha: f64, beta: f64) -> Result<Self, BayesError> {
        let valid = |x: f64| x > 0.0 && x <= MAX_SHAPE;
        if valid(alpha) && valid(beta) {
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

    /// Whether both parameters are within [`MAX_SHAPE`], the range of the exact analysis.
    pub fn within_range(&self) -> bool {
        self.alpha <= MAX_SHAPE && self.beta <= MAX_SHAPE
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
}

/// A credible level strictly inside (0, 1).
pub fn check_level(level: f64) -> Result<(), BayesError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(BayesError::LevelOutOfRange)
    }
}

/// The log-odds scale of `d`: where its log-odds density sits (`ln(α/β)`, the log-odds of the
/// mean) and a guess of its width (the log-odds' standard deviation is about
/// `√(ψ′(α) + ψ′(β))`, with the trigamma `ψ′(s) ≈ 1/s + 1/s²`).
fn logit_centre_width(d: &BetaDist) -> (f64, f64) {
    let t = |s: f64| 1.0 / s + 1.0 / (s * s);
    (
        libm::log(d.alpha) - libm::log(d.beta),
        libm::sqrt(t(d.alpha) + t(d.beta)),
    )
}

/// `∫ f_a(x)·P(X_b > x) dx = P(X_b > X_a)`, over the log-odds `z` of `x` (where `f_a(x) dx` is
/// the log-concave density `e^{ln_beta_prefactor}` and the survival function of `X_b` is
/// log-concave too).
fn ln_prob_greater_integral(a: &BetaDist, b: &BetaDist) -> Integral {
    let (centre, width) = logit_centre_width(a);
    integrate_log_concave(
        |z| {
            let p = UnitPoint::from_logit(z);
            ln_beta_prefactor(a.alpha, a.beta, &p) + ln_beta_tails(b.alpha, b.beta, &p).1
        },
        centre,
        width,
    )
}

/// `P(X_b > X_a)` for independent `X_a ~ a`, `X_b ~ b`, to about 1e-12 relative however small
/// it is, for every positive parameter.
///
/// `P(X_b > X_a) = ∫ f_a(x)·S_b(x) dx` or `P(X_a > X_b) = ∫ f_b(x)·S_a(x) dx`, whichever the
/// means say is the smaller, is integrated directly (a log-concave integral over the log-odds
/// of `x`: see [`crate::quad`]) and the other is its complement; if the direct one comes out
/// above ½ (skewed posteriors), both are integrated and the result is `P / (P + Q)`. So a tiny
/// probability is never `1 - (sum ≈ 1)`, and identical posteriors give exactly ½. The log-odds
/// also reach the mass that a prior below 1 puts at `x < 1e-308`.
///
/// ```
/// use mlprobe_core::bayes::{prob_greater, BetaDist};
/// // Evan Miller's closed form for Beta(22, 180) against Beta(32, 170): 0.9300618733.
/// let a = BetaDist::new(22.0, 180.0).unwrap();
/// let b = BetaDist::new(32.0, 170.0).unwrap();
/// assert!((prob_greater(&a, &b) - 0.9300618733).abs() < 1e-10);
/// ```
pub fn prob_greater(a: &BetaDist, b: &BetaDist) -> f64 {
    if a == b {
        return 0.5;
    }
    // Integrate the side that should be the smaller (X_b > X_a is unlikely when b's mean is
    // lower); the other is its complement, with no cancellation while the direct one is ≤ ½.
    let b_lower = mean_difference(b, a) <= 0.0;
    let (first, second) = if b_lower { (a, b) } else { (b, a) };
    let direct = ln_prob_greater_integral(first, second).ln();
    let p_direct = if direct <= -core::f64::consts::LN_2 {
        libm::exp(direct)
    } else {
        // A wrong guess (skewed posteriors): integrate the other side too and normalise,
        // P / (P + Q) = 1 / (1 + e^{ln Q - ln P}).
        let other = ln_prob_greater_integral(second, first).ln();
        let r = other - direct;
        if r.is_nan() {
            0.5
        } else if r > 0.0 {
            let t = libm::exp(-r);
            t / (1.0 + t)
        } else {
            1.0 / (1.0 + libm::exp(r))
        }
    };
    if b_lower { p_direct } else { 1.0 - p_direct }
}

/// `E[X_b] - E[X_a]`, from the means or from their complements `β/(α+β)`, whichever are
/// smaller (so that two means near 1 keep their difference).
fn mean_difference(b: &BetaDist, a: &BetaDist) -> f64 {
    let (ma, mb) = (a.mean(), b.mean());
    if ma + mb <= 1.0 {
        mb - ma
    } else {
        a.beta / (a.alpha + a.beta) - b.beta / (b.alpha + b.beta)
    }
}

/// `E[max(X_a - X_b, 0)] = ∫₀¹ P(X_b < t < X_a) dt = ∫₀¹ F_b(t)·S_a(t) dt`: a positive
/// integrand, log-concave over the log-odds of `t` (with `dt = t(1-t) dz`).
fn expected_shortfall(a: &BetaDist, b: &BetaDist) -> f64 {
    let (ca, wa) = logit_centre_width(a);
    let (cb, wb) = logit_centre_width(b);
    integrate_log_concave(
        |z| {
            let p = UnitPoint::from_logit(z);
            ln_beta_tails(b.alpha, b.beta, &p).0
                + ln_beta_tails(a.alpha, a.beta, &p).1
                + p.ln_x
                + p.ln_y
        },
        0.5 * (ca + cb),
        wa.max(wb),
    )
    .value()
}

/// The expected loss of choosing each arm: `E[max(X_other - X_chosen, 0)]`. Returns
/// `(choose a, choose b)`.
///
/// The smaller (choosing the arm with the higher mean) is the integral
/// `∫₀¹ F_chosen(t)·S_other(t) dt` of a positive, log-concave integrand (see [`crate::quad`]),
/// accurate to about 1e-12 relative however small; the larger is the smaller plus the
/// difference in means, `E[loss a] - E[loss b] = E[X_b] - E[X_a]`. (Chris Stucchio's
/// closed form `E[X_a]·P(X_a⁺ > X_b) - E[X_b]·P(X_a > X_b⁺)` is the same number but a
/// difference of two near-equal terms when the arms are close, which loses up to 1e-6 relative
/// at 10^6 counts.)
///
/// ```
/// use mlprobe_core::bayes::{expected_loss, BetaDist};
/// let (a, b) = (BetaDist::new(22.0, 180.0).unwrap(), BetaDist::new(32.0, 170.0).unwrap());
/// let (choose_a, choose_b) = expected_loss(&a, &b);
/// assert!((choose_b - 0.0010478680129541).abs() < 1e-12 && choose_a > choose_b);
/// ```
pub fn expected_loss(a: &BetaDist, b: &BetaDist) -> (f64, f64) {
    // The smaller loss is choosing the arm with the higher mean; the larger is the smaller plus
    // the difference in means (both positive: no cancellation).
    let diff = mean_difference(b, a);
    if diff >= 0.0 {
        let choose_b = expected_shortfall(a, b);
        (choose_b + diff, choose_b)
    } else {
        let choose_a = expected_shortfall(b, a);
        (choose_a, choose_a - diff)
    }
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
    if !pc.within_range() || !pt.within_range() {
        return Err(BayesError::PosteriorTooLarge);
    }
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
    /// `got` within `rel` of `want`, relatively.
    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got:e}, want {want:e}, relative difference {:e}",
            ((got - want) / want).abs()
        );
    }

    // Issue 5's reference: Evan Miller's closed form gives P(B > A) = 0.9300618733 for 21/200 (A)
    // against 31/200 (B) under Beta(1, 1), i.e. Beta(22, 180) against Beta(32, 170)
    // (https://www.evanmiller.org/bayesian-ab-testing.html); mpmath 1.3.0 quadrature at 30
    // digits: 0.93006187329266558.
    #[test]
    fn prob_greater_matches_evan_miller() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        let want = 0.930_061_873_292_665_6;
        close(prob_greater(&a, &b), want, 1e-14);
        close(prob_greater(&b, &a), 1.0 - want, 1e-14);
    }

    // Jeffreys prior Beta(½, ½): Beta(21.5, 179.5) against Beta(31.5, 169.5) gives
    // 0.93174550590035271 (mpmath 1.3.0 `quad` at 30 digits).
    #[test]
    fn prob_greater_with_a_non_integer_prior() {
        close(
            prob_greater(&beta(21.5, 179.5), &beta(31.5, 169.5)),
            0.931_745_505_900_352_7,
            1e-14,
        );
        // Symmetry: identical posteriors are a coin toss, exactly.
        for (a, b) in [
            (0.5, 0.5),
            (3.0, 7.0),
            (0.05, 100.05),
            (100.1, 0.1),
            (1e-3, 1e-3),
        ] {
            assert_eq!(prob_greater(&beta(a, b), &beta(a, b)), 0.5);
        }
    }

    // Issue 14's reproducers, with the reference of each.
    #[test]
    fn priors_below_one_keep_the_mass_at_the_ends() {
        // 0/100 against 1/100 under Beta(0.05, 0.05): 0.9684263012888598, expected losses
        // 0.010139962660094596 (keeping the control) and 1.4995267008459484e-4 (shipping):
        // scipy 1.17 `quad` over the log-odds, by tests/reference/bayes.py's `scipy_case`.
        let (c, t) = (beta(0.05, 100.05), beta(1.05, 99.05));
        close(prob_greater(&c, &t), 0.968_426_301_288_859_8, 1e-12);
        let (keep, ship) = expected_loss(&c, &t);
        close(keep, 0.010_139_962_660_094_596, 1e-12);
        close(ship, 1.499_526_700_845_948_4e-4, 1e-12);
        // 100/100 twice under Beta(0.1, 0.1): each loss 8.809475903224417e-4 (scipy, as above);
        // the quadrature used to return 0 for both.
        let (keep, ship) = expected_loss(&beta(100.1, 0.1), &beta(100.1, 0.1));
        assert_eq!(keep, ship);
        close(keep, 8.809_475_903_224_417e-4, 1e-12);
        // 0/100 twice under Beta(0.05, 0.05): 4.6772342409905505e-4 each (scipy, as above).
        let (keep, _) = expected_loss(&beta(0.05, 100.05), &beta(0.05, 100.05));
        close(keep, 4.677_234_240_990_550_5e-4, 1e-12);
    }

    // A control with no visitors under the prior Beta(0.1358, 0.0519) against 196959/394760
    // (seed 235246567 of tests/tests/reference.rs): the control's log-odds density rises
    // slowly into the treatment's sharp cliff, and the quadrature lost 2.8e-9 to a panel that
    // hid the cliff's shoulder. 0.27434976257313876 is mpmath's quad at 40 digits of the
    // treatment's density times the control's regularized incomplete beta (`betainc`), over
    // x ± 40 treatment standard deviations; scipy's `quad` (bayes.py) gives 0.27434976257255556.
    #[test]
    fn a_flat_prior_against_a_sharp_posterior() {
        let (p, q) = (0.135_818_449_438_889_93, 0.051_923_231_217_317_053);
        let (c, t) = (beta(p, q), beta(p + 196_959.0, q + 197_801.0));
        close(prob_greater(&c, &t), 0.274_349_762_573_138_76, 1e-12);
        close(prob_greater(&t, &c), 0.725_650_237_426_861_2, 1e-12);
    }

    // Tiny probabilities are integrated directly, never 1 - (sum ≈ 1): Evan Miller's sum in
    // mpmath at 50 digits (tests/reference/bayes.py's `miller_case`).
    #[test]
    fn tiny_probabilities_keep_their_relative_accuracy() {
        // 925034/1000000 against 146/249 under Beta(1, 1).
        let (c, t) = (beta(925_035.0, 74_967.0), beta(147.0, 104.0));
        close(prob_greater(&c, &t), 3.519_390_938_878_521_3e-50, 1e-11);
        close(expected_loss(&c, &t).0, 2.827_325_654_863_828e-53, 1e-11);
        // 10/20 against 100/100000.
        let (c, t) = (beta(11.0, 11.0), beta(101.0, 99_901.0));
        close(prob_greater(&c, &t), 6.589_729_682_148_299e-28, 1e-11);
        close(expected_loss(&c, &t).0, 6.153_957_939_253_279e-32, 1e-11);
        // Far below the smallest f64: 0, not NaN.
        let (c, t) = (beta(1e6, 1.0), beta(1.0, 1e6));
        assert_eq!(prob_greater(&c, &t), 0.0);
        assert_eq!(prob_greater(&t, &c), 1.0);
    }

    // 10^6 events per arm: Evan Miller's sum in mpmath at 40 digits.
    #[test]
    fn large_counts() {
        let a = beta(500_001.0, 500_001.0);
        let b = beta(501_001.0, 499_001.0);
        close(prob_greater(&a, &b), 0.921_350_405_122_824_2, 1e-12);
        let a = beta(100_001.0, 900_001.0);
        let b = beta(100_401.0, 899_601.0);
        close(prob_greater(&a, &b), 0.826_896_035_351_723_4, 1e-12);
        // Identical arms of 507716/802951: each loss 3.035883919695058346919592e-4 (Stucchio's
        // closed form on Miller's sums, mpmath at 50 digits); the closed form in f64 gave
        // 3.03588276e-4.
        // 10^9 events per arm, a 0.01 % lift: 0.77196672426636027698 (Miller's sum in mpmath at
        // 30 digits, 13 s).
        let a = beta(100_000_001.0, 900_000_001.0);
        let b = beta(100_010_001.0, 899_990_001.0);
        close(prob_greater(&a, &b), 0.771_966_724_266_360_3, 1e-11);
        let a = beta(507_717.0, 295_236.0);
        let (keep, ship) = expected_loss(&a, &a);
        close(keep, 3.035_883_919_695_058e-4, 1e-12);
        assert_eq!(keep, ship);
    }

    // Expected loss for Beta(22, 180) (control) vs Beta(32, 170) (treatment), by mpmath 1.3.0
    // quadrature of E[max(X_a - X_b, 0)] = ∫ f_a(x)(x·I_x(b) - E[X_b]·I_x(α_b+1, β_b)) dx:
    // choosing the treatment loses 0.0010478680129541039, the control 0.050552818508003609.
    // Expected lift E[X_b]·(α_a+β_a-1)/(α_a-1) - 1 = 32/202 · 201/21 - 1 = 0.51626591230551627.
    #[test]
    fn expected_loss_and_lift_match_quadrature() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        let (choose_a, choose_b) = expected_loss(&a, &b);
        close(choose_b, 0.001_047_868_012_954_104, 1e-12);
        close(choose_a, 0.050_552_818_508_003_61, 1e-12);
        close(
            expected_lift(&a, &b).unwrap(),
            0.516_265_912_305_516_3,
            1e-14,
        );
        assert_eq!(expected_lift(&beta(1.0, 5.0), &b), None);
    }

    /// At the largest parameters taken, the exact analysis agrees with the normal limit, which
    /// is there accurate to O(1/n) ≈ 1e-10 relative: P = Φ(μ/s), the losses
    /// μΦ(μ/s) + sφ(μ/s) and −μΦ(−μ/s) + sφ(μ/s), μ and s² the exact difference of the Betas'
    /// means and sum of their variances, by mpmath at 40 digits:
    /// a prior of `Beta(1e10 − 200, 1e10 − 200)` after 21/200 (control) and 31/200 (treatment).
    /// Beyond them, analyses are refused (they took a minute and were unconverged).
    #[test]
    fn largest_parameters_match_the_normal_limit() {
        let prior = beta(MAX_SHAPE - 200.0, MAX_SHAPE - 200.0);
        let c = Variant::from_counts(21, 200).unwrap();
        let t = Variant::from_counts(31, 200).unwrap();
        let r = exact(&c, &t, prior, 0.95).unwrap();
        close(r.prob_treatment_better, 0.500_039_894_228_174_1, 1e-11);
        close(r.loss_control, 1.994_961_421_906_91e-6, 1e-10);
        close(r.loss_treatment, 1.994_461_421_901_91e-6, 1e-10);
        assert_eq!(
            exact(&c, &t, beta(MAX_SHAPE, 1.0), 0.95).map(|_| ()),
            Err(BayesError::PosteriorTooLarge)
        );
        assert_eq!(
            BetaDist::new(MAX_SHAPE * 1.000_001, 1.0),
            Err(BayesError::InvalidPrior)
        );
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
        // Evan Miller / mpmath (above); intervals: scipy 1.17 `stats.beta.ppf(0.025, 22, 180)`
        // and `stats.beta.ppf(0.975, 32, 170)`; losses and lift as in
        // `expected_loss_and_lift_match_quadrature`.
        close(r.prob_treatment_better, 0.930_061_873_292_665_6, 1e-14);
        close(r.control_ci.0, 0.069_877_044_505_194_14, 1e-13);
        close(r.treatment_ci.1, 0.211_715_916_039_562_94, 1e-13);
        close(r.loss_control, 0.050_552_818_508_003_61, 1e-12);
        close(r.loss_treatment, 0.001_047_868_012_954_104, 1e-12);
        close(r.expected_lift.unwrap(), 0.516_265_912_305_516_3, 1e-14);
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
        // Beta(1, 1) is uniform: its quantiles are the levels.
        close(r.control_ci.0, 0.025, 1e-14);
        close(r.control_ci.1, 0.975, 1e-14);
        assert_eq!(r.expected_lift, None);
        let r = exact(&none, &some, BetaDist::default(), 0.95).unwrap();
        assert_eq!(r.control, beta(1.0, 51.0));
        // Miller's sum and Stucchio's closed form in mpmath at 50 digits
        // (tests/reference/bayes.py's `miller_case(1, 51, 4, 48)`).
        close(r.prob_treatment_better, 0.941_194_119_411_941_2, 1e-14);
        close(r.loss_treatment, 0.001_086_964_559_039_921_7, 1e-12);
        assert_eq!(r.expected_lift, None);
        let r = exact(&empty, &empty, BetaDist::default(), 0.95).unwrap();
        assert_eq!(r.prob_treatment_better, 0.5);
        // E[max(U₁ - U₂, 0)] for two uniforms is 1/6.
        close(r.loss_control, 1.0 / 6.0, 1e-14);
        assert_eq!(r.loss_control, r.loss_treatment);
    }
}
