//! `mlprobe ab …`: A/B test analysis from counts (or a stream of events), frequentist,
//! sequential and Bayesian.
//!
//! The flags of each test become the options of [`crate::ab`] (every error names its flag,
//! exit 2), which computes the report; this module prints it as one JSON document (`--json`)
//! or as text.

use crate::ab::{self, SequentialMethod};
use crate::commands::{Outcome, Rendered, render};
use crate::error::Result;
use mlprobe_core::abtest::{Alternative, Correction, Effect, PowerFormula};
use mlprobe_core::bayes::DecisionRule;
use std::path::PathBuf;

/// A/B tests of conversion rates and of means.
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
    /// Welch's t-test of a metric's mean per unit (latency, revenue per user): every
    /// treatment against the control, CUPED with a covariate, guardrails (exit 1 when one
    /// fails).
    #[command(after_help = TTEST_HELP)]
    Ttest(TtestArgs),
    /// A ratio metric per variant (clicks per session, over users) by the delta method:
    /// every treatment against the control.
    #[command(after_help = RATIO_HELP)]
    Ratio(RatioArgs),
    /// Several arms' conversion rates: each treatment against the control (z-tests, p-values
    /// adjusted) and the chi-square test of homogeneity of every arm.
    #[command(
        after_help = "Example:\n  mlprobe ab rates --arm control=200/1000 --arm b=250/1000 --arm c=230/1000\n\n\
        The first --arm is the control unless --control names another. Each treatment is\n\
        tested as `ab ztest` tests it; the p-values are adjusted over the treatments\n\
        (--adjust, Holm by default); the omnibus test is Pearson's chi-square of the k x 2\n\
        table (scipy's chi2_contingency without continuity correction)."
    )]
    Rates(RatesArgs),
    /// Sample size per variant to detect an effect (the seed's formula, rounded up).
    #[command(after_help = "Example:\n  mlprobe ab size --baseline 0.10 --mde 0.02 --json")]
    Size(SizeArgs),
    /// Power of `ab ztest`'s test for a sample size, and the effect detectable with it.
    #[command(
        after_help = "Example:\n  mlprobe ab power --baseline 0.10 --mde 0.02 --n 3000\n\n\
        The power is the probability that `ab ztest` rejects (normal approximation, pooled\n\
        variance under the null): two-sided, both tails count, so it is alpha at no effect.\n\
        `--power-formula seed` gives the seed's one-tail formula instead (alpha/2 at no effect)."
    )]
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
        true/false); a header row `variant,converted` is optional.\n\n\
        With --metric COL the mean of a numeric column is tested instead (mSPRT with a normal\n\
        mixture over the difference of means, plug-in variance, looks from 30 units per arm):\n\
          mlprobe ab sequential --events units.csv --metric latency_ms --tau 5\n\
        The CSV then has a header naming `variant` and COL."
    )]
    Sequential(SequentialArgs),
}

const TTEST_HELP: &str = "Examples:
  mlprobe ab ttest --data units.parquet --variant variant --metric revenue
  mlprobe ab ttest --data units.csv --metric revenue --covariate revenue_before \\
      --guardrail latency_ms:+5 --json
  mlprobe ab ttest --control-summary 10.2,3.1,5000 --treatment-summary 10.4,3.3,5000

The table has one row per unit (user, session): a column naming its variant and numeric
columns. It is streamed (CSV, gzip/zstd, Parquet; `-` for stdin) in constant memory. A row
whose variant, metric or covariate is missing is left out and counted.

Each treatment is compared with the control (`--control`, default the variant named
`control`, else the first in the file): Welch's t, its degrees of freedom, the p-value and
its adjustment over the comparisons (`--adjust`), the interval of the difference, and the
relative lift with a delta-method interval. Three arms or more add Welch's ANOVA.

--covariate names a pre-experiment value of the same unit: CUPED adjusts the metric by it
(theta over every arm) and reports the variance it removed.

--guardrail COL:+M checks that COL did not increase by M or more (one-sided
non-inferiority at alpha); COL:-M that it did not decrease by M or more. A guardrail that
is not shown to hold makes the exit code 1.";

const RATIO_HELP: &str = "Example:
  mlprobe ab ratio --data users.csv --variant variant --numerator clicks --denominator sessions

One row per unit of randomization (a user), with the ratio's numerator and denominator summed
over that unit (its clicks and its sessions). Each variant's ratio is Σ numerator / Σ
denominator; its variance comes from the delta method (Deng, Knoblich & Lu, KDD 2018), which
accounts for a user's sessions not being independent, as a t-test of per-session values does
not. Differences are tested with z (normal), p-values adjusted over treatments (--adjust).";

/// Flags of `ab rates`.
#[derive(Debug, clap::Args)]
pub struct RatesArgs {
    /// An arm: its name, conversions over total (repeat for each arm; the first is the control).
    #[arg(
        long = "arm",
        value_name = "NAME=C/N",
        required = true,
        allow_hyphen_values = true
    )]
    pub arms: Vec<String>,
    /// The comparisons.
    #[command(flatten)]
    pub compare: CompareArgs,
}

/// Flags of `ab ratio`.
#[derive(Debug, clap::Args)]
pub struct RatioArgs {
    /// The table of units: CSV (compressed or not) or Parquet; `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The column naming each unit's variant.
    #[arg(long, value_name = "COL", default_value = "variant")]
    pub variant: String,
    /// The ratio's numerator, per unit.
    #[arg(long, value_name = "COL")]
    pub numerator: String,
    /// The ratio's denominator, per unit.
    #[arg(long, value_name = "COL")]
    pub denominator: String,
    /// Parsing threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The comparisons.
    #[command(flatten)]
    pub compare: CompareArgs,
}

/// Flags of `ab ttest`.
#[derive(Debug, clap::Args)]
pub struct TtestArgs {
    /// The table of units: CSV (compressed or not) or Parquet; `-` for stdin.
    #[arg(long, value_name = "FILE", required_unless_present_all = ["control_summary", "treatment_summary"])]
    pub data: Option<PathBuf>,
    /// The column naming each unit's variant.
    #[arg(long, value_name = "COL", default_value = "variant")]
    pub variant: String,
    /// The metric's column.
    #[arg(long, value_name = "COL", required_unless_present = "control_summary")]
    pub metric: Option<String>,
    /// A pre-experiment covariate's column: CUPED.
    #[arg(long, value_name = "COL")]
    pub covariate: Option<String>,
    /// A guardrail metric and the change towards worse it tolerates (repeatable).
    #[arg(
        long = "guardrail",
        value_name = "COL:±MARGIN",
        allow_hyphen_values = true
    )]
    pub guardrails: Vec<String>,
    /// The control's summary instead of a table: mean, sample sd, units.
    #[arg(
        long,
        value_name = "MEAN,SD,N",
        allow_hyphen_values = true,
        conflicts_with = "data",
        requires = "treatment_summary"
    )]
    pub control_summary: Option<String>,
    /// The treatment's summary.
    #[arg(
        long,
        value_name = "MEAN,SD,N",
        allow_hyphen_values = true,
        conflicts_with = "data",
        requires = "control_summary"
    )]
    pub treatment_summary: Option<String>,
    /// Parsing threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// The comparisons.
    #[command(flatten)]
    pub compare: CompareArgs,
}

/// How `ab ttest`, `ab ratio` and `ab rates` compare the treatments with the control.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The control (default: the variant named `control`, else the first in the file; for
    /// `ab rates`, the first --arm).
    #[arg(long, value_name = "NAME")]
    pub control: Option<String>,
    /// Significance level; the intervals' level is 1 − alpha.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// The alternative hypothesis about treatment − control.
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    pub alternative: AlternativeArg,
    /// The correction of the p-values over the treatments.
    #[arg(long, value_enum, default_value_t = MethodArg::Holm)]
    pub adjust: MethodArg,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl CompareArgs {
    /// The checked options.
    fn options(&self) -> Result<ab::TtestOptions> {
        ab::unit("--alpha", self.alpha)?;
        Ok(ab::TtestOptions {
            control: self.control.clone(),
            alpha: self.alpha,
            alternative: self.alternative.into(),
            adjust: self.adjust.into(),
        })
    }
}

/// The two arms' counts, of `ab ztest` and `ab bayes`.
#[derive(Debug, clap::Args)]
pub struct ArmsArgs {
    /// Control's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub control: String,
    /// Treatment's conversions over total, `C/N`.
    #[arg(long, value_name = "C/N", allow_hyphen_values = true)]
    pub treatment: String,
}

/// Flags of `ab ztest`.
#[derive(Debug, clap::Args)]
pub struct ZtestArgs {
    /// The two arms.
    #[command(flatten)]
    pub arms: ArmsArgs,
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

/// The planned test, of `ab size` and `ab power` (`ab power` words three helps its own way).
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Read `--mde` as relative to the baseline (0.1 = +10%).
    #[arg(long)]
    pub relative: bool,
    /// Significance level.
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub alpha: f64,
    /// Power.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub power: f64,
    /// Sidedness of the planned test (the seed's formula is two-sided). A one-sided test
    /// against the effect's direction (`larger` with a negative --mde) has no size: exit 2.
    #[arg(long, value_enum, default_value_t = AlternativeArg::TwoSided)]
    pub alternative: AlternativeArg,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl PlanArgs {
    fn effect(&self) -> Effect {
        if self.relative {
            Effect::Relative
        } else {
            Effect::Absolute
        }
    }
}

/// A test of means instead of rates, of `ab size` and `ab power`.
#[derive(Debug, clap::Args)]
pub struct MeansPlanArgs {
    /// Plan a t-test of means instead: the metric's standard deviation (`--mde` is then in
    /// the metric's units).
    #[arg(long, value_name = "S", allow_negative_numbers = true, conflicts_with_all = ["baseline", "relative"])]
    pub sd: Option<f64>,
    /// With --sd: treatment units per control unit.
    #[arg(
        long,
        value_name = "R",
        default_value_t = 1.0,
        allow_negative_numbers = true,
        requires = "sd"
    )]
    pub ratio: f64,
}

impl MeansPlanArgs {
    /// The planned t-test of a difference `mde` for a metric of standard deviation `sd`.
    fn plan(&self, sd: f64, mde: f64, plan: &PlanArgs) -> ab::MeansPlan {
        ab::MeansPlan {
            sd,
            mde,
            ratio: self.ratio,
            alpha: plan.alpha,
            alternative: plan.alternative.into(),
        }
    }
}

/// Flags of `ab size`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe ab size --baseline 0.10 --mde 0.02\n  \
    mlprobe ab size --sd 12.5 --mde 1.0 --power 0.9   # a t-test of means (statsmodels' TTestIndPower)"
)]
pub struct SizeArgs {
    /// The control's expected conversion rate, in (0, 1).
    #[arg(
        long,
        value_name = "P",
        allow_negative_numbers = true,
        required_unless_present = "sd"
    )]
    pub baseline: Option<f64>,
    /// Minimum detectable effect: absolute (0.02 = two points), or relative with `--relative`.
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub mde: f64,
    /// A test of means.
    #[command(flatten)]
    pub means: MeansPlanArgs,
    /// The planned test.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// Flags of `ab power`.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("relative", |a| a.help("Read `--mde` as relative to the baseline")),
    mut_arg("power", |a| a.help("The power at which to report the detectable effect")),
    mut_arg("alternative", |a| a.help("Sidedness of the planned test"))
)]
pub struct PowerArgs {
    /// The control's expected conversion rate, in (0, 1).
    #[arg(
        long,
        value_name = "P",
        allow_negative_numbers = true,
        required_unless_present = "sd"
    )]
    pub baseline: Option<f64>,
    /// A test of means.
    #[command(flatten)]
    pub means: MeansPlanArgs,
    /// Sample size per variant.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub n: String,
    /// An effect to compute the power for (absolute, or relative with `--relative`).
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub mde: Option<f64>,
    /// How the power is counted.
    #[arg(long, value_enum, default_value_t = PowerFormulaArg::Test)]
    pub power_formula: PowerFormulaArg,
    /// The planned test.
    #[command(flatten)]
    pub plan: PlanArgs,
}

/// How `ab power` counts the power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerFormulaArg {
    /// The probability that `ab ztest` rejects: both tails when two-sided; one-sided, only
    /// the tail of the alternative (statsmodels' `power_proportions_2indep`).
    Test,
    /// The seed's formula: one tail at z(1 − alpha/2), in the direction of |mde|.
    Seed,
}

impl From<PowerFormulaArg> for PowerFormula {
    fn from(a: PowerFormulaArg) -> Self {
        match a {
            PowerFormulaArg::Test => PowerFormula::Test,
            PowerFormulaArg::Seed => PowerFormula::Seed,
        }
    }
}

/// Flags of `ab bayes`.
#[derive(Debug, clap::Args)]
pub struct BayesArgs {
    /// The two arms.
    #[command(flatten)]
    pub arms: ArmsArgs,
    /// The Beta prior of both rates, `A,B`, each in (0, 1e10] (Beta(1,1) is uniform; 0.5,0.5 is
    /// Jeffreys'). Posteriors (prior plus counts) are limited to 1e10 too: the exact tails'
    /// range.
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

impl From<MethodArg> for Correction {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Bonferroni => Correction::Bonferroni,
            MethodArg::Holm => Correction::Holm,
            MethodArg::Bh => Correction::BenjaminiHochberg,
        }
    }
}

/// Flags of `ab sequential`.
#[derive(Debug, clap::Args)]
pub struct SequentialArgs {
    /// CSV of events in arrival order: `variant,converted`.
    #[arg(long, value_name = "FILE.csv")]
    pub events: PathBuf,
    /// The sequential test: `msprt` (always-valid p-value, any number of looks) or `obf`
    /// (group-sequential, O'Brien–Fleming spending over a planned maximum of events).
    #[arg(long, value_enum, default_value_t = SequentialMethodArg::Msprt)]
    pub method: SequentialMethodArg,
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
    /// Test the mean of this numeric column instead of conversions: the file has a header
    /// naming `variant` and COL, one unit per row; mSPRT only, `--tau` in COL's units.
    #[arg(long, value_name = "COL")]
    pub metric: Option<String>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The sequential test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SequentialMethodArg {
    /// Mixture SPRT (Johari et al. 2017).
    Msprt,
    /// Lan–DeMets O'Brien–Fleming group-sequential boundaries.
    Obf,
}

/// Runs `mlprobe ab …`: prints the report ([`evaluate`]) as text or JSON.
pub fn run(args: Args) -> Result<Outcome> {
    let json = args.command.json();
    evaluate(args.command)?.emit(json)
}

impl AbCommand {
    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        match self {
            Self::Ztest(a) => a.json,
            Self::Bayes(a) => a.json,
            Self::Srm(a) => a.json,
            Self::Adjust(a) => a.json,
            Self::Sequential(a) => a.json,
            Self::Ttest(a) => a.compare.json,
            Self::Rates(a) => a.compare.json,
            Self::Ratio(a) => a.compare.json,
            Self::Size(a) => a.plan.json,
            Self::Power(a) => a.plan.json,
        }
    }
}

/// The report of an `ab` analysis, rendered both ways: what `mlprobe ab …` prints, and what
/// the Python package's `mlprobe.ab` functions return (its JSON).
pub fn evaluate(command: AbCommand) -> Result<Rendered> {
    match command {
        AbCommand::Ztest(a) => {
            let control = ab::parse_counts("--control", &a.arms.control)?;
            let treatment = ab::parse_counts("--treatment", &a.arms.treatment)?;
            let options = ab::ZtestOptions {
                alpha: a.alpha,
                alternative: a.alternative.into(),
            };
            let report = ab::ztest(&control, &treatment, &options)?;
            render(&report, ab::ZtestReport::human, true)
        }
        AbCommand::Ttest(a) => {
            let options = a.compare.options()?;
            let report = match (&a.data, &a.control_summary, &a.treatment_summary) {
                (None, Some(c), Some(t)) => ab::ttest_summaries(
                    &ab::parse_summary("--control-summary", c)?,
                    &ab::parse_summary("--treatment-summary", t)?,
                    &options,
                )?,
                (Some(path), None, None) => {
                    let spec = ab::TableSpec {
                        path: path.clone(),
                        variant: a.variant.clone(),
                        metric: a.metric.clone().unwrap_or_default(),
                        covariate: a.covariate.clone(),
                        guardrails: (a.guardrails.iter())
                            .map(|g| ab::parse_guardrail(g))
                            .collect::<Result<_>>()?,
                        threads: a.threads,
                        flags: ["--metric", "--covariate"],
                    };
                    ab::ttest(&spec, &ab::read_arms(&spec)?, &options)?
                }
                _ => {
                    return Err(crate::error::Error::Usage(
                        "ab ttest: give --data FILE --metric COL, or both --control-summary and \
                         --treatment-summary"
                            .into(),
                    ));
                }
            };
            render(&report, ab::TtestReport::human, report.passed())
        }
        AbCommand::Rates(a) => {
            let options = a.compare.options()?;
            let arms = (a.arms.iter())
                .map(|t| ab::parse_arm(t))
                .collect::<Result<Vec<_>>>()?;
            let report = ab::rates(&arms, &options)?;
            render(&report, ab::RatesReport::human, true)
        }
        AbCommand::Ratio(a) => {
            let options = a.compare.options()?;
            let spec = ab::TableSpec {
                path: a.data.clone(),
                variant: a.variant.clone(),
                metric: a.numerator.clone(),
                covariate: Some(a.denominator.clone()),
                guardrails: Vec::new(),
                threads: a.threads,
                flags: ["--numerator", "--denominator"],
            };
            let report = ab::ratio(&spec, &ab::read_arms(&spec)?, &options)?;
            render(&report, ab::RatioReport::human, true)
        }
        AbCommand::Size(a) => {
            if let Some(sd) = a.means.sd {
                let report = ab::size_means(&a.means.plan(sd, a.mde, &a.plan), a.plan.power)?;
                return render(&report, ab::MeansSizeReport::human, true);
            }
            let options = ab::SizeOptions {
                baseline: a.baseline.unwrap_or_default(),
                mde: a.mde,
                effect: a.plan.effect(),
                alpha: a.plan.alpha,
                power: a.plan.power,
                alternative: a.plan.alternative.into(),
            };
            render(&ab::size(&options)?, ab::SizeReport::human, true)
        }
        AbCommand::Power(a) => {
            if let Some(sd) = a.means.sd {
                let Some(mde) = a.mde else {
                    return Err(crate::error::Error::Usage(
                        "--mde: a t-test's power needs the difference to detect (with --sd)".into(),
                    ));
                };
                let plan = a.means.plan(sd, mde, &a.plan);
                let report = ab::power_means(&plan, ab::parse_count("--n", &a.n)?)?;
                return render(&report, ab::MeansPowerReport::human, true);
            }
            let options = ab::PowerOptions {
                baseline: a.baseline.unwrap_or_default(),
                n: ab::parse_count("--n", &a.n)?,
                mde: a.mde,
                effect: a.plan.effect(),
                alpha: a.plan.alpha,
                power: a.plan.power,
                alternative: a.plan.alternative.into(),
                formula: a.power_formula.into(),
            };
            let report = ab::power(&options)?;
            render(&report, ab::PowerReport::human, true)
        }
        AbCommand::Bayes(a) => {
            let control = ab::parse_counts("--control", &a.arms.control)?;
            let treatment = ab::parse_counts("--treatment", &a.arms.treatment)?;
            let options = ab::BayesOptions {
                prior: ab::parse_prior("--prior", &a.prior)?,
                samples: ab::parse_count("--samples", &a.samples)?,
                seed: a.seed,
                level: a.level,
                rule: match a.loss_threshold {
                    Some(eps) => DecisionRule::Loss(eps),
                    None => DecisionRule::Probability(a.threshold),
                },
            };
            let report = ab::analyze(&control, &treatment, &options)?;
            render(&report, ab::BayesReport::human, true)
        }
        AbCommand::Srm(a) => {
            let observed = ab::parse_observed(&a.observed)?;
            let options = ab::SrmOptions {
                expected: a.expected.as_deref().map(ab::parse_shares).transpose()?,
                threshold: a.threshold,
            };
            let report = ab::srm(&observed, &options)?;
            render(&report, ab::SrmReport::human, report.passed())
        }
        AbCommand::Adjust(a) => {
            let options = ab::AdjustOptions {
                method: a.method.into(),
                alpha: a.alpha,
            };
            options.validate()?;
            let report = ab::adjust(&ab::parse_p_values(&a.p_values)?, &options)?;
            render(&report, ab::AdjustReport::human, true)
        }
        AbCommand::Sequential(a) => {
            let options = ab::SequentialOptions {
                method: match a.method {
                    SequentialMethodArg::Msprt => SequentialMethod::Msprt,
                    SequentialMethodArg::Obf => SequentialMethod::Obf,
                },
                alpha: a.alpha,
                tau: a.tau,
                look_every: ab::parse_count("--look-every", &a.look_every)?,
                max_events: (a.max_events.as_deref())
                    .map(|t| ab::parse_count("--max-events", t))
                    .transpose()?,
            };
            options.validate()?;
            if let Some(metric) = &a.metric {
                let events = ab::read_metric_events(&a.events, metric)?;
                let report = ab::sequential_means(&events, metric, &options)?;
                return render(&report, ab::MeansSequentialReport::human, true);
            }
            let events = ab::read_events(&a.events)?;
            let report = ab::sequential(&events, &options)?;
            render(&report, ab::SequentialReport::human, true)
        }
    }
}
