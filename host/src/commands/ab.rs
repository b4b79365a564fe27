//! `mlprobe ab …`: A/B test analysis from counts (or a stream of events), frequentist,
//! sequential and Bayesian.
//!
//! Every statistic comes from [`mlprobe_core::abtest`] (no_std, the device's code too) or
//! [`crate::bayes`]; this module parses and validates the flags (each error names its flag,
//! exit 2), and prints one JSON document (`--json`) or a short human report.

use crate::bayes::{self, BetaDist, DecisionRule};
use crate::commands::Outcome;
use crate::error::{Error, Result};
use crate::output;
use mlprobe_core::abtest::{
    self, AbError, Alternative, Correction, Design, Effect, Msprt, Variant, ZTest,
};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A/B tests of conversion rates.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The analysis.
    #[command(subcommand)]
    pub command: AbCommand,
}

/// The `ab` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AbCommand {
    /// Two-proportion z-test of treatment against control, with the confidence interval of
    /// the difference.
    #[command(
        after_help = "Example:\n  mlprobe ab ztest --control 200/1000 --treatment 250/1000 --json"
    )]
    Ztest(ZtestArgs),
    /// Sample size per variant to detect an effect (the seed's formula, rounded up).
    #[command(after_help = "Example:\n  mlprobe ab size --baseline 0.10 --mde 0.02 --json")]
    Size(SizeArgs),
    /// Power for a sample size, and the effect detectable with it.
    #[command(after_help = "Example:\n  mlprobe ab power --baseline 0.10 --mde 0.02 --n 3000")]
    Power(PowerArgs),
    /// Bayesian analysis (Beta–Binomial): exact P(treatment > control), credible intervals,
    /// lift, expected loss, decision.
    #[command(
        after_help = "Example:\n  mlprobe ab bayes --control 21/200 --treatment 31/200 --seed 1 --json"
    )]
    Bayes(BayesArgs),
    /// Sample ratio mismatch: chi-square test of the observed split against the planned one
    /// (exit 1 on a mismatch).
    #[command(after_help = "Example:\n  mlprobe ab srm --observed 50500,49500 --expected 1,1")]
    Srm(SrmArgs),
    /// Multiple-comparison correction of p-values: Bonferroni, Holm, Benjamini–Hochberg.
    #[command(after_help = "Example:\n  mlprobe ab adjust --method holm 0.001 0.01 0.05 0.1")]
    Adjust(AdjustArgs),
    /// Sequential test over a stream of `variant,converted` events: the first look at which
    /// the test stopped, if any.
    #[command(
        after_help = "Example:\n  mlprobe ab sequential --events events.csv --method msprt --tau 0.02\n\n\
        The CSV has the columns variant (control/treatment or A/B) and converted (1/0,\n\
        true/false); a header row `variant,converted` is optional."
    )]
    Sequential(SequentialArgs),
}

/// Flags of `ab ztest`.
#[derive(Debug, clap::Args)]
pub struct ZtestArgs {
    /// Control's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub control: String,
    /// Treatment's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub treatment: String,
    /// Significance level; the interval's level is 1 − alpha.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// The alternative hypothesis about treatment − control.
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    pub alternative: AlternativeArg,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The alternative hypothesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AlternativeArg {
    /// The rates differ.
    TwoSided,
    /// The treatment's rate is larger.
    Larger,
    /// The treatment's rate is smaller.
    Smaller,
}

impl From<AlternativeArg> for Alternative {
    fn from(a: AlternativeArg) -> Self {
        match a {
            AlternativeArg::TwoSided => Alternative::TwoSided,
            AlternativeArg::Larger => Alternative::Larger,
            AlternativeArg::Smaller => Alternative::Smaller,
        }
    }
}

/// Flags of `ab size`.
#[derive(Debug, clap::Args)]
pub struct SizeArgs {
    /// The control's expected conversion rate, in (0, 1).
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub baseline: f64,
    /// Minimum detectable effect: absolute (0.02 = two points), or relative with `--relative`.
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub mde: f64,
    /// Read `--mde` as relative to the baseline (0.1 = +10%).
    #[arg(long)]
    pub relative: bool,
    /// Significance level.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Power.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub power: f64,
    /// Sidedness of the planned test (the seed's formula is two-sided).
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    pub alternative: AlternativeArg,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `ab power`.
#[derive(Debug, clap::Args)]
pub struct PowerArgs {
    /// The control's expected conversion rate, in (0, 1).
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub baseline: f64,
    /// Sample size per variant.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub n: String,
    /// An effect to compute the power for (absolute, or relative with `--relative`).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub mde: Option<f64>,
    /// Read `--mde` as relative to the baseline.
    #[arg(long)]
    pub relative: bool,
    /// Significance level.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// The power at which to report the detectable effect.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub power: f64,
    /// Sidedness of the planned test.
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    pub alternative: AlternativeArg,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `ab bayes`.
#[derive(Debug, clap::Args)]
pub struct BayesArgs {
    /// Control's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub control: String,
    /// Treatment's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub treatment: String,
    /// The Beta prior of both rates, `A,B` (Beta(1,1) is uniform; 0.5,0.5 is Jeffreys').
    #[arg(
        long,
        value_name = "A,B",
        default_value = "1,1",
        allow_hyphen_values = true
    )]
    pub prior: String,
    /// Monte-Carlo draws (for `prob_treatment_better_mc` and the lift interval).
    #[arg(
        long,
        value_name = "N",
        default_value = "100000",
        allow_hyphen_values = true
    )]
    pub samples: String,
    /// Seed of the Monte-Carlo draws.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Credible level of the intervals.
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub level: f64,
    /// Decide for an arm when P(it is better) reaches this (in (0.5, 1)).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.95,
        allow_negative_numbers = true
    )]
    pub threshold: f64,
    /// Decide instead for the arm whose expected loss is below this (e.g. 0.001).
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub loss_threshold: Option<f64>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `ab srm`.
#[derive(Debug, clap::Args)]
pub struct SrmArgs {
    /// Events observed per variant, comma-separated (`50500,49500`).
    #[arg(long, value_name = "N1,N2[,…]", allow_hyphen_values = true)]
    pub observed: String,
    /// Planned shares, comma-separated, any positive scale (default: equal).
    #[arg(long, value_name = "W1,W2[,…]", allow_hyphen_values = true)]
    pub expected: Option<String>,
    /// Flag a mismatch when the p-value is below this.
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true)]
    pub threshold: f64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `ab adjust`.
#[derive(Debug, clap::Args)]
pub struct AdjustArgs {
    /// The correction.
    #[arg(long, value_enum)]
    pub method: MethodArg,
    /// Level at which hypotheses are rejected (family-wise for Bonferroni and Holm, false
    /// discovery rate for BH).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// The p-values.
    #[arg(value_name = "P", required = true, allow_negative_numbers = true)]
    pub p_values: Vec<String>,
}

/// A multiple-comparison correction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    /// Bonferroni.
    Bonferroni,
    /// Holm's step-down.
    Holm,
    /// Benjamini–Hochberg.
    Bh,
}

/// Flags of `ab sequential`.
#[derive(Debug, clap::Args)]
pub struct SequentialArgs {
    /// CSV of events in arrival order: `variant,converted`.
    #[arg(long, value_name = "FILE.csv")]
    pub events: PathBuf,
    /// The sequential test: `msprt` (always-valid p-value, any number of looks) or `obf`
    /// (group-sequential, O'Brien–Fleming spending over a planned maximum of events).
    #[arg(long, value_enum, default_value_t = SequentialMethod::Msprt)]
    pub method: SequentialMethod,
    /// Significance level.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// mSPRT mixing scale: the size of difference in rates you expect (e.g. your MDE).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub tau: f64,
    /// Look after every this many events.
    #[arg(
        long,
        value_name = "N",
        default_value = "100",
        allow_hyphen_values = true
    )]
    pub look_every: String,
    /// obf: the planned maximum number of events (default: the events in the file).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub max_events: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The sequential test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SequentialMethod {
    /// Mixture SPRT (Johari et al. 2017).
    Msprt,
    /// Lan–DeMets O'Brien–Fleming group-sequential boundaries.
    Obf,
}

/// Runs `mlprobe ab …`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.command {
        AbCommand::Ztest(a) => ztest(a),
        AbCommand::Size(a) => size(a),
        AbCommand::Power(a) => power(a),
        AbCommand::Bayes(a) => bayes_cmd(a),
        AbCommand::Srm(a) => srm(a),
        AbCommand::Adjust(a) => adjust(a),
        AbCommand::Sequential(a) => sequential(a),
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: every message names its flag.

fn usage(flag: &str, message: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{flag}: {message}"))
}

/// A probability-like flag strictly inside (0, 1).
fn unit(flag: &str, value: f64) -> Result<f64> {
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(usage(
            flag,
            format!("must be strictly between 0 and 1, got {value}"),
        ))
    }
}

/// A count: a non-negative integer.
fn count(flag: &str, text: &str) -> Result<u64> {
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

/// `C/N`: conversions over a positive total, conversions at most the total.
fn counts(flag: &str, text: &str) -> Result<Variant> {
    let Some((c, n)) = text.split_once('/') else {
        return Err(usage(
            flag,
            format!("expected C/N (conversions/total, e.g. 21/200), got '{text}'"),
        ));
    };
    let c = count(flag, c)?;
    let n = count(flag, n)?;
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
        _ => "input",
    };
    usage(flag, e)
}

/// JSON of one arm.
#[derive(Debug, Serialize)]
struct Arm {
    conversions: u64,
    total: u64,
    /// `null` before the first event.
    rate: Option<f64>,
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

fn print_or_json<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        output::print_json(value)
    } else {
        output::print(&human())
    }
}

// ---------------------------------------------------------------------------------------------
// ztest

/// `ab ztest --json`.
#[derive(Debug, Serialize)]
struct ZtestJson {
    z: f64,
    p_value: f64,
    significant: bool,
    alpha: f64,
    alternative: &'static str,
    control: Arm,
    treatment: Arm,
    absolute_lift: f64,
    /// `null` when the control's rate is 0.
    relative_lift: Option<f64>,
    /// `[low, high]` of treatment − control at 1 − alpha.
    ci: [f64; 2],
}

fn ztest(a: ZtestArgs) -> Result<Outcome> {
    let control = counts("--control", &a.control)?;
    let treatment = counts("--treatment", &a.treatment)?;
    let alpha = unit("--alpha", a.alpha)?;
    let r: ZTest =
        abtest::ztest(&control, &treatment, alpha, a.alternative.into()).map_err(core_error)?;
    let doc = ZtestJson {
        z: r.z,
        p_value: r.p_value,
        significant: r.significant,
        alpha,
        alternative: r.alternative.as_str(),
        control: Arm::from(&control),
        treatment: Arm::from(&treatment),
        absolute_lift: r.absolute_lift,
        relative_lift: r.relative_lift,
        ci: [r.ci.0, r.ci.1],
    };
    print_or_json(a.json, &doc, || {
        let mut s = String::new();
        let _ = writeln!(s, "Two-proportion z-test ({})", r.alternative.as_str());
        let _ = writeln!(
            s,
            "  control    {}/{} = {:.4}",
            control.conversions(),
            control.total(),
            r.control_rate
        );
        let _ = writeln!(
            s,
            "  treatment  {}/{} = {:.4}",
            treatment.conversions(),
            treatment.total(),
            r.treatment_rate
        );
        let rel = r
            .relative_lift
            .map_or_else(|| "n/a".to_string(), |l| format!("{:+.2}%", 100.0 * l));
        let _ = writeln!(
            s,
            "  lift       {:+.4} absolute, {rel} relative",
            r.absolute_lift
        );
        let _ = writeln!(s, "  z = {:.4}, p = {:.6}", r.z, r.p_value);
        let _ = writeln!(
            s,
            "  {:.0}% CI of the difference: [{:.4}, {:.4}]",
            100.0 * (1.0 - alpha),
            r.ci.0,
            r.ci.1
        );
        let _ = writeln!(
            s,
            "  {} at alpha = {alpha}",
            if r.significant {
                "significant"
            } else {
                "not significant"
            }
        );
        s
    })?;
    Ok(Outcome::Pass)
}

// ---------------------------------------------------------------------------------------------
// size and power

fn design(
    baseline: f64,
    mde: f64,
    relative: bool,
    alpha: f64,
    power: f64,
    alt: AlternativeArg,
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
    let effect = if relative {
        Effect::Relative
    } else {
        Effect::Absolute
    };
    let treatment = match effect {
        Effect::Absolute => baseline + mde,
        Effect::Relative => baseline * (1.0 + mde),
    };
    if !(treatment > 0.0 && treatment < 1.0) {
        return Err(usage(
            "--mde",
            format!(
                "the treatment's rate {treatment} (baseline with the effect) must be strictly between 0 and 1"
            ),
        ));
    }
    Ok(Design {
        baseline,
        mde,
        effect,
        alpha,
        power,
        alternative: alt.into(),
    })
}

/// The treatment's rate of a design.
fn treatment_rate(d: &Design) -> f64 {
    match d.effect {
        Effect::Absolute => d.baseline + d.mde,
        Effect::Relative => d.baseline * (1.0 + d.mde),
    }
}

/// `ab size --json`.
#[derive(Debug, Serialize)]
struct SizeJson {
    per_variant: u64,
    total: u64,
    baseline: f64,
    treatment_rate: f64,
    absolute_mde: f64,
    relative_mde: f64,
    alpha: f64,
    power: f64,
    alternative: &'static str,
}

fn size(a: SizeArgs) -> Result<Outcome> {
    let d = design(
        a.baseline,
        a.mde,
        a.relative,
        a.alpha,
        a.power,
        a.alternative,
    )?;
    let n = abtest::sample_size(&d).map_err(core_error)?;
    let total = n
        .checked_mul(2)
        .ok_or_else(|| usage("--mde", "the required sample size does not fit in 64 bits"))?;
    let p2 = treatment_rate(&d);
    let doc = SizeJson {
        per_variant: n,
        total,
        baseline: d.baseline,
        treatment_rate: p2,
        absolute_mde: p2 - d.baseline,
        relative_mde: (p2 - d.baseline) / d.baseline,
        alpha: d.alpha,
        power: d.power,
        alternative: d.alternative.as_str(),
    };
    print_or_json(a.json, &doc, || {
        format!(
            "Sample size to detect {:.4} → {:.4} ({:+.2}%) at alpha = {}, power = {} ({}):\n  {} per variant, {} in total\n",
            d.baseline,
            p2,
            100.0 * doc.relative_mde,
            d.alpha,
            d.power,
            d.alternative.as_str(),
            n,
            total
        )
    })?;
    Ok(Outcome::Pass)
}

/// `ab power --json`.
#[derive(Debug, Serialize)]
struct PowerJson {
    per_variant: u64,
    baseline: f64,
    alpha: f64,
    alternative: &'static str,
    /// The power against `--mde`; `null` without `--mde`.
    power: Option<f64>,
    /// The treatment's rate of `--mde`; `null` without it.
    treatment_rate: Option<f64>,
    /// The power at which the detectable effect is reported (`--power`).
    target_power: f64,
    /// Smallest absolute increase detectable with `target_power`; `null` when none below a
    /// rate of 1 is.
    detectable_mde: Option<f64>,
    /// The same, relative to the baseline.
    detectable_mde_relative: Option<f64>,
}

fn power(a: PowerArgs) -> Result<Outcome> {
    let n = count("--n", &a.n)?;
    if n == 0 {
        return Err(usage(
            "--n",
            "the sample size per variant must be at least 1",
        ));
    }
    unit("--baseline", a.baseline)?;
    unit("--alpha", a.alpha)?;
    unit("--power", a.power)?;
    let (power, p2) = match a.mde {
        Some(mde) => {
            let d = design(a.baseline, mde, a.relative, a.alpha, a.power, a.alternative)?;
            (
                Some(abtest::power(&d, n).map_err(core_error)?),
                Some(treatment_rate(&d)),
            )
        }
        None => (None, None),
    };
    let d = Design {
        baseline: a.baseline,
        mde: 0.0,
        effect: Effect::Absolute,
        alpha: a.alpha,
        power: a.power,
        alternative: a.alternative.into(),
    };
    let mde = abtest::detectable_effect(&d, n).map_err(core_error)?;
    let doc = PowerJson {
        per_variant: n,
        baseline: a.baseline,
        alpha: a.alpha,
        alternative: d.alternative.as_str(),
        power,
        treatment_rate: p2,
        target_power: a.power,
        detectable_mde: mde,
        detectable_mde_relative: mde.map(|m| m / a.baseline),
    };
    print_or_json(a.json, &doc, || {
        let mut s = format!(
            "{n} per variant, baseline {}, alpha = {} ({}):\n",
            a.baseline,
            a.alpha,
            d.alternative.as_str()
        );
        if let (Some(p), Some(p2)) = (power, p2) {
            let _ = writeln!(s, "  power to detect {} → {p2:.4}: {p:.4}", a.baseline);
        }
        match mde {
            Some(m) => {
                let _ = writeln!(
                    s,
                    "  detectable at power {}: +{m:.5} absolute ({:+.2}%)",
                    a.power,
                    100.0 * m / a.baseline
                );
            }
            None => {
                let _ = writeln!(s, "  no increase is detectable at power {}", a.power);
            }
        }
        s
    })?;
    Ok(Outcome::Pass)
}

// ---------------------------------------------------------------------------------------------
// bayes

fn bayes_cmd(a: BayesArgs) -> Result<Outcome> {
    let control = counts("--control", &a.control)?;
    let treatment = counts("--treatment", &a.treatment)?;
    let prior = {
        let bad = || {
            usage(
                "--prior",
                format!(
                    "expected A,B with positive numbers (e.g. 1,1), got '{}'",
                    a.prior
                ),
            )
        };
        let (pa, pb) = a.prior.split_once(',').ok_or_else(bad)?;
        let pa: f64 = pa.trim().parse().map_err(|_| bad())?;
        let pb: f64 = pb.trim().parse().map_err(|_| bad())?;
        BetaDist::new(pa, pb).map_err(|_| bad())?
    };
    let samples = count("--samples", &a.samples)?;
    if samples == 0 {
        return Err(usage(
            "--samples",
            "at least one Monte-Carlo sample is needed",
        ));
    }
    if samples > 100_000_000 {
        return Err(usage("--samples", "at most 100000000 draws"));
    }
    let level = unit("--level", a.level)?;
    let rule = match a.loss_threshold {
        Some(eps) => {
            if !(eps > 0.0 && eps.is_finite()) {
                return Err(usage(
                    "--loss-threshold",
                    format!("must be positive, got {eps}"),
                ));
            }
            DecisionRule::Loss(eps)
        }
        None => {
            if !(a.threshold > 0.5 && a.threshold < 1.0) {
                return Err(usage(
                    "--threshold",
                    format!("must be strictly between 0.5 and 1, got {}", a.threshold),
                ));
            }
            DecisionRule::Probability(a.threshold)
        }
    };
    let options = bayes::Options {
        prior,
        level,
        samples,
        seed: a.seed,
        rule,
    };
    let r =
        bayes::analyze(&control, &treatment, &options).map_err(|e| Error::Usage(e.to_string()))?;
    print_or_json(a.json, &r, || {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Bayesian A/B (prior Beta({}, {}), {:.0}% credible intervals)",
            prior.alpha,
            prior.beta,
            100.0 * level
        );
        for (name, arm, v) in [
            ("control", &r.control, &control),
            ("treatment", &r.treatment, &treatment),
        ] {
            let _ = writeln!(
                s,
                "  {name:<10} {}/{}: mean {:.4}, [{:.4}, {:.4}]",
                v.conversions(),
                v.total(),
                arm.mean,
                arm.ci.0,
                arm.ci.1
            );
        }
        let _ = writeln!(
            s,
            "  P(treatment > control) = {:.6} exact, {:.4} Monte-Carlo ({} draws, seed {})",
            r.prob_treatment_better, r.prob_treatment_better_mc, r.samples, r.seed
        );
        let lift = r.expected_lift.map_or_else(
            || "unbounded".to_string(),
            |l| format!("{:+.2}%", 100.0 * l),
        );
        let _ = writeln!(
            s,
            "  expected lift {lift}, interval [{:+.2}%, {:+.2}%]",
            100.0 * r.lift_ci.0,
            100.0 * r.lift_ci.1
        );
        let _ = writeln!(
            s,
            "  expected loss: choose control {:.6}, choose treatment {:.6}",
            r.expected_loss.control, r.expected_loss.treatment
        );
        let decision = match r.decision {
            bayes::Decision::Treatment => "treatment wins",
            bayes::Decision::Control => "control wins",
            bayes::Decision::Inconclusive => "no clear winner",
        };
        let _ = writeln!(s, "  decision: {decision}");
        s
    })?;
    Ok(Outcome::Pass)
}

// ---------------------------------------------------------------------------------------------
// srm

/// `ab srm --json`.
#[derive(Debug, Serialize)]
struct SrmJson {
    chi2: f64,
    df: u32,
    p_value: f64,
    mismatch: bool,
    threshold: f64,
    observed: Vec<u64>,
    expected_shares: Vec<f64>,
}

fn srm(a: SrmArgs) -> Result<Outcome> {
    let observed = a
        .observed
        .split(',')
        .map(|t| count("--observed", t))
        .collect::<Result<Vec<u64>>>()?;
    if observed.len() < 2 {
        return Err(usage(
            "--observed",
            "give the events of at least two variants, e.g. 50500,49500",
        ));
    }
    let weights = match &a.expected {
        Some(text) => text
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|w| *w > 0.0 && w.is_finite())
                    .ok_or_else(|| {
                        usage(
                            "--expected",
                            format!("shares must be positive numbers, got '{t}'"),
                        )
                    })
            })
            .collect::<Result<Vec<f64>>>()?,
        None => vec![1.0; observed.len()],
    };
    if weights.len() != observed.len() {
        return Err(usage(
            "--expected",
            format!(
                "{} shares for {} variants in --observed",
                weights.len(),
                observed.len()
            ),
        ));
    }
    let threshold = unit("--threshold", a.threshold)?;
    let r = abtest::srm(&observed, &weights).map_err(|e| match e {
        AbError::ZeroTotal => usage("--observed", "no events observed"),
        e => core_error(e),
    })?;
    let sum: f64 = weights.iter().sum();
    let doc = SrmJson {
        chi2: r.chi2,
        df: r.df,
        p_value: r.p_value,
        mismatch: r.mismatch(threshold),
        threshold,
        observed: observed.clone(),
        expected_shares: weights.iter().map(|w| w / sum).collect(),
    };
    print_or_json(a.json, &doc, || {
        format!(
            "Sample ratio check: chi2 = {:.4} (df {}), p = {:.6}: {}\n",
            r.chi2,
            r.df,
            r.p_value,
            if doc.mismatch {
                format!(
                    "MISMATCH (p < {threshold}): the split is not the planned one; do not trust this experiment's results"
                )
            } else {
                format!("ok (p ≥ {threshold})")
            }
        )
    })?;
    Ok(if doc.mismatch {
        Outcome::Fail
    } else {
        Outcome::Pass
    })
}

// ---------------------------------------------------------------------------------------------
// adjust

/// `ab adjust --json`.
#[derive(Debug, Serialize)]
struct AdjustJson {
    method: &'static str,
    alpha: f64,
    p_values: Vec<f64>,
    adjusted: Vec<f64>,
    rejected: Vec<bool>,
}

fn adjust(a: AdjustArgs) -> Result<Outcome> {
    let alpha = unit("--alpha", a.alpha)?;
    let p = a
        .p_values
        .iter()
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    usage(
                        "P",
                        format!("p-values must be numbers in [0, 1], got '{t}'"),
                    )
                })
        })
        .collect::<Result<Vec<f64>>>()?;
    let method = match a.method {
        MethodArg::Bonferroni => Correction::Bonferroni,
        MethodArg::Holm => Correction::Holm,
        MethodArg::Bh => Correction::BenjaminiHochberg,
    };
    let m = p.len();
    let mut order = vec![0usize; m];
    let mut adjusted = vec![0.0; m];
    let mut rejected = vec![false; m];
    abtest::adjust(method, &p, alpha, &mut order, &mut adjusted, &mut rejected)
        .map_err(core_error)?;
    let doc = AdjustJson {
        method: method.as_str(),
        alpha,
        p_values: p,
        adjusted,
        rejected,
    };
    print_or_json(a.json, &doc, || {
        let mut s = format!("{} adjustment at alpha = {alpha}\n", method.as_str());
        let _ = writeln!(s, "  {:>12} {:>12}  rejected", "p", "adjusted");
        for ((p, q), r) in doc.p_values.iter().zip(&doc.adjusted).zip(&doc.rejected) {
            let _ = writeln!(
                s,
                "  {p:>12.6} {q:>12.6}  {}",
                if *r { "yes" } else { "no" }
            );
        }
        s
    })?;
    Ok(Outcome::Pass)
}

// ---------------------------------------------------------------------------------------------
// sequential

/// `ab sequential --json`.
#[derive(Debug, Serialize)]
struct SequentialJson {
    method: SequentialMethod,
    alpha: f64,
    /// Events read from the file.
    events: u64,
    /// Events analysed (up to the stop, or all; `obf` stops at `--max-events`).
    analysed: u64,
    look_every: u64,
    /// Looks taken.
    looks: u64,
    /// Looks planned (`obf`); `null` for `msprt`.
    planned_looks: Option<u64>,
    stopped: bool,
    /// 1-based look at which the test stopped; `null` when it did not.
    stopped_at_look: Option<u64>,
    /// Events seen at that look.
    stopped_at_event: Option<u64>,
    /// The always-valid p-value at the stop or at the last look (`msprt`); `null` for `obf`.
    p_value: Option<f64>,
    /// The pooled z statistic (treatment − control) at the stop or the last look.
    z: Option<f64>,
    /// The `obf` boundary at that look; `null` for `msprt`.
    boundary: Option<f64>,
    /// `msprt`'s mixing scale; `null` for `obf`.
    tau: Option<f64>,
    control: Arm,
    treatment: Arm,
}

/// Reads `variant,converted` rows: `(is_treatment, converted)` per event.
fn read_events(path: &Path) -> Result<Vec<(bool, bool)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parse_err = |column: usize, message: String| Error::Parse {
            path: path.to_path_buf(),
            line: line_no,
            column,
            message,
        };
        let mut fields = line.split(',').map(str::trim);
        let (Some(variant), Some(converted), None) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(parse_err(
                0,
                "expected two fields, variant,converted".to_string(),
            ));
        };
        if events.is_empty()
            && variant.eq_ignore_ascii_case("variant")
            && converted.eq_ignore_ascii_case("converted")
        {
            continue;
        }
        let is_treatment = match variant.to_ascii_lowercase().as_str() {
            "control" | "a" => false,
            "treatment" | "b" => true,
            _ => {
                return Err(parse_err(
                    1,
                    format!("variant must be control/treatment or A/B, got '{variant}'"),
                ));
            }
        };
        let converted = match converted.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            _ => {
                return Err(parse_err(
                    2,
                    format!("converted must be 1/0 or true/false, got '{converted}'"),
                ));
            }
        };
        events.push((is_treatment, converted));
    }
    if events.is_empty() {
        return Err(Error::file(
            path,
            "no events: expected rows of variant,converted",
        ));
    }
    Ok(events)
}

fn sequential(a: SequentialArgs) -> Result<Outcome> {
    let alpha = unit("--alpha", a.alpha)?;
    let every = count("--look-every", &a.look_every)?;
    if every == 0 {
        return Err(usage("--look-every", "must be at least 1"));
    }
    let max_events = a
        .max_events
        .as_deref()
        .map(|t| count("--max-events", t))
        .transpose()?;
    if max_events == Some(0) {
        return Err(usage("--max-events", "must be at least 1"));
    }
    let mut msprt = match a.method {
        SequentialMethod::Msprt => Some(Msprt::new(a.tau, alpha).map_err(|_| {
            usage(
                "--tau",
                format!("must be positive and finite, got {}", a.tau),
            )
        })?),
        SequentialMethod::Obf => None,
    };
    let events = read_events(&a.events)?;
    let n_events = events.len() as u64;
    // Look positions: every `every` events, and the last event analysed.
    let horizon = match a.method {
        SequentialMethod::Msprt => n_events,
        SequentialMethod::Obf => max_events.unwrap_or(n_events),
    };
    let planned = horizon.div_ceil(every);
    let boundaries = if a.method == SequentialMethod::Obf {
        if planned > abtest::MAX_LOOKS as u64 {
            return Err(usage(
                "--look-every",
                format!(
                    "{planned} looks over {horizon} events; at most {} (look less often)",
                    abtest::MAX_LOOKS
                ),
            ));
        }
        let fractions: Vec<f64> = (1..=planned)
            .map(|k| (k * every).min(horizon) as f64 / horizon as f64)
            .collect();
        let mut b = vec![0.0; fractions.len()];
        abtest::obf_boundaries(alpha, &fractions, &mut b).map_err(core_error)?;
        b
    } else {
        Vec::new()
    };
    let (mut control, mut treatment) = (Variant::new(), Variant::new());
    let mut looks = 0u64;
    let mut stop: Option<(u64, u64)> = None;
    let (mut last_z, mut last_boundary) = (None, None);
    let mut analysed = 0u64;
    for (i, &(is_treatment, converted)) in events.iter().enumerate() {
        let seen = i as u64 + 1;
        if seen > horizon {
            break;
        }
        analysed = seen;
        if is_treatment {
            treatment.record(converted);
        } else {
            control.record(converted);
        }
        if !seen.is_multiple_of(every) && seen != horizon {
            continue;
        }
        looks += 1;
        let z = if control.total() > 0 && treatment.total() > 0 {
            abtest::ztest(&control, &treatment, alpha, Alternative::TwoSided)
                .ok()
                .map(|r| r.z)
        } else {
            None
        };
        last_z = z;
        let stopped = match &mut msprt {
            Some(test) => {
                test.update(&control, &treatment);
                test.rejected()
            }
            None => {
                let b = boundaries.get(looks as usize - 1).copied();
                last_boundary = b;
                matches!((z, b), (Some(z), Some(b)) if z.abs() >= b)
            }
        };
        if stopped {
            stop = Some((looks, seen));
            break;
        }
    }
    let doc = SequentialJson {
        method: a.method,
        alpha,
        events: n_events,
        analysed,
        look_every: every,
        looks,
        planned_looks: (a.method == SequentialMethod::Obf).then_some(planned),
        stopped: stop.is_some(),
        stopped_at_look: stop.map(|s| s.0),
        stopped_at_event: stop.map(|s| s.1),
        p_value: msprt.map(|t| t.p_value()),
        z: last_z,
        boundary: last_boundary,
        tau: msprt.map(|_| a.tau),
        control: Arm::from(&control),
        treatment: Arm::from(&treatment),
    };
    print_or_json(a.json, &doc, || {
        let mut s = format!(
            "Sequential test ({}) at alpha = {alpha}, a look every {every} events:\n",
            match a.method {
                SequentialMethod::Msprt => format!("mSPRT, tau = {}", a.tau),
                SequentialMethod::Obf => format!("O'Brien–Fleming over {horizon} events"),
            }
        );
        match stop {
            Some((look, at)) => {
                let _ = writeln!(s, "  stopped at look {look} (event {at}): the rates differ");
            }
            None => {
                let _ = writeln!(s, "  did not stop in {looks} looks over {analysed} events");
            }
        }
        let _ = writeln!(
            s,
            "  control {}/{}, treatment {}/{}",
            control.conversions(),
            control.total(),
            treatment.conversions(),
            treatment.total()
        );
        if let Some(p) = doc.p_value {
            let _ = writeln!(s, "  always-valid p = {p:.6}");
        }
        if let (Some(z), Some(b)) = (doc.z, doc.boundary) {
            let _ = writeln!(s, "  |z| = {:.4} against the boundary {b:.4}", z.abs());
        }
        s
    })?;
    Ok(Outcome::Pass)
}
