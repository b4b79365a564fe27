//! Bayesian A/B analysis of two conversion rates (Beta–Binomial), the seed notebook's
//! `BayesianABTest` with the statistics computed exactly where a closed form exists.
//!
//! With a `Beta(α₀, β₀)` prior (default `Beta(1, 1)`), an arm with `c` conversions of `n` has the
//! posterior `Beta(α₀ + c, β₀ + n - c)`. From the two posteriors:
//!
//! - [`prob_greater`]: `P(p_treatment > p_control)` **exactly**, by Evan Miller's closed-form
//!   sum when one posterior parameter is an integer (always, for integer priors), otherwise by
//!   tanh-sinh quadrature; the sum runs from its largest term outwards and stops when the
//!   remainder is provably below 1e-17 of the total, so counts up to 10^6 and beyond take
//!   microseconds (see `benches/ab.rs`);
//! - credible intervals from Beta quantiles ([`mlprobe_core::special::beta_ppf`]);
//! - the expected relative lift `E[p_t/p_c] - 1` in closed form, with its interval from the
//!   Monte-Carlo draws;
//! - the expected loss of choosing each arm in closed form (Chris Stucchio, "Bayesian A/B
//!   testing at VWO", 2015, appendix);
//! - the seed's Monte-Carlo estimates with `statrs`' Beta sampler and a seeded ChaCha RNG, so
//!   a run is reproducible;
//! - a decision rule on the probability or on the expected loss.
//!
//! `statrs` is used only for sampling (and, in tests, as an independent check of the
//! quantiles); every exact number comes from `mlprobe_core::special`, which the device shares.

use mlprobe_core::abtest::Variant;
use mlprobe_core::special::{beta_inc, beta_inc_complement, beta_pdf, beta_ppf, ln_beta};
use rand::SeedableRng;
use rand::distr::Distribution;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Errors of the Bayesian analysis.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BayesError {
    /// The prior's parameters must be positive and finite.
    #[error("the prior's parameters must be positive and finite")]
    InvalidPrior,
    /// The credible level must be strictly between 0 and 1.
    #[error("the credible level must be strictly between 0 and 1")]
    LevelOutOfRange,
    /// The probability threshold must be strictly between 0.5 and 1.
    #[error("the probability threshold must be strictly between 0.5 and 1")]
    ProbabilityThresholdOutOfRange,
    /// The loss threshold must be positive and finite.
    #[error("the loss threshold must be positive and finite")]
    LossThresholdOutOfRange,
    /// At least one Monte-Carlo sample is needed.
    #[error("at least one Monte-Carlo sample is needed")]
    ZeroSamples,
}

/// A Beta distribution `Beta(alpha, beta)`: a prior or a posterior of a conversion rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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
        if !(level > 0.0 && level < 1.0) {
            return Err(BayesError::LevelOutOfRange);
        }
        let tail = 0.5 * (1.0 - level);
        Ok((
            beta_ppf(self.alpha, self.beta, tail),
            beta_ppf(self.alpha, self.beta, 1.0 - tail),
        ))
    }

    fn shifted(&self) -> Self {
        Self {
            alpha: self.alpha + 1.0,
            beta: self.beta,
        }
    }
}

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
/// use mlprobe::bayes::{prob_greater, BetaDist};
/// let a = BetaDist::new(22.0, 180.0).unwrap();
/// let b = BetaDist::new(32.0, 170.0).unwrap();
/// assert!((prob_greater(&a, &b) - 0.9300618733).abs() < 1e-10);
/// ```
pub fn prob_greater(a: &BetaDist, b: &BetaDist) -> f64 {
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
        Some((_, false, [aa, ba, ab, bb])) => miller_sum(aa, ba, ab, bb),
        Some((_, true, [aa, ba, ab, bb])) => 1.0 - miller_sum(aa, ba, ab, bb),
        None => prob_greater_quadrature(a, b),
    };
    p.clamp(0.0, 1.0)
}

/// Whether `x` is a positive integer the closed form can sum over.
fn is_summable(x: f64) -> bool {
    x >= 1.0 && x.fract() == 0.0 && x < 1e15
}

/// `P(X_b > X_a)` by Evan Miller's sum over `i < αb` (an integer).
fn miller_sum(aa: f64, ba: f64, ab: f64, bb: f64) -> f64 {
    let m = ab; // number of terms, i = 0..m-1
    let ln_term =
        |i: f64| ln_beta(aa + i, ba + bb) - (bb + i).ln() - ln_beta(1.0 + i, bb) - ln_beta(aa, ba);
    let ratio = |i: f64| (aa + i) * (bb + i) / ((aa + ba + bb + i) * (i + 1.0));
    // Terms grow while ratio(i) > 1 ⇔ i < (aa·bb - (aa + ba + bb)) / (ba + 1).
    let turn = (aa * bb - (aa + ba + bb)) / (ba + 1.0);
    let mode = if turn > 0.0 {
        turn.ceil().min(m - 1.0)
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
    (scale + sum.ln()).exp()
}

/// `P(X_b > X_a)` by tanh-sinh (double-exponential) quadrature over the narrower of the two
/// distributions: `∫ f_a(x)·(1 - I_x(b)) dx` or `∫ f_b(y)·I_y(a) dy` (Takahasi & Mori 1974;
/// levels are refined until two agree to 1e-12). Slower than the closed form (milliseconds
/// for counts of 10^6): used only when no parameter is an integer.
pub fn prob_greater_quadrature(a: &BetaDist, b: &BetaDist) -> f64 {
    let var = |d: &BetaDist| {
        let s = d.alpha + d.beta;
        d.alpha * d.beta / (s * s * (s + 1.0))
    };
    let (narrow, integrand): (&BetaDist, Box<dyn Fn(f64) -> f64>) = if var(a) <= var(b) {
        (
            a,
            Box::new(|x| beta_pdf(a.alpha, a.beta, x) * beta_inc_complement(b.alpha, b.beta, x)),
        )
    } else {
        (
            b,
            Box::new(|y| beta_pdf(b.alpha, b.beta, y) * beta_inc(a.alpha, a.beta, y)),
        )
    };
    // The narrow density's mass lies within 40 standard deviations of its mean (or it touches
    // an end, where tanh-sinh handles the endpoint singularity of α < 1 or β < 1).
    let (m, sd) = (narrow.mean(), var(narrow).sqrt());
    let lo = (m - 40.0 * sd).max(0.0);
    let hi = (m + 40.0 * sd).min(1.0);
    tanh_sinh(&*integrand, lo, hi).clamp(0.0, 1.0)
}

/// `∫_lo^hi f` by tanh-sinh quadrature, halving the step until two levels agree.
fn tanh_sinh(f: &dyn Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    use std::f64::consts::FRAC_PI_2;
    let half = 0.5 * (hi - lo);
    // Node at t: x = tanh(π/2·sinh t), weight π/2·cosh t / cosh²(π/2·sinh t). Nodes are taken
    // as distances from the nearer end so that points next to an end do not round onto it.
    let eval = |t: f64| -> f64 {
        let u = FRAC_PI_2 * t.sinh();
        let w = FRAC_PI_2 * t.cosh() / (u.cosh() * u.cosh());
        // 1 - tanh(|u|) = 2 / (1 + e^{2|u|}), without cancellation.
        let gap = 2.0 / (1.0 + (2.0 * u.abs()).exp());
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
pub fn expected_loss(a: &BetaDist, b: &BetaDist) -> (f64, f64) {
    let choose_b =
        a.mean() * prob_greater(b, &a.shifted()) - b.mean() * prob_greater(&b.shifted(), a);
    let choose_a =
        b.mean() * prob_greater(a, &b.shifted()) - a.mean() * prob_greater(&a.shifted(), b);
    (choose_a.max(0.0), choose_b.max(0.0))
}

/// The expected relative lift `E[X_b / X_a] - 1 = E[X_b]·(α_a + β_a - 1)/(α_a - 1) - 1`
/// (independence and `E[1/X] = (α+β-1)/(α-1)` for a Beta); `None` when `α_a ≤ 1`, where
/// `E[1/X_a]` is infinite.
pub fn expected_lift(a: &BetaDist, b: &BetaDist) -> Option<f64> {
    (a.alpha > 1.0).then(|| b.mean() * (a.alpha + a.beta - 1.0) / (a.alpha - 1.0) - 1.0)
}

/// Monte-Carlo estimates from paired draws of the two posteriors (the seed's method).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MonteCarlo {
    /// Draws.
    pub samples: u64,
    /// Fraction of draws with `X_b > X_a`.
    pub prob_greater: f64,
    /// Mean of `(X_b - X_a) / X_a`.
    pub lift_mean: f64,
    /// Equal-tailed interval of `(X_b - X_a) / X_a` at the level asked.
    pub lift_ci: (f64, f64),
}

/// Draws `samples` pairs from `a` and `b` with `statrs`' Beta sampler and a ChaCha8 RNG seeded
/// with `seed`; the lift interval is at `level`.
pub fn monte_carlo(
    a: &BetaDist,
    b: &BetaDist,
    samples: u64,
    seed: u64,
    level: f64,
) -> Result<MonteCarlo, BayesError> {
    if samples == 0 {
        return Err(BayesError::ZeroSamples);
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(BayesError::LevelOutOfRange);
    }
    let da =
        statrs::distribution::Beta::new(a.alpha, a.beta).map_err(|_| BayesError::InvalidPrior)?;
    let db =
        statrs::distribution::Beta::new(b.alpha, b.beta).map_err(|_| BayesError::InvalidPrior)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut wins = 0u64;
    let mut lifts = Vec::with_capacity(usize::try_from(samples).unwrap_or(0));
    let mut lift_sum = 0.0;
    for _ in 0..samples {
        let xa: f64 = da.sample(&mut rng);
        let xb: f64 = db.sample(&mut rng);
        wins += u64::from(xb > xa);
        // A draw of exactly 0 (possible only for tiny α) has no finite lift: skip it.
        if xa > 0.0 {
            let lift = (xb - xa) / xa;
            lift_sum += lift;
            lifts.push(lift);
        }
    }
    let (lift_mean, lift_ci) = if lifts.is_empty() {
        (0.0, (0.0, 0.0))
    } else {
        let tail = 0.5 * (1.0 - level);
        let lo = quantile(&mut lifts, tail);
        let hi = quantile(&mut lifts, 1.0 - tail);
        (lift_sum / lifts.len() as f64, (lo, hi))
    };
    Ok(MonteCarlo {
        samples,
        prob_greater: wins as f64 / samples as f64,
        lift_mean,
        lift_ci,
    })
}

/// The `q` quantile with linear interpolation between order statistics (numpy's default,
/// as the seed's `np.percentile`), in O(n) by selection.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    let n = values.len();
    let pos = q * (n - 1) as f64;
    let k = (pos.floor() as usize).min(n - 1);
    let frac = pos - k as f64;
    let (_, &mut lo, rest) = values.select_nth_unstable_by(k, f64::total_cmp);
    if frac == 0.0 || rest.is_empty() {
        return lo;
    }
    let hi = rest.iter().copied().fold(f64::INFINITY, f64::min);
    lo + frac * (hi - lo)
}

/// When to call a winner.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
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
    fn validate(self) -> Result<Self, BayesError> {
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
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Ship the treatment.
    Treatment,
    /// Keep the control.
    Control,
    /// No clear winner yet.
    Inconclusive,
}

/// Options of [`analyze`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// The prior of both arms (default `Beta(1, 1)`).
    pub prior: BetaDist,
    /// Credible level of the intervals (default 0.95).
    pub level: f64,
    /// Monte-Carlo draws (default 100 000).
    pub samples: u64,
    /// Seed of the Monte-Carlo RNG.
    pub seed: u64,
    /// The decision rule.
    pub rule: DecisionRule,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            prior: BetaDist::default(),
            level: 0.95,
            samples: 100_000,
            seed: 0,
            rule: DecisionRule::default(),
        }
    }
}

/// One arm's posterior summary.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ArmSummary {
    /// Posterior mean.
    pub mean: f64,
    /// Equal-tailed credible interval.
    pub ci: (f64, f64),
    /// The posterior.
    pub posterior: BetaDist,
}

/// The full analysis (the fields of `mlprobe ab bayes --json`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// `P(p_treatment > p_control)`, exact.
    pub prob_treatment_better: f64,
    /// The same by Monte-Carlo.
    pub prob_treatment_better_mc: f64,
    /// Control's posterior.
    pub control: ArmSummary,
    /// Treatment's posterior.
    pub treatment: ArmSummary,
    /// `E[p_t/p_c] - 1`, exact; `None` (JSON `null`) when infinite (control's `α ≤ 1`).
    pub expected_lift: Option<f64>,
    /// Monte-Carlo interval of the relative lift.
    pub lift_ci: (f64, f64),
    /// Monte-Carlo mean of the relative lift.
    pub expected_lift_mc: f64,
    /// Expected loss of choosing each arm.
    pub expected_loss: Losses,
    /// The decision under `rule`.
    pub decision: Decision,
    /// The rule applied.
    pub rule: DecisionRule,
    /// Credible level of the intervals.
    pub level: f64,
    /// The prior.
    pub prior: BetaDist,
    /// Monte-Carlo draws and seed.
    pub samples: u64,
    /// Seed of the Monte-Carlo draws.
    pub seed: u64,
}

/// Expected loss of choosing each arm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Losses {
    /// `E[max(p_t - p_c, 0)]`.
    pub control: f64,
    /// `E[max(p_c - p_t, 0)]`.
    pub treatment: f64,
}

/// Analyses `control` against `treatment`.
pub fn analyze(
    control: &Variant,
    treatment: &Variant,
    options: &Options,
) -> Result<Analysis, BayesError> {
    let prior = BetaDist::new(options.prior.alpha, options.prior.beta)?;
    let rule = options.rule.validate()?;
    let pc = prior.posterior(control);
    let pt = prior.posterior(treatment);
    let prob = prob_greater(&pc, &pt);
    let mc = monte_carlo(&pc, &pt, options.samples, options.seed, options.level)?;
    let (loss_c, loss_t) = expected_loss(&pc, &pt);
    let decision = match rule {
        DecisionRule::Probability(t) if prob >= t => Decision::Treatment,
        DecisionRule::Probability(t) if prob <= 1.0 - t => Decision::Control,
        DecisionRule::Probability(_) => Decision::Inconclusive,
        DecisionRule::Loss(eps) => match (loss_c < eps, loss_t < eps) {
            (true, true) if loss_t <= loss_c => Decision::Treatment,
            (true, _) => Decision::Control,
            (false, true) => Decision::Treatment,
            (false, false) => Decision::Inconclusive,
        },
    };
    Ok(Analysis {
        prob_treatment_better: prob,
        prob_treatment_better_mc: mc.prob_greater,
        control: ArmSummary {
            mean: pc.mean(),
            ci: pc.credible_interval(options.level)?,
            posterior: pc,
        },
        treatment: ArmSummary {
            mean: pt.mean(),
            ci: pt.credible_interval(options.level)?,
            posterior: pt,
        },
        expected_lift: expected_lift(&pc, &pt),
        lift_ci: mc.lift_ci,
        expected_lift_mc: mc.lift_mean,
        expected_loss: Losses {
            control: loss_c,
            treatment: loss_t,
        },
        decision,
        rule,
        level: options.level,
        prior,
        samples: options.samples,
        seed: options.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::distribution::ContinuousCDF;

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

    // Issue 5's reference: Evan Miller's closed form gives P(B > A) = 0.9300618733 for 21/200 (A)
    // against 31/200 (B) under Beta(1, 1), i.e. Beta(22, 180) against Beta(32, 170)
    // (https://www.evanmiller.org/bayesian-ab-testing.html); mpmath 1.3.0 quadrature at 30
    // digits: 0.93006187329266558.
    #[test]
    fn prob_greater_matches_evan_miller() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        close(prob_greater(&a, &b), 0.930_061_873_292_665_6, 1e-13);
        close(prob_greater(&b, &a), 1.0 - 0.930_061_873_292_665_6, 1e-13);
        close(
            prob_greater_quadrature(&a, &b),
            0.930_061_873_292_665_6,
            1e-11,
        );
        close(
            prob_greater_quadrature(&b, &a),
            1.0 - 0.930_061_873_292_665_6,
            1e-11,
        );
        // Every mirror-image form agrees (each is chosen for some parameter set).
        close(
            miller_sum(22.0, 180.0, 32.0, 170.0),
            0.930_061_873_292_665_6,
            1e-13,
        );
        close(
            1.0 - miller_sum(32.0, 170.0, 22.0, 180.0),
            0.930_061_873_292_665_6,
            1e-13,
        );
        close(
            miller_sum(170.0, 32.0, 180.0, 22.0),
            0.930_061_873_292_665_6,
            1e-13,
        );
        close(
            1.0 - miller_sum(180.0, 22.0, 170.0, 32.0),
            0.930_061_873_292_665_6,
            1e-13,
        );
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
    fn credible_intervals_agree_with_statrs() {
        for (a, b) in [
            (22.0, 180.0),
            (1.0, 1.0),
            (0.5, 0.5),
            (100_001.0, 900_001.0),
        ] {
            let d = beta(a, b);
            let (lo, hi) = d.credible_interval(0.95).unwrap();
            let s = statrs::distribution::Beta::new(a, b).unwrap();
            close(lo, s.inverse_cdf(0.025), 1e-9 * lo.max(1e-3));
            close(hi, s.inverse_cdf(0.975), 1e-9 * hi);
            close(s.cdf(lo), 0.025, 1e-10);
        }
        assert_eq!(
            beta(1.0, 1.0).credible_interval(1.0),
            Err(BayesError::LevelOutOfRange)
        );
    }

    #[test]
    fn monte_carlo_is_seeded_and_close_to_exact() {
        let (a, b) = (beta(22.0, 180.0), beta(32.0, 170.0));
        let mc = monte_carlo(&a, &b, 200_000, 7, 0.95).unwrap();
        assert_eq!(mc, monte_carlo(&a, &b, 200_000, 7, 0.95).unwrap());
        // Binomial standard error at 2·10^5 draws: √(0.93·0.07/2e5) ≈ 5.7e-4; 5 SE.
        close(mc.prob_greater, 0.930_061_873_292_665_6, 3e-3);
        close(mc.lift_mean, expected_lift(&a, &b).unwrap(), 0.01);
        assert!(mc.lift_ci.0 < mc.lift_mean && mc.lift_mean < mc.lift_ci.1);
        assert_eq!(
            monte_carlo(&a, &b, 0, 7, 0.95),
            Err(BayesError::ZeroSamples)
        );
    }

    #[test]
    fn quantile_interpolates_like_numpy() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        // numpy.percentile([1, 2, 3, 4], 25) = 1.75
        close(quantile(&mut v, 0.25), 1.75, 1e-15);
        close(quantile(&mut v, 1.0), 4.0, 0.0);
    }

    #[test]
    fn decisions_follow_the_rule() {
        let c = Variant::from_counts(21, 200).unwrap();
        let t = Variant::from_counts(31, 200).unwrap();
        let mut o = Options {
            samples: 1000,
            ..Options::default()
        };
        assert_eq!(
            analyze(&c, &t, &o).unwrap().decision,
            Decision::Inconclusive
        );
        o.rule = DecisionRule::Probability(0.9);
        assert_eq!(analyze(&c, &t, &o).unwrap().decision, Decision::Treatment);
        assert_eq!(analyze(&t, &c, &o).unwrap().decision, Decision::Control);
        o.rule = DecisionRule::Loss(0.002);
        assert_eq!(analyze(&c, &t, &o).unwrap().decision, Decision::Treatment);
        o.rule = DecisionRule::Loss(0.0001);
        assert_eq!(
            analyze(&c, &t, &o).unwrap().decision,
            Decision::Inconclusive
        );
        o.rule = DecisionRule::Probability(0.4);
        assert_eq!(
            analyze(&c, &t, &o),
            Err(BayesError::ProbabilityThresholdOutOfRange)
        );
        o.rule = DecisionRule::default();
        o.prior = BetaDist {
            alpha: 0.0,
            beta: 1.0,
        };
        assert_eq!(analyze(&c, &t, &o), Err(BayesError::InvalidPrior));
    }
}
