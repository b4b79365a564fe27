//! Comparing two models on the same rows (`mlprobe compare`, and the `ab` stage of
//! `mlprobe run`): may the candidate replace the baseline?
//!
//! Both models predict every row, so the comparison is paired: the statistics are core's
//! ([`mlprobe_core::paired`]: McNemar's test, exact and with continuity correction, as
//! statsmodels computes them; Newcombe's hybrid score interval for the difference in accuracy;
//! the non-inferiority verdict). This module reads the models or their predictions, lines their
//! rows up with the data, and reports the whole table, per class and per slice, and the rows
//! where the two disagree.
//!
//! Each side is a model file of ours or a predictions file (`mlprobe eval --predictions`'s
//! format: the label column, `prediction`, optional `p_k` columns), told apart by the model
//! file's magic bytes. A predictions file must list the data's rows in the same order with the
//! same labels; with two predictions files `--data` may be left out (the baseline's file then
//! holds the rows and the slice columns).
//!
//! ```no_run
//! use mlprobe::compare::{CompareOptions, compare};
//! let mut opts = CompareOptions::new("wine_v1.mlpb", "wine_v2.mlpb");
//! opts.data = Some("data/wine.csv".into());
//! opts.settings.margin = Some(0.02);
//! let report = compare(&opts)?;
//! println!("{}", report.human());
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::eval::{NonFiniteRows, Predicate, Predictions, predicted, slice_rows};
use crate::model_io::{self, HostModel};
use crate::output;
use mlprobe_core::abtest::AbError;
use mlprobe_core::model::MAGIC;
use mlprobe_core::paired::{self, PairedCounts};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The interval method's name in reports.
pub const CI_METHOD: &str =
    "Newcombe hybrid score for paired proportions (Newcombe 1998, method 10)";

/// What to compare, and how.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// The model in place (a model file or a predictions file).
    pub baseline: PathBuf,
    /// The model that would replace it.
    pub candidate: PathBuf,
    /// The labelled rows both are scored on; needed when a side is a model.
    pub data: Option<PathBuf>,
    /// Name of the label column (`label`).
    pub label: String,
    /// The test's settings.
    pub settings: Settings,
    /// Where to write the rows the two predict differently (`--disagreements`).
    pub disagreements: Option<PathBuf>,
}

/// The statistical settings of a comparison.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Significance level of McNemar's test; the interval is at `1 − alpha` (0.05).
    pub alpha: f64,
    /// Non-inferiority margin on the accuracy difference, in `[0, 1)` (0.01); `None` leaves
    /// non-inferiority out of the verdict (reported, not gated: the `run` stage's default).
    pub margin: Option<f64>,
    /// Subgroups reported on their own.
    pub slices: Vec<Predicate>,
    /// Pass when rows were left out because a model's features or logits are not finite.
    pub allow_nonfinite: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            margin: Some(0.01),
            slices: Vec::new(),
            allow_nonfinite: false,
        }
    }
}

impl CompareOptions {
    /// `baseline` against `candidate` with `mlprobe compare`'s defaults.
    pub fn new(baseline: impl Into<PathBuf>, candidate: impl Into<PathBuf>) -> Self {
        Self {
            baseline: baseline.into(),
            candidate: candidate.into(),
            data: None,
            label: "label".into(),
            settings: Settings::default(),
            disagreements: None,
        }
    }

    fn inputs(&self) -> Vec<&Path> {
        let mut v = vec![self.baseline.as_path(), self.candidate.as_path()];
        v.extend(self.data.as_deref());
        v
    }
}

/// One model's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// The file it came from (`null` in the `run` stage's in-memory comparison).
    pub file: Option<String>,
    /// `model` or `predictions`.
    pub kind: &'static str,
    /// Rows it got right.
    pub correct: u64,
    /// Its accuracy on the compared rows.
    pub accuracy: f64,
}

/// The discordant pairs.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Discordant {
    /// Rows only the baseline got right (`b`).
    pub baseline_only: u64,
    /// Rows only the candidate got right (`c`).
    pub candidate_only: u64,
}

/// McNemar's test.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct McNemarJson {
    /// Exact (binomial) two-sided p-value.
    pub exact_p_value: f64,
    /// Chi-square with continuity correction; `null` without discordant rows.
    pub chi2: Option<f64>,
    /// Its p-value (one degree of freedom).
    pub chi2_p_value: Option<f64>,
}

/// The accuracy difference, candidate minus baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Difference {
    /// `(c − b) / n`.
    pub estimate: f64,
    /// `[low, high]` at `level`.
    pub ci: [f64; 2],
    /// `1 − alpha`.
    pub level: f64,
    /// [`CI_METHOD`].
    pub method: &'static str,
}

/// The paired figures of a group of rows (a class, a slice).
#[derive(Clone, Debug, Serialize)]
pub struct GroupStats {
    /// Rows in the group.
    pub n: u64,
    /// Baseline accuracy (`null` for an empty group).
    pub baseline_accuracy: Option<f64>,
    /// Candidate accuracy.
    pub candidate_accuracy: Option<f64>,
    /// Candidate minus baseline.
    pub difference: Option<f64>,
    /// Its interval at `1 − alpha`.
    pub ci: Option<[f64; 2]>,
    /// Rows only the baseline got right.
    pub baseline_only: u64,
    /// Rows only the candidate got right.
    pub candidate_only: u64,
    /// McNemar's exact p-value within the group.
    pub exact_p_value: f64,
}

/// A class's figures: the rows whose true class it is (accuracy there is recall).
#[derive(Clone, Debug, Serialize)]
pub struct ClassDiff {
    /// The class number.
    pub label: usize,
    /// Its figures.
    #[serde(flatten)]
    pub stats: GroupStats,
}

/// A slice's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SliceDiff {
    /// The expression.
    pub slice: String,
    /// Its figures.
    #[serde(flatten)]
    pub stats: GroupStats,
}

/// The comparison: the contract of `mlprobe compare --json`.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    /// Rows compared (both models scored them).
    pub n: u64,
    /// Rows left out: a model's features or logits were not finite.
    pub nonfinite_rows: usize,
    /// Share of rows where both predicted the same class.
    pub agreement: f64,
    /// The model in place.
    pub baseline: Side,
    /// The model that would replace it.
    pub candidate: Side,
    /// Rows both got right and rows both got wrong.
    pub concordant: [u64; 2],
    /// The discordant pairs.
    pub discordant: Discordant,
    /// McNemar's test.
    pub mcnemar: McNemarJson,
    /// Candidate minus baseline accuracy, with its interval.
    pub difference: Difference,
    /// Significance level.
    pub alpha: f64,
    /// Non-inferiority margin (`null`: not gated).
    pub margin: Option<f64>,
    /// The interval's lower end is above `−margin`.
    pub non_inferior: bool,
    /// McNemar's exact test rejects at `alpha` and the baseline wins more discordant rows.
    pub significantly_worse: bool,
    /// Per true class.
    pub per_class: Vec<ClassDiff>,
    /// Per slice.
    pub slices: Vec<SliceDiff>,
    /// Rows the two predicted differently.
    pub disagreeing_rows: u64,
    /// Where those rows were written.
    pub disagreements: Option<String>,
    /// The verdict: not significantly worse, non-inferior (when a margin is set), no rows
    /// left out (unless allowed).
    pub passed: bool,
    /// Why not.
    pub violations: Vec<String>,
    /// The rows left out, with the reason (indices into the data).
    #[serde(skip)]
    pub nonfinite: NonFiniteRows,
    /// Indices of the disagreeing rows, with both predictions.
    #[serde(skip)]
    pub disagreeing: Vec<(usize, usize, usize)>,
}

/// A side, read.
enum Loaded {
    Model(Box<HostModel>),
    Predictions(Box<Predictions>),
}

impl Loaded {
    fn kind(&self) -> &'static str {
        match self {
            Self::Model(_) => "model",
            Self::Predictions(_) => "predictions",
        }
    }
}

/// True when `path` starts with a model file's magic bytes, or is not text (then the model
/// reader says what is wrong with it); a CSV file is a predictions file.
fn is_model_file(path: &Path) -> Result<bool> {
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    if head.starts_with(&MAGIC) {
        return Ok(true);
    }
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    // Text: no NUL, and UTF-8 up to a character the 512 bytes may have cut.
    let text = !head.contains(&0)
        && match std::str::from_utf8(&head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
    Ok(!(csv || text))
}

fn load_side(path: &Path, label: &str) -> Result<Loaded> {
    Ok(if is_model_file(path)? {
        Loaded::Model(Box::new(model_io::load(path)?))
    } else {
        Loaded::Predictions(Box::new(Predictions::load(path, label)?))
    })
}

/// The class `side` predicts for each row of `data` (`None`: not finite, with the reason in
/// `nonfinite`). A predictions file must hold the data's rows, in order, with its labels.
fn predictions_on(
    side: &Loaded,
    data: &Dataset,
    label: &str,
    nonfinite: &mut NonFiniteRows,
) -> Result<Vec<Option<usize>>> {
    match side {
        Loaded::Model(model) => {
            let bound = model_io::bind(model, data.clone())?;
            let rows: Vec<usize> = (0..bound.rows()).collect();
            let (p, bad) = predicted(model, &bound, &rows)?;
            nonfinite.extend(bad);
            Ok(p)
        }
        Loaded::Predictions(p) => {
            let path = &p.data.path;
            if p.labels.len() != data.rows() {
                return Err(Error::File {
                    path: path.clone(),
                    message: format!(
                        "{} rows, but {} has {}: a predictions file lists the data's rows in \
                         the same order",
                        p.labels.len(),
                        data.path.display(),
                        data.rows()
                    ),
                });
            }
            let labels = data.labels.as_deref().unwrap_or_default();
            if let Some(i) = (0..labels.len()).find(|&i| labels[i] != p.labels[i]) {
                return Err(Error::Parse {
                    path: path.clone(),
                    line: p.data.lines[i],
                    column: p.data.label_column.unwrap_or(1),
                    message: format!(
                        "`{label}` is {} here but {} on line {} of {}: a predictions file \
                         lists the data's rows in the same order",
                        p.labels[i],
                        labels[i],
                        data.lines[i],
                        data.path.display()
                    ),
                });
            }
            Ok(p.predicted.iter().map(|&k| Some(usize::from(k))).collect())
        }
    }
}

/// Compares two models (or their predictions) on the same labelled rows; writes the
/// disagreeing rows when asked. `passed` and `violations` carry the verdict.
pub fn compare(opts: &CompareOptions) -> Result<CompareReport> {
    let s = &opts.settings;
    check_settings(s)?;
    if let Some(out) = &opts.disagreements {
        output::check_output(out, &opts.inputs())?;
    }
    let baseline = load_side(&opts.baseline, &opts.label)?;
    let candidate = load_side(&opts.candidate, &opts.label)?;
    let data = match (&opts.data, &baseline, &candidate) {
        (Some(path), _, _) => data::load(path, Labels::Required(&opts.label))?,
        (None, Loaded::Predictions(p), _) | (None, _, Loaded::Predictions(p)) => p.data.clone(),
        (None, Loaded::Model(_), Loaded::Model(_)) => {
            return Err(Error::Usage(
                "--data: needed to run a model (a CSV file with the label column and the \
                 model's features)"
                    .into(),
            ));
        }
    };
    let mut nonfinite = NonFiniteRows::new();
    let base = predictions_on(&baseline, &data, &opts.label, &mut nonfinite)?;
    let cand = predictions_on(&candidate, &data, &opts.label, &mut nonfinite)?;
    let rows: Vec<usize> = (0..data.rows()).collect();
    let mut report = compare_predictions(&data, &opts.label, &rows, &base, &cand, nonfinite, s)?;
    report.baseline.file = Some(opts.baseline.display().to_string());
    report.baseline.kind = baseline.kind();
    report.candidate.file = Some(opts.candidate.display().to_string());
    report.candidate.kind = candidate.kind();
    if let Some(out) = &opts.disagreements {
        write_disagreements(out, &data, &report)?;
        report.disagreements = Some(out.display().to_string());
    }
    Ok(report)
}

fn check_settings(s: &Settings) -> Result<()> {
    if !(s.alpha > 0.0 && s.alpha < 1.0) {
        return Err(Error::Usage(format!(
            "--alpha: {} ({})",
            s.alpha,
            AbError::AlphaOutOfRange
        )));
    }
    if let Some(m) = s.margin
        && !(0.0..1.0).contains(&m)
    {
        return Err(Error::Usage(format!(
            "--margin: {m} ({})",
            AbError::MarginOutOfRange
        )));
    }
    Ok(())
}

fn group(counts: &PairedCounts, alpha: f64) -> GroupStats {
    let ci = paired::newcombe(counts, alpha).ok();
    GroupStats {
        n: counts.n(),
        baseline_accuracy: counts.baseline_accuracy(),
        candidate_accuracy: counts.candidate_accuracy(),
        difference: counts.difference(),
        ci: ci.map(|c| [c.low, c.high]),
        baseline_only: counts.baseline_only,
        candidate_only: counts.candidate_only,
        exact_p_value: paired::mcnemar(counts.baseline_only, counts.candidate_only).exact_p_value,
    }
}

/// The comparison of two sets of predictions for `rows` of `data` (whose labels are the
/// truth): `baseline[j]` and `candidate[j]` are the classes predicted for `rows[j]`, `None`
/// for a row a model could not score (left out, listed in `nonfinite`).
pub fn compare_predictions(
    data: &Dataset,
    label: &str,
    rows: &[usize],
    baseline: &[Option<usize>],
    candidate: &[Option<usize>],
    mut nonfinite: NonFiniteRows,
    s: &Settings,
) -> Result<CompareReport> {
    check_settings(s)?;
    let labels = data
        .labels
        .as_deref()
        .ok_or_else(|| Error::Internal("compare needs labels".into()))?;
    let mut total = PairedCounts::new();
    let mut per_class = vec![PairedCounts::new(); data.classes()];
    let mut scored = vec![None; data.rows()];
    let mut disagreeing = Vec::new();
    for (j, &i) in rows.iter().enumerate() {
        let (Some(b), Some(c)) = (baseline[j], candidate[j]) else {
            continue;
        };
        let l = usize::from(labels[i]);
        total.record(l, b, c);
        per_class[l].record(l, b, c);
        scored[i] = Some((b, c));
        if b != c {
            disagreeing.push((i, b, c));
        }
    }
    nonfinite.sort_by_key(|(i, _)| *i);
    nonfinite.dedup_by_key(|(i, _)| *i);
    let margin = s.margin.unwrap_or(0.0);
    let cmp = paired::compare(&total, s.alpha, margin).map_err(|e| match e {
        AbError::Empty => Error::File {
            path: data.path.clone(),
            message: "no row to compare: every row was left out or the file has none".into(),
        },
        e => Error::Internal(e.to_string()),
    })?;
    let mut slices = Vec::new();
    for (p, members) in s
        .slices
        .iter()
        .zip(slice_rows(data, rows, label, &s.slices)?)
    {
        let mut counts = PairedCounts::new();
        for i in members {
            if let Some((b, c)) = scored[i] {
                counts.record(usize::from(labels[i]), b, c);
            }
        }
        slices.push(SliceDiff {
            slice: p.expr.clone(),
            stats: group(&counts, s.alpha),
        });
    }
    let side = |correct: u64| Side {
        file: None,
        kind: "model",
        correct,
        accuracy: correct as f64 / total.n() as f64,
    };
    let mut report = CompareReport {
        n: total.n(),
        nonfinite_rows: nonfinite.len(),
        agreement: total.agreement().unwrap_or_default(),
        baseline: side(total.baseline_correct()),
        candidate: side(total.candidate_correct()),
        concordant: [total.both_right, total.both_wrong],
        discordant: Discordant {
            baseline_only: total.baseline_only,
            candidate_only: total.candidate_only,
        },
        mcnemar: McNemarJson {
            exact_p_value: cmp.mcnemar.exact_p_value,
            chi2: cmp.mcnemar.chi2,
            chi2_p_value: cmp.mcnemar.chi2_p_value,
        },
        difference: Difference {
            estimate: cmp.difference.estimate,
            ci: [cmp.difference.low, cmp.difference.high],
            level: 1.0 - s.alpha,
            method: CI_METHOD,
        },
        alpha: s.alpha,
        margin: s.margin,
        non_inferior: cmp.non_inferior,
        significantly_worse: cmp.significantly_worse,
        per_class: per_class
            .iter()
            .enumerate()
            .filter(|(_, c)| c.n() > 0)
            .map(|(label, c)| ClassDiff {
                label,
                stats: group(c, s.alpha),
            })
            .collect(),
        slices,
        disagreeing_rows: disagreeing.len() as u64,
        disagreements: None,
        passed: false,
        violations: Vec::new(),
        nonfinite,
        disagreeing,
    };
    report.violations = violations(&report, s, data);
    report.passed = report.violations.is_empty();
    Ok(report)
}

fn violations(r: &CompareReport, s: &Settings, data: &Dataset) -> Vec<String> {
    let mut v = Vec::new();
    let (b, c) = (r.discordant.baseline_only, r.discordant.candidate_only);
    if r.significantly_worse {
        v.push(format!(
            "the candidate is significantly worse: McNemar exact p = {} < alpha {} (baseline \
             alone right on {b} rows, candidate alone on {c})",
            fmt_p(r.mcnemar.exact_p_value),
            r.alpha
        ));
    }
    if let Some(m) = s.margin
        && !r.non_inferior
    {
        v.push(format!(
            "non-inferiority not shown: the {}% interval of the accuracy difference starts at \
             {:+.4}, not above -{m} (the margin)",
            fmt_level(r.difference.level),
            r.difference.ci[0]
        ));
    }
    if !s.allow_nonfinite
        && let Some(m) =
            crate::predict::nonfinite_message(&data.path, data.rows(), &r.nonfinite, &data.lines)
    {
        v.push(format!("{m}: they are left out of the comparison"));
    }
    v
}

/// A p-value to 4 decimals, or in scientific notation below 1e-4 (never a bare 0.0000).
fn fmt_p(p: f64) -> String {
    if p >= 1e-4 || p == 0.0 {
        format!("{p:.4}")
    } else {
        format!("{p:.1e}")
    }
}

fn fmt_level(level: f64) -> String {
    let pct = level * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{pct:.0}")
    } else {
        format!("{pct}")
    }
}

/// Writes the disagreeing rows: `line`, the label, both predictions, then the data's columns.
fn write_disagreements(out: &Path, data: &Dataset, r: &CompareReport) -> Result<()> {
    let label = data.label_name.as_deref().unwrap_or("label");
    let mut header = vec!["line", label, "baseline", "candidate"];
    header.extend(data.feature_names.iter().map(String::as_str));
    let labels = data.labels.as_deref().unwrap_or_default();
    let rows = r.disagreeing.iter().map(|&(i, b, c)| {
        let mut cells = vec![
            data.lines[i].to_string(),
            labels[i].to_string(),
            b.to_string(),
            c.to_string(),
        ];
        cells.extend(data.row(i).iter().map(|&v| data::cell_text(v)));
        cells
    });
    data::write_csv(out, &header, rows)
}

impl CompareReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let side = |name: &str, x: &Side, s: &mut String| {
            let _ = writeln!(
                s,
                "{name:<10} {:.4} ({}/{})  {} {}",
                x.accuracy,
                x.correct,
                self.n,
                x.kind,
                x.file.as_deref().unwrap_or("")
            );
        };
        side("baseline", &self.baseline, &mut s);
        side("candidate", &self.candidate, &mut s);
        let _ = writeln!(
            s,
            "rows {}, same prediction on {:.4}; baseline alone right {}, candidate alone right {}",
            self.n, self.agreement, self.discordant.baseline_only, self.discordant.candidate_only
        );
        let chi2 = match (self.mcnemar.chi2, self.mcnemar.chi2_p_value) {
            (Some(x), Some(p)) => format!("chi-square (corrected) {x:.4}, p = {}", fmt_p(p)),
            _ => "chi-square undefined (no discordant rows)".into(),
        };
        let _ = writeln!(
            s,
            "McNemar: exact p = {}; {chi2}",
            fmt_p(self.mcnemar.exact_p_value)
        );
        let _ = writeln!(
            s,
            "difference (candidate - baseline) {:+.4}, {}% CI [{:+.4}, {:+.4}] (Newcombe hybrid score)",
            self.difference.estimate,
            fmt_level(self.difference.level),
            self.difference.ci[0],
            self.difference.ci[1]
        );
        match self.margin {
            Some(m) => {
                let _ = writeln!(
                    s,
                    "non-inferior at margin {m}: {}",
                    if self.non_inferior { "yes" } else { "no" }
                );
            }
            None => {
                let _ = writeln!(s, "non-inferiority: no margin set");
            }
        }
        if self.nonfinite_rows > 0 {
            let _ = writeln!(s, "rows left out (not finite): {}", self.nonfinite_rows);
        }
        let rows: Vec<(String, &GroupStats)> = self
            .per_class
            .iter()
            .map(|c| (format!("class {}", c.label), &c.stats))
            .chain(self.slices.iter().map(|x| (x.slice.clone(), &x.stats)))
            .collect();
        if !rows.is_empty() {
            let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0).max(5);
            let _ = writeln!(
                s,
                "\n{:<w$}  {:>6}  {:>8}  {:>9}  {:>8}  {:>5}  {:>5}  {:>7}",
                "group", "n", "baseline", "candidate", "diff", "b", "c", "p exact"
            );
            let acc = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.4}"));
            for (k, g) in rows {
                let _ = writeln!(
                    s,
                    "{k:<w$}  {:>6}  {:>8}  {:>9}  {:>8}  {:>5}  {:>5}  {:>7}",
                    g.n,
                    acc(g.baseline_accuracy),
                    acc(g.candidate_accuracy),
                    g.difference.map_or("-".into(), |v| format!("{v:+.4}")),
                    g.baseline_only,
                    g.candidate_only,
                    fmt_p(g.exact_p_value)
                );
            }
        }
        if let Some(out) = &self.disagreements {
            let _ = writeln!(
                s,
                "\n{} disagreeing rows written to {out}",
                self.disagreeing_rows
            );
        }
        let _ = writeln!(s);
        if self.passed {
            let _ = writeln!(s, "PASS: the candidate may replace the baseline");
        } else {
            for v in &self.violations {
                let _ = writeln!(s, "FAIL: {v}");
            }
        }
        s
    }
}
