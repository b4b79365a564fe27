//! The model stages of the pipeline: expectations, training, the gate, and the A/B comparison
//! of the previous model with the new one. Each calls the library of its subcommand with typed
//! options.

use super::{Config, RunOptions, State, json, skipped, verdict};
use crate::ab::bayes;
use crate::error::{Error, Result};
use crate::eval::{self, Baseline, Policy, Predicate};
use crate::report::{
    BetaParams, Case, LatencyChart, Line, Posteriors, Report, StageStatus, Status, Suite as Stage,
};
use crate::{compare, model_io, suite::Suite, train};
use mlprobe_core::abtest::{self, Variant};
use std::path::Path;

pub(super) fn stage_expect(cfg: &Config) -> Result<Stage> {
    let Some(suite_path) = &cfg.suite else {
        return Ok(Stage {
            properties: Vec::new(),
            name: "expect".into(),
            status: Some(StageStatus::Skipped),
            duration_s: 0.0,
            summary: "no expectation suite configured".into(),
            cases: Vec::new(),
            notes: vec!["set `suite = \"FILE.toml\"` (write one with `mlprobe profile`)".into()],
            details: serde_json::Value::Null,
        });
    };
    let suite = Suite::load(suite_path)?;
    let v = crate::expect::validate(&suite, &cfg.data, Default::default())?;
    let checks: Vec<Case> = v
        .results
        .iter()
        .map(|r| {
            Case::check(
                match &r.column {
                    Some(c) => format!("{} ({c})", r.expectation_type),
                    None => r.expectation_type.clone(),
                },
                r.success,
                serde_json::to_string(&r.result).unwrap_or_default(),
            )
        })
        .collect();
    Ok(Stage {
        properties: Vec::new(),
        name: "expect".into(),
        status: Some(verdict(&checks)),
        duration_s: 0.0,
        summary: format!(
            "{} rows against suite `{}`: {} of {} expectations met",
            v.rows, v.suite, v.statistics.successful, v.statistics.evaluated
        ),
        cases: checks,
        notes: Vec::new(),
        details: json(&v),
    })
}

pub(super) fn stage_train(
    cfg: &Config,
    out: &Path,
    state: &mut State,
    report: &mut Report,
) -> Result<Stage> {
    let t = &cfg.train;
    let args = train::TrainOptions {
        data: cfg.data.clone(),
        label: cfg.label.clone(),
        hidden: t.hidden.iter().map(|&h| h.into()).collect(),
        features: None,
        epochs: t.epochs,
        lr: t.lr,
        batch: t.batch as usize,
        seed: t.seed,
        split_seed: t.split_seed,
        test_split: t.test_split,
        val_split: t.val_split,
        fill: mlprobe_core::transform::Fill::Mean,
        tol: t.tol,
        n_iter_no_change: 10,
        out: out.join("model.mlpb"),
    };
    let fitted = train::fit(&args)?;
    let r = &fitted.report;
    let d = fitted.model.dims();
    // Training loss and accuracy are the epoch's running figures on the rows fitted on; the
    // validation figures are the weights' after the epoch (none with a val_split of 0).
    let curve = |name: &str, value: &dyn Fn(&train::EpochRecord) -> Option<f32>| Line {
        name: name.into(),
        points: fitted
            .history
            .iter()
            .filter_map(|e| value(e).map(|v| (e.epoch as f64, f64::from(v))))
            .collect(),
    };
    report.charts.training = [
        curve("loss (training rows)", &|e| Some(e.loss)),
        curve("loss (validation rows)", &|e| e.val_loss),
        curve("accuracy (training rows)", &|e| Some(e.accuracy)),
        curve("accuracy (validation rows)", &|e| e.val_accuracy),
    ]
    .into_iter()
    .filter(|l| !l.points.is_empty())
    .collect();
    let best = match (r.best_epoch, r.val_accuracy) {
        (Some(e), Some(a)) => format!(", best epoch {e} (validation accuracy {a:.4})"),
        _ => String::new(),
    };
    let summary = format!(
        "{d} on {} rows ({} of them for validation, {} held out), {} epochs ({}){best}, \
         final loss {:.4}, held-out accuracy {:.4}",
        fitted.split.train.len(),
        r.val_rows,
        fitted.split.test.len(),
        r.epochs,
        r.stop_reason.describe(),
        r.final_loss,
        r.test.as_ref().map_or(f64::NAN, |t| t.accuracy)
    );
    // The least a model that learned anything does: beat always predicting the commonest
    // class of the rows it was trained on.
    let mut counts = [0usize; 256];
    if let Some(labels) = &fitted.data.labels {
        for &i in &fitted.split.train {
            counts[usize::from(labels[i])] += 1;
        }
    }
    let share = counts
        .iter()
        .max()
        .map_or(0.0, |&m| m as f64 / fitted.split.train.len().max(1) as f64);
    let checks = vec![Case::check(
        format!("training accuracy above the commonest class's share ({share:.4})"),
        r.train_accuracy > share,
        format!("training accuracy {:.4}", r.train_accuracy),
    )];
    let details = json(r);
    state.model_path = args.out.clone();
    state.fitted = Some(fitted);
    Ok(Stage {
        properties: Vec::new(),
        name: "train".into(),
        status: Some(verdict(&checks)),
        duration_s: 0.0,
        summary,
        cases: checks,
        notes: Vec::new(),
        details,
    })
}

fn checks_of(r: &crate::report::Report) -> Vec<Case> {
    r.suites
        .iter()
        .flat_map(|s| {
            s.cases.iter().map(move |c| {
                Case::check(
                    if s.name.is_empty() {
                        c.name.clone()
                    } else {
                        format!("{}: {}", s.name, c.name)
                    },
                    c.is_ok(),
                    match &c.status {
                        Status::Failed { message, .. } | Status::Error { message, .. } => {
                            message.clone()
                        }
                        _ => c.summary.clone(),
                    },
                )
            })
        })
        .collect()
}

pub(super) fn stage_eval(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Stage> {
    let fitted = state
        .fitted
        .as_ref()
        .ok_or_else(|| Error::Usage("no model: the train stage failed".into()))?;
    let mut policy = match &cfg.gate.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    for s in &cfg.gate.slices {
        let p: Predicate = s.parse()?;
        if !policy.slices.iter().any(|q| q.expr == p.expr) {
            policy.slices.push(p);
        }
    }
    let samples = cfg.gate.latency_samples.unwrap_or(10_000).max(1);
    let rows = &fitted.split.test;
    let mut notes = Vec::new();
    let baseline = match (&cfg.gate.baseline, &state.previous) {
        (Some(p), _) => Some(Baseline::load(p)?),
        (None, Some(prev)) => {
            let held_out = model_io::bind(prev, fitted.data.clone())?;
            let g = eval::evaluate_gated(prev, &held_out, rows, &cfg.label, &policy, None, 1)?;
            notes.push("baseline: the previous model's metrics on the same held-out rows".into());
            Some(eval::baseline_of(&g.overall, &g.slice_metrics, false))
        }
        (None, None) => {
            notes.push("no baseline file and no previous model: regression not checked".into());
            None
        }
    };
    let g = eval::evaluate_gated(
        &fitted.model,
        &fitted.data,
        rows,
        &cfg.label,
        &policy,
        baseline.as_ref(),
        samples,
    )?;
    report.charts.confusion = g.report.confusion.clone();
    // A model's evaluation always measures latency (only a predictions file has none).
    let l = g.report.latency_us.clone().unwrap_or_default();
    report.charts.latency.push(LatencyChart {
        target: "host".into(),
        unit: "µs".into(),
        percentiles: vec![
            ("p50".into(), l.p50),
            ("p95".into(), l.p95),
            ("p99".into(), l.p99),
            ("p99.9".into(), l.p999),
            ("max".into(), l.max),
        ],
        histogram: latency_histogram(&fitted.model, &fitted.data, rows, samples)?,
    });
    let checks = checks_of(&g.gate.to_report("eval"));
    let summary = format!(
        "{} held-out rows: accuracy {:.4}, macro F1 {:.4}, p99 {:.2} µs; {} of {} checks passed",
        g.report.n,
        g.report.accuracy,
        g.report.f1_macro,
        l.p99,
        checks.iter().filter(|c| c.is_ok()).count(),
        checks.len()
    );
    Ok(Stage {
        properties: Vec::new(),
        name: "eval".into(),
        status: Some(if g.gate.passed() {
            StageStatus::Passed
        } else {
            StageStatus::Failed
        }),
        duration_s: 0.0,
        summary,
        cases: checks,
        notes,
        details: json(&g.report),
    })
}

/// A histogram of single-row latency on the host (µs), from the same sketch the gate uses.
fn latency_histogram(
    model: &model_io::HostModel,
    data: &crate::data::Dataset,
    rows: &[usize],
    samples: usize,
) -> Result<Vec<(f64, u64)>> {
    let sketch = eval::measure_latency(model, data, rows, samples)?;
    let p999 = sketch.quantile(0.999).unwrap_or(0);
    let lo = sketch.min().unwrap_or(0);
    // 24 equal-width bins between the minimum and p99.9 (the rest in the last bin).
    let width = (f64::from(p999.saturating_sub(lo)) / 24.0).max(1.0);
    let mut bins = [0u64; 24];
    for (low, high, count) in sketch.buckets() {
        let mid = low / 2 + high / 2;
        let k = (f64::from(mid.saturating_sub(lo)) / width) as usize;
        bins[k.min(23)] += u64::from(count);
    }
    Ok(bins
        .iter()
        .enumerate()
        .map(|(k, &c)| ((f64::from(lo) + width * (k + 1) as f64) / 1000.0, c))
        .collect())
}

pub(super) fn stage_ab(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Stage> {
    let (Some(prev), Some(fitted)) = (&state.previous, &state.fitted) else {
        return Ok(skipped(
            "ab",
            "no previous model to compare with",
            "set [ab] previous = \"MODEL\"".into(),
        ));
    };
    let rows = &fitted.split.test;
    let (old, mut nonfinite) = eval::predicted(prev, &fitted.data, rows)?;
    let (new, bad) = eval::predicted(&fitted.model, &fitted.data, rows)?;
    nonfinite.extend(bad);
    let alpha = cfg.ab.alpha.unwrap_or(0.05);
    // Rows a model cannot score are the eval stage's to report; here they are left out.
    let settings = compare::Settings {
        alpha,
        margin: cfg.ab.margin,
        slices: Vec::new(),
        allow_nonfinite: true,
    };
    let cmp = compare::compare_predictions(
        &fitted.data,
        &cfg.label,
        rows,
        &old,
        &new,
        nonfinite,
        &settings,
    )?;
    let n = cmp.n;
    let (c_prev, c_new) = (cmp.baseline.correct, cmp.candidate.correct);
    let ab_err = |e: abtest::AbError| Error::Usage(format!("A/B analysis: {e}"));
    let control = Variant::from_counts(c_prev, n).map_err(ab_err)?;
    let treatment = Variant::from_counts(c_new, n).map_err(ab_err)?;
    let bayes = bayes::analyze(
        &control,
        &treatment,
        &bayes::BayesOptions {
            seed: cfg.train.seed,
            ..bayes::BayesOptions::default()
        },
    )
    .map_err(|e| Error::Usage(format!("A/B analysis: {e}")))?;
    report.charts.posteriors = Some(Posteriors {
        control: (
            "previous".into(),
            BetaParams {
                alpha: bayes.control.posterior.alpha,
                beta: bayes.control.posterior.beta,
            },
        ),
        treatment: (
            "new".into(),
            BetaParams {
                alpha: bayes.treatment.posterior.alpha,
                beta: bayes.treatment.posterior.beta,
            },
        ),
    });
    let (b, c) = (cmp.discordant.baseline_only, cmp.discordant.candidate_only);
    let mut checks = vec![Case::check(
        "new model not significantly worse than the previous one",
        !cmp.significantly_worse,
        format!(
            "McNemar exact p = {:.4} at alpha {alpha}: previous alone right on {b} rows, new \
             alone on {c}",
            cmp.mcnemar.exact_p_value
        ),
    )];
    let [low, high] = cmp.difference.ci;
    if let Some(m) = cmp.margin {
        checks.push(Case::check(
            format!("new model non-inferior at margin {m}"),
            cmp.non_inferior,
            format!("accuracy difference's interval [{low:+.4}, {high:+.4}] against -{m}"),
        ));
    }
    let summary = format!(
        "paired on {n} held-out rows: previous {c_prev} vs new {c_new} correct, discordant {b} \
         vs {c}, McNemar exact p = {:.4}, difference {:+.4} [{low:+.4}, {high:+.4}]",
        cmp.mcnemar.exact_p_value, cmp.difference.estimate
    );
    Ok(Stage {
        properties: Vec::new(),
        name: "ab".into(),
        status: Some(verdict(&checks)),
        duration_s: 0.0,
        summary,
        cases: checks,
        notes: vec![
            "paired comparison (mlprobe compare): both models predict the same held-out rows, \
             so McNemar's test on the rows only one gets right, not a z-test of independent \
             groups"
                .into(),
            "posteriors: each model's accuracy on its own (Beta, uniform prior)".into(),
        ],
        details: serde_json::json!({
            "compare": json(&cmp),
            "bayes": json(&bayes),
        }),
    })
}
