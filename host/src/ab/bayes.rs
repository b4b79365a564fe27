//! `mlprobe ab bayes`: Bayesian A/B analysis of two conversion rates (Beta–Binomial), the seed
//! notebook's `BayesianABTest`.
//!
//! Every exact number (posteriors, `P(treatment > control)`, credible intervals, expected lift
//! and loss, the decision) comes from [`mlprobe_core::bayes`], which a device can run too. The
//! host adds the seed's Monte-Carlo estimates ([`monte_carlo`]: `statrs`' Beta sampler and a
//! seeded ChaCha RNG, so a run is reproducible) and the report.

use super::{Arm, unit, usage};
use crate::error::{Error, Result};
use mlprobe_core::abtest::Variant;
use mlprobe_core::bayes::{self, BayesError, BetaDist, Decision, DecisionRule};
use rand::SeedableRng;
use rand::distr::Distribution;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::fmt::Write as _;

/// The most Monte-Carlo draws `--samples` accepts.
pub const MAX_SAMPLES: u64 = 100_000_000;

/// Options of [`analyze()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BayesOptions {
    /// The prior of both arms (`--prior`, default `Beta(1, 1)`).
    pub prior: BetaDist,
    /// Credible level of the intervals (`--level`, default 0.95).
    pub level: f64,
    /// Monte-Carlo draws (`--samples`, default 100 000, at most [`MAX_SAMPLES`]).
    pub samples: u64,
    /// Seed of the Monte-Carlo RNG (`--seed`).
    pub seed: u64,
    /// The decision rule (`--threshold` or `--loss-threshold`).
    pub rule: DecisionRule,
}

impl Default for BayesOptions {
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

impl BayesOptions {
    /// Checks the prior, the draws, the level and the rule's threshold.
    pub fn validate(&self) -> Result<()> {
        BetaDist::new(self.prior.alpha, self.prior.beta).map_err(|e| usage("--prior", e))?;
        if self.samples == 0 {
            return Err(usage(
                "--samples",
                "at least one Monte-Carlo sample is needed",
            ));
        }
        if self.samples > MAX_SAMPLES {
            return Err(usage("--samples", "at most 100000000 draws"));
        }
        unit("--level", self.level)?;
        self.rule.validate().map_err(|_| match self.rule {
            DecisionRule::Loss(eps) => {
                usage("--loss-threshold", format!("must be positive, got {eps}"))
            }
            DecisionRule::Probability(t) => usage(
                "--threshold",
                format!("must be strictly between 0.5 and 1, got {t}"),
            ),
        })?;
        Ok(())
    }
}

/// `A,B`: the parameters of a Beta prior, both positive and at most
/// [`bayes::MAX_SHAPE`]; errors name `flag`.
pub fn parse_prior(flag: &str, text: &str) -> Result<BetaDist> {
    let bad = || {
        usage(
            flag,
            format!("expected A,B with positive numbers up to 1e10 (e.g. 1,1), got '{text}'"),
        )
    };
    let (a, b) = text.split_once(',').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    BetaDist::new(a, b).map_err(|_| bad())
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

/// Expected loss of choosing each arm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Losses {
    /// `E[max(p_t - p_c, 0)]`.
    pub control: f64,
    /// `E[max(p_c - p_t, 0)]`.
    pub treatment: f64,
}

/// The report of `ab bayes` (`--json`; the run pipeline's A/B stage embeds it).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BayesReport {
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
    /// Monte-Carlo draws.
    pub samples: u64,
    /// Seed of the Monte-Carlo draws.
    pub seed: u64,
    /// The control's counts (for the text report; not in the JSON).
    #[serde(skip)]
    pub control_counts: Arm,
    /// The treatment's counts (for the text report; not in the JSON).
    #[serde(skip)]
    pub treatment_counts: Arm,
}

/// Analyses `control` against `treatment`.
pub fn analyze(
    control: &Variant,
    treatment: &Variant,
    options: &BayesOptions,
) -> Result<BayesReport> {
    options.validate()?;
    let o = options;
    let internal = |e: BayesError| Error::Internal(format!("Bayesian analysis: {e}"));
    for (flag, arm) in [("--control", control), ("--treatment", treatment)] {
        let p = o.prior.posterior(arm);
        if !p.within_range() {
            return Err(usage(
                flag,
                format!(
                    "the posterior Beta({}, {}) has a parameter above {:e}, the exact \
                     analysis's range (counts that large are beyond an A/B test's)",
                    p.alpha,
                    p.beta,
                    bayes::MAX_SHAPE
                ),
            ));
        }
    }
    let r = bayes::exact(control, treatment, o.prior, o.level).map_err(internal)?;
    let mc = monte_carlo(&r.control, &r.treatment, o.samples, o.seed, o.level).map_err(internal)?;
    Ok(BayesReport {
        prob_treatment_better: r.prob_treatment_better,
        prob_treatment_better_mc: mc.prob_greater,
        control: ArmSummary {
            mean: r.control.mean(),
            ci: r.control_ci,
            posterior: r.control,
        },
        treatment: ArmSummary {
            mean: r.treatment.mean(),
            ci: r.treatment_ci,
            posterior: r.treatment,
        },
        expected_lift: r.expected_lift,
        lift_ci: mc.lift_ci,
        expected_lift_mc: mc.lift_mean,
        expected_loss: Losses {
            control: r.loss_control,
            treatment: r.loss_treatment,
        },
        decision: o
            .rule
            .decide(r.prob_treatment_better, r.loss_control, r.loss_treatment),
        rule: o.rule,
        level: o.level,
        prior: o.prior,
        samples: o.samples,
        seed: o.seed,
        control_counts: Arm::from(control),
        treatment_counts: Arm::from(treatment),
    })
}

impl BayesReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Bayesian A/B (prior Beta({}, {}), {:.0}% credible intervals)",
            self.prior.alpha,
            self.prior.beta,
            100.0 * self.level
        );
        for (name, arm, v) in [
            ("control", &self.control, &self.control_counts),
            ("treatment", &self.treatment, &self.treatment_counts),
        ] {
            let _ = writeln!(
                s,
                "  {name:<10} {}/{}: mean {:.4}, [{:.4}, {:.4}]",
                v.conversions, v.total, arm.mean, arm.ci.0, arm.ci.1
            );
        }
        let _ = writeln!(
            s,
            "  P(treatment > control) = {:.6} exact, {:.4} Monte-Carlo ({} draws, seed {})",
            self.prob_treatment_better, self.prob_treatment_better_mc, self.samples, self.seed
        );
        let lift = self.expected_lift.map_or_else(
            || "unbounded".to_string(),
            |l| format!("{:+.2}%", 100.0 * l),
        );
        let _ = writeln!(
            s,
            "  expected lift {lift}, interval [{:+.2}%, {:+.2}%]",
            100.0 * self.lift_ci.0,
            100.0 * self.lift_ci.1
        );
        let _ = writeln!(
            s,
            "  expected loss: choose control {:.6}, choose treatment {:.6}",
            self.expected_loss.control, self.expected_loss.treatment
        );
        let decision = match self.decision {
            Decision::Treatment => "treatment wins",
            Decision::Control => "control wins",
            Decision::Inconclusive => "no clear winner",
        };
        let _ = writeln!(s, "  decision: {decision}");
        s
    }
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
) -> std::result::Result<MonteCarlo, BayesError> {
    if samples == 0 {
        return Err(BayesError::ZeroSamples);
    }
    bayes::check_level(level)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use mlprobe_core::bayes::expected_lift;
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

    // core's Beta quantiles against an independent implementation.
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

    #[track_caller]
    fn usage_naming(r: Result<BayesReport>, flag: &str) {
        match r {
            Err(Error::Usage(m)) => assert!(m.starts_with(flag), "{m}"),
            other => panic!("expected a usage error naming {flag}, got {other:?}"),
        }
    }

    #[test]
    fn decisions_follow_the_rule() {
        let c = Variant::from_counts(21, 200).unwrap();
        let t = Variant::from_counts(31, 200).unwrap();
        let mut o = BayesOptions {
            samples: 1000,
            ..BayesOptions::default()
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
        usage_naming(analyze(&c, &t, &o), "--threshold");
        o.rule = DecisionRule::Loss(-1.0);
        usage_naming(analyze(&c, &t, &o), "--loss-threshold");
        o.rule = DecisionRule::default();
        o.prior = BetaDist {
            alpha: 0.0,
            beta: 1.0,
        };
        usage_naming(analyze(&c, &t, &o), "--prior");
        o.prior = BetaDist::default();
        o.samples = 0;
        usage_naming(analyze(&c, &t, &o), "--samples");
        o.samples = MAX_SAMPLES + 1;
        usage_naming(analyze(&c, &t, &o), "--samples");
        o.samples = 10;
        o.level = 1.0;
        usage_naming(analyze(&c, &t, &o), "--level");
    }

    #[test]
    fn priors_parse_and_name_their_flag() {
        assert_eq!(parse_prior("--prior", " 0.5, 0.5").unwrap(), beta(0.5, 0.5));
        for bad in ["1", "0,1", "a,1", "1,inf", "1,2,3"] {
            assert!(
                matches!(parse_prior("--prior", bad), Err(Error::Usage(m)) if m.starts_with("--prior")),
                "{bad}"
            );
        }
    }
}
