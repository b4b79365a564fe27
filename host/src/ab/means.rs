//! `mlprobe ab ttest`: A/B tests of a metric's mean per unit (latency, revenue per user), from
//! a table of units streamed in constant memory or from summary statistics.
//!
//! - Welch's t-test of every treatment against the control ([`mlprobe_core::means`]), with
//!   p-values adjusted over the comparisons (Holm by default) and, with three arms or more,
//!   Welch's ANOVA as the omnibus test.
//! - With a covariate (the same unit's pre-experiment value), CUPED: the comparisons are of
//!   the adjusted metric, each with the share of variance the adjustment removed.
//! - Guardrails ([`Guardrail`]): other metrics of the same table, each tested for
//!   non-inferiority against its margin; a failed one makes the report fail (exit 1).
//!
//! The table of units is read by [`super::units::read_arms`], in one streamed pass.

use super::units::{Arms, TableSpec};
use super::usage;
use crate::error::{Error, Result};
use mlprobe_core::abtest::{AbError, Alternative, Correction, adjust};
use mlprobe_core::means::{
    CoMoments, Cuped, MeanSummary, MeanTest, variance_reduction, welch_anova, welch_test,
};
use serde::Serialize;
use std::fmt::Write as _;

/// A guardrail: a metric that must not get worse by more than a margin (`COL:+M` when an
/// increase is worse, `COL:-M` when a decrease is).
#[derive(Clone, Debug, PartialEq)]
pub struct Guardrail {
    /// Its column.
    pub column: String,
    /// The largest tolerated change towards worse, signed: `+5` tolerates an increase of up to
    /// 5 (latency), `-0.5` a decrease of up to 0.5 (revenue).
    pub margin: f64,
}

/// Parses `--guardrail COL:+M` or `COL:-M` (the sign says which way is worse).
pub fn parse_guardrail(text: &str) -> Result<Guardrail> {
    let bad = |why: &str| {
        usage(
            "--guardrail",
            format!(
                "{why} in '{text}': expected COL:+MARGIN (an increase is worse, e.g. \
                 latency_ms:+5) or COL:-MARGIN (a decrease is worse, e.g. revenue:-0.5)"
            ),
        )
    };
    let Some((column, margin)) = text.rsplit_once(':') else {
        return Err(bad("no ':'"));
    };
    let margin = margin.trim();
    if column.is_empty() {
        return Err(bad("no column"));
    }
    if !margin.starts_with(['+', '-']) {
        return Err(bad("the margin needs a sign"));
    }
    match margin.parse::<f64>() {
        Ok(m) if m.is_finite() => Ok(Guardrail {
            column: column.to_string(),
            margin: m,
        }),
        _ => Err(bad("the margin is not a finite number")),
    }
}

/// Parses `--control-summary MEAN,SD,N`.
pub fn parse_summary(flag: &str, text: &str) -> Result<MeanSummary> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let bad = || {
        usage(
            flag,
            format!("expected MEAN,SD,N (e.g. 12.5,3.1,1000), got '{text}'"),
        )
    };
    let [mean, sd, n] = parts[..] else {
        return Err(bad());
    };
    let (Ok(mean), Ok(sd), Ok(n)) = (mean.parse::<f64>(), sd.parse::<f64>(), n.parse::<u64>())
    else {
        return Err(bad());
    };
    MeanSummary::from_sd(mean, sd, n).map_err(|e| usage(flag, e))
}

/// Options of [`ttest()`].
#[derive(Clone, Debug, PartialEq)]
pub struct TtestOptions {
    /// The control's variant name (`--control`; default `control`, else the first variant).
    pub control: Option<String>,
    /// Significance level (`--alpha`).
    pub alpha: f64,
    /// The alternative about treatment − control (`--alternative`).
    pub alternative: Alternative,
    /// The correction over several treatments (`--adjust`).
    pub adjust: Correction,
}

impl Default for TtestOptions {
    fn default() -> Self {
        Self {
            control: None,
            alpha: 0.05,
            alternative: Alternative::TwoSided,
            adjust: Correction::Holm,
        }
    }
}

/// One arm in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmReport {
    /// The variant.
    pub name: String,
    /// Units with a value.
    pub n: u64,
    /// The metric's mean.
    pub mean: f64,
    /// Its sample standard deviation.
    pub sd: f64,
}

/// One treatment against the control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The treatment's variant.
    pub treatment: String,
    /// `mean_t - mean_c` (of the adjusted metric with CUPED).
    pub difference: f64,
    /// Its standard error.
    pub se: f64,
    /// Welch's t.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// The p-value.
    pub p_value: f64,
    /// The p-value adjusted over the comparisons (`adjust`).
    pub p_adjusted: f64,
    /// `p_adjusted < alpha`.
    pub significant: bool,
    /// The interval of the difference at `1 - alpha` (`null`: unbounded, one-sided).
    pub ci: [Option<f64>; 2],
    /// `mean_t / mean_c - 1`; `null` when the control's mean is 0.
    pub relative_lift: Option<f64>,
    /// Its delta-method interval.
    pub relative_ci: Option<[Option<f64>; 2]>,
    /// With CUPED: the share of the difference's variance removed.
    pub variance_reduction: Option<f64>,
}

/// A guardrail's non-inferiority test for one treatment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GuardrailReport {
    /// The guardrail's column.
    pub metric: String,
    /// The treatment.
    pub treatment: String,
    /// The tolerated change towards worse (signed).
    pub margin: f64,
    /// `mean_t - mean_c`.
    pub difference: f64,
    /// The one-sided interval at `1 - alpha` bounding the change towards worse.
    pub ci: [Option<f64>; 2],
    /// Welch's t against the margin.
    pub t: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// The p-value of "worse by the margin or more".
    pub p_value: f64,
    /// `p_value < alpha`: non-inferiority shown.
    pub passed: bool,
}

/// Welch's ANOVA over every arm.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Omnibus {
    /// Welch's F.
    pub f: f64,
    /// Numerator degrees of freedom.
    pub df1: f64,
    /// Denominator degrees of freedom.
    pub df2: f64,
    /// `P(F > f)`.
    pub p_value: f64,
}

/// CUPED's fit in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CupedReport {
    /// The covariate's column.
    pub covariate: String,
    /// `θ = cov(metric, covariate) / var(covariate)` over every arm.
    pub theta: f64,
}

/// The report of `ab ttest` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TtestReport {
    /// The metric's column (`null` from summaries).
    pub metric: Option<String>,
    /// Data rows read (`null` from summaries).
    pub rows: Option<u64>,
    /// Rows left out for a missing variant, metric or covariate.
    pub skipped_rows: Option<u64>,
    /// The significance level.
    pub alpha: f64,
    /// `two-sided`, `larger` or `smaller`.
    pub alternative: &'static str,
    /// `bonferroni`, `holm` or `bh`.
    pub adjust: &'static str,
    /// The control's variant.
    pub control: String,
    /// Every arm, control first (the raw metric).
    pub arms: Vec<ArmReport>,
    /// CUPED's fit, with `--covariate`.
    pub cuped: Option<CupedReport>,
    /// Each treatment against the control.
    pub comparisons: Vec<Comparison>,
    /// Welch's ANOVA, with three arms or more (`null` also when an arm has no spread: its
    /// weight `n/s²` is infinite).
    pub omnibus: Option<Omnibus>,
    /// The guardrails' tests.
    pub guardrails: Vec<GuardrailReport>,
    /// Every guardrail passed (`true` without any).
    pub guardrails_passed: bool,
}

/// The report's flag for a core error of these tests.
pub(super) fn means_error(flag: &str, e: AbError) -> Error {
    match e {
        AbError::AlphaOutOfRange => usage("--alpha", e),
        _ => usage(flag, e),
    }
}

/// The p-values adjusted over the comparisons, as `options.adjust` says.
pub(super) fn adjusted_p(p: &[f64], options: &TtestOptions, flag: &str) -> Result<Vec<f64>> {
    let m = p.len();
    let (mut order, mut adjusted, mut rejected) = (vec![0; m], vec![0.0; m], vec![false; m]);
    adjust(
        options.adjust,
        p,
        options.alpha,
        &mut order,
        &mut adjusted,
        &mut rejected,
    )
    .map_err(|e| means_error(flag, e))?;
    Ok(adjusted)
}

/// `[low, high]` with infinite ends as `null`.
pub(super) fn bounds((lo, hi): (f64, f64)) -> [Option<f64>; 2] {
    let f = |v: f64| v.is_finite().then_some(v);
    [f(lo), f(hi)]
}

fn arm_report(name: &str, s: &MeanSummary) -> ArmReport {
    ArmReport {
        name: name.to_string(),
        n: s.n as u64,
        mean: s.absolute_mean(),
        sd: s.variance.sqrt(),
    }
}

/// Tests summaries (control first, then the treatments): the comparisons, adjusted, and the
/// omnibus test. `raw` are the unadjusted arms when `tested` are CUPED's.
fn compare(
    names: &[&str],
    tested: &[MeanSummary],
    raw: Option<&[MeanSummary]>,
    options: &TtestOptions,
    flag: &str,
) -> Result<(Vec<Comparison>, Option<Omnibus>)> {
    let control = &tested[0];
    let tests: Vec<MeanTest> = (tested[1..].iter())
        .map(|t| welch_test(control, t, 0.0, options.alpha, options.alternative))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| means_error(flag, e))?;
    let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
    let adjusted = adjusted_p(&p, options, flag)?;
    let comparisons = (tests.iter().enumerate())
        .map(|(i, t)| Comparison {
            treatment: names[i + 1].to_string(),
            difference: t.difference,
            se: t.se,
            t: t.t,
            df: t.df,
            p_value: t.p_value,
            p_adjusted: adjusted[i],
            significant: adjusted[i] < options.alpha,
            ci: bounds(t.ci),
            relative_lift: t.relative_lift,
            relative_ci: t.relative_ci.map(bounds),
            variance_reduction: raw
                .map(|r| variance_reduction(&r[0], &r[i + 1], control, &tested[i + 1])),
        })
        .collect();
    // Undefined (None) with an arm without spread: Welch's weights n/s² are infinite.
    let omnibus = if tested.len() >= 3 {
        welch_anova(tested).ok().map(|a| Omnibus {
            f: a.f,
            df1: a.df1,
            df2: a.df2,
            p_value: a.p_value,
        })
    } else {
        None
    };
    Ok((comparisons, omnibus))
}

/// `ab ttest` from two summaries.
pub fn ttest_summaries(
    control: &MeanSummary,
    treatment: &MeanSummary,
    options: &TtestOptions,
) -> Result<TtestReport> {
    let names = ["control", "treatment"];
    let tested = [*control, *treatment];
    let (comparisons, omnibus) = compare(&names, &tested, None, options, "--treatment-summary")?;
    Ok(TtestReport {
        metric: None,
        rows: None,
        skipped_rows: None,
        alpha: options.alpha,
        alternative: options.alternative.as_str(),
        adjust: options.adjust.as_str(),
        control: "control".into(),
        arms: vec![
            arm_report("control", control),
            arm_report("treatment", treatment),
        ],
        cuped: None,
        comparisons,
        omnibus,
        guardrails: Vec::new(),
        guardrails_passed: true,
    })
}

/// `ab ttest` over a table's arms.
pub fn ttest(spec: &TableSpec, table: &Arms, options: &TtestOptions) -> Result<TtestReport> {
    let order = table.control_first(&spec.variant, options.control.as_deref())?;
    let names: Vec<&str> = order.iter().map(|a| a.name.as_str()).collect();
    let raw: Vec<MeanSummary> = order.iter().map(|a| a.metric.summary()).collect();
    table.two_units_each(&order, "--metric")?;
    let metric_flag = format!("--metric {}", spec.metric);
    let (cuped, comparisons, omnibus) = match &spec.covariate {
        Some(cov) => {
            let moments: Vec<CoMoments> = order.iter().map(|a| a.metric).collect();
            let fit =
                Cuped::fit(&moments).map_err(|e| means_error(&format!("--covariate {cov}"), e))?;
            let adjusted: Vec<MeanSummary> = moments.iter().map(|m| fit.adjust(m)).collect();
            let (c, o) = compare(&names, &adjusted, Some(&raw), options, &metric_flag)?;
            let report = CupedReport {
                covariate: cov.clone(),
                theta: fit.theta,
            };
            (Some(report), c, o)
        }
        None => {
            let (c, o) = compare(&names, &raw, None, options, &metric_flag)?;
            (None, c, o)
        }
    };
    let mut guardrails = Vec::new();
    for (g, rail) in spec.guardrails.iter().enumerate() {
        let control = order[0].guardrails[g].summary();
        for arm in &order[1..] {
            let t = arm.guardrails[g].summary();
            // Worse is the margin's direction: H0 "changed by the margin or more that way".
            let alternative = if rail.margin >= 0.0 {
                Alternative::Smaller
            } else {
                Alternative::Larger
            };
            let r = welch_test(&control, &t, rail.margin, options.alpha, alternative)
                .map_err(|e| means_error(&format!("--guardrail {}", rail.column), e))?;
            guardrails.push(GuardrailReport {
                metric: rail.column.clone(),
                treatment: arm.name.clone(),
                margin: rail.margin,
                difference: r.difference,
                ci: bounds(r.ci),
                t: r.t,
                df: r.df,
                p_value: r.p_value,
                passed: r.significant,
            });
        }
    }
    Ok(TtestReport {
        metric: Some(spec.metric.clone()),
        rows: Some(table.rows),
        skipped_rows: Some(table.skipped),
        alpha: options.alpha,
        alternative: options.alternative.as_str(),
        adjust: options.adjust.as_str(),
        control: names[0].to_string(),
        arms: names
            .iter()
            .zip(&raw)
            .map(|(n, s)| arm_report(n, s))
            .collect(),
        cuped,
        guardrails_passed: guardrails.iter().all(|g| g.passed),
        comparisons,
        omnibus,
        guardrails,
    })
}

impl TtestReport {
    /// Exit 0 unless a guardrail failed.
    pub fn passed(&self) -> bool {
        self.guardrails_passed
    }

    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let what = self.metric.as_deref().unwrap_or("the metric");
        let _ = writeln!(
            s,
            "Welch's t-test of {what} ({}, {} over {} comparison(s))",
            self.alternative,
            self.adjust,
            self.comparisons.len()
        );
        if let (Some(rows), Some(skipped)) = (self.rows, self.skipped_rows) {
            let _ = writeln!(s, "  {rows} rows, {skipped} left out (a value missing)");
        }
        for a in &self.arms {
            let role = if a.name == self.control {
                " (control)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {:<12} n = {:>9}  mean = {:.6}  sd = {:.6}{role}",
                a.name, a.n, a.mean, a.sd
            );
        }
        if let Some(c) = &self.cuped {
            let _ = writeln!(s, "  CUPED on {}: theta = {:.6}", c.covariate, c.theta);
        }
        let pct = 100.0 * (1.0 - self.alpha);
        let end = |v: Option<f64>, inf: &str| v.map_or(inf.to_string(), |v| format!("{v:.6}"));
        for c in &self.comparisons {
            let _ = writeln!(s, "  {} − {}:", c.treatment, self.control);
            let _ = writeln!(
                s,
                "    difference {:+.6}, {pct:.0}% CI [{}, {}]",
                c.difference,
                end(c.ci[0], "-inf"),
                end(c.ci[1], "+inf")
            );
            if let (Some(l), Some(ci)) = (c.relative_lift, c.relative_ci) {
                let _ = writeln!(
                    s,
                    "    relative lift {:+.2}%, CI [{}, {}] (delta method)",
                    100.0 * l,
                    ci[0].map_or("-inf".into(), |v| format!("{:+.2}%", 100.0 * v)),
                    ci[1].map_or("+inf".into(), |v| format!("{:+.2}%", 100.0 * v)),
                );
            }
            if let Some(v) = c.variance_reduction {
                let _ = writeln!(s, "    variance reduced by {:.1}% (CUPED)", 100.0 * v);
            }
            let _ = writeln!(
                s,
                "    t = {:.4}, df = {:.1}, p = {:.6}, adjusted p = {:.6}: {}",
                c.t,
                c.df,
                c.p_value,
                c.p_adjusted,
                if c.significant {
                    "significant"
                } else {
                    "not significant"
                }
            );
        }
        if let Some(o) = &self.omnibus {
            let _ = writeln!(
                s,
                "  Welch's ANOVA: F = {:.4} on {:.0} and {:.1} df, p = {:.6}",
                o.f, o.df1, o.df2, o.p_value
            );
        }
        for g in &self.guardrails {
            let _ = writeln!(
                s,
                "  guardrail {} ({}): change {:+.6}, tolerated {:+}, p = {:.6}: {}",
                g.metric,
                g.treatment,
                g.difference,
                g.margin,
                g.p_value,
                if g.passed { "passed" } else { "FAILED" }
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_name_themselves() {
        let g = parse_guardrail("latency_ms:+5").unwrap();
        assert_eq!((g.column.as_str(), g.margin), ("latency_ms", 5.0));
        assert_eq!(parse_guardrail("a:b:-0.5").unwrap().column, "a:b");
        for bad in ["latency", "latency:5", ":+1", "x:+inf", "x:+y"] {
            let e = parse_guardrail(bad).unwrap_err().to_string();
            assert!(e.starts_with("--guardrail"), "{e}");
        }
        let s = parse_summary("--control-summary", "10, 2, 50").unwrap();
        assert_eq!((s.n, s.absolute_mean(), s.variance), (50.0, 10.0, 4.0));
        for bad in ["10,2", "10,2,1", "10,-1,5", "a,2,5", "10,2,5.5"] {
            let e = parse_summary("--control-summary", bad)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("--control-summary"), "{e}");
        }
    }
}
