//! Training: the library behind `mlprobe train` and the `train` stage of `mlprobe run`.
//!
//! [`fit`] loads a labelled CSV file, splits it (stratified), fits the normalizer and the
//! network on the training rows, writes the model and its history, and evaluates the held-out
//! rows. Below it, [`train`] is the training loop over rows in memory: standardisation,
//! mini-batch Adam with cross-entropy. Every computation is a call into [`mlprobe_core`]; this
//! module only orders them (epochs, shuffles, batches) and keeps the history.
//!
//! ```no_run
//! use mlprobe::train::{TrainOptions, fit};
//! let mut opts = TrainOptions::new("data/wine.csv", "wine.mlpb");
//! opts.epochs = 100;
//! let fitted = fit(&opts)?;
//! println!("{}", fitted.report.human());
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

use crate::data::{self, Dataset, Labels};
use crate::error::{self, Error};
use crate::eval::{self, EvalReport};
use crate::model_io::{self, HostModel};
use indicatif::{ProgressBar, ProgressStyle};
use mlprobe_core::mlp::{Adam, Dims, Mlp, MlpError, Model, Trainer};
use mlprobe_core::moments::Moments;
use mlprobe_core::transform::{FeatureTransformer, Fill, TransformError};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The largest `--lr`: Adam moves each weight by about the learning rate per step, and rates
/// above this only diverge.
pub const MAX_LR: f32 = 10.0;
/// The largest `--tol`.
pub const MAX_TOL: f32 = 1e6;

/// What to train on, how, and where the model goes.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// CSV file: a header row, numeric feature columns and a label column.
    pub data: PathBuf,
    /// Name of the label column (`label`).
    pub label: String,
    /// The model file to write; the history goes beside it ([`history_path`]).
    pub out: PathBuf,
    /// Units of each hidden layer: 1 to 7 layers of 1 to 256 units (`[32]`, the seed's shape).
    pub hidden: Vec<usize>,
    /// The feature columns to train on, by name (`None`: every column but the label).
    pub features: Option<Vec<String>>,
    /// Passes over the training rows at most (200).
    pub epochs: usize,
    /// Adam's learning rate (0.01).
    pub lr: f32,
    /// Rows per mini-batch (32).
    pub batch: usize,
    /// Seed of the initial weights and the shuffles (0).
    pub seed: u64,
    /// Seed of the train/test split (42).
    pub split_seed: u64,
    /// Fraction of rows held out for testing, in [0, 1) (0.3).
    pub test_split: f64,
    /// How the normalizer fills missing values ([`Fill::Mean`]).
    pub fill: Fill,
    /// Stop early when the epoch loss has not improved by more than this for
    /// `n_iter_no_change` epochs in a row; 0 runs every epoch (1e-4).
    pub tol: f32,
    /// Epochs without improvement before stopping early (10).
    pub n_iter_no_change: usize,
}

impl TrainOptions {
    /// Training on `data` into `out` with the defaults of `mlprobe train`.
    pub fn new(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            label: "label".into(),
            out: out.into(),
            hidden: vec![32],
            features: None,
            epochs: 200,
            lr: 0.01,
            batch: 32,
            seed: 0,
            split_seed: 42,
            test_split: 0.3,
            fill: Fill::Mean,
            tol: 1e-4,
            n_iter_no_change: 10,
        }
    }

    /// Rejects values a fit cannot run with, naming the flag.
    pub fn validate(&self) -> error::Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if !(0.0..1.0).contains(&self.test_split) {
            return usage(format!(
                "--test-split {}: expected a fraction in [0, 1)",
                self.test_split
            ));
        }
        if !(self.lr > 0.0 && self.lr <= MAX_LR) {
            return usage(format!(
                "--lr {}: expected a number above 0 and at most {MAX_LR}",
                self.lr
            ));
        }
        if !(0.0..=MAX_TOL).contains(&self.tol) {
            return usage(format!(
                "--tol {}: expected a number from 0 to {MAX_TOL}",
                self.tol
            ));
        }
        if self.epochs == 0 {
            return usage("--epochs must be at least 1".into());
        }
        check_hidden(&self.hidden).map_err(Error::Usage)?;
        if self.batch == 0 {
            return usage("--batch must be at least 1".into());
        }
        if let Fill::Value(v) = self.fill
            && !v.is_finite()
        {
            return usage(format!(
                "--fill-na `{v}`: expected `mean` or a finite number"
            ));
        }
        Ok(())
    }

    /// The hyper-parameters of the training loop.
    pub fn hyper(&self) -> Hyper {
        Hyper {
            hidden: self.hidden.clone(),
            epochs: self.epochs,
            lr: self.lr,
            batch: self.batch,
            seed: self.seed,
            fill: self.fill,
            convergence: (self.tol > 0.0).then_some((self.tol, self.n_iter_no_change)),
        }
    }
}

/// The missing-value policy of `--fill-na`: `mean` or a finite number.
pub fn parse_fill(s: &str) -> error::Result<Fill> {
    if s == "mean" {
        return Ok(Fill::Mean);
    }
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(Fill::Value(v)),
        _ => Err(Error::Usage(format!(
            "--fill-na `{s}`: expected `mean` or a finite number"
        ))),
    }
}

/// `<dir>/<stem>.history.json` beside the model.
pub fn history_path(model: &Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    model.with_file_name(format!("{stem}.history.json"))
}

/// Checks, before any work, where `train` writes: the model and its history are not the data,
/// not directories, in directories that exist; an existing history file is replaced only when
/// it is a training history (an object with `epochs` and `train_rows`), never another file.
pub fn check_outputs(opts: &TrainOptions) -> error::Result<()> {
    use crate::output::{check_distinct, check_output};
    let inputs = [opts.data.as_path()];
    check_output(&opts.out, &inputs)?;
    if crate::output::is_stdout(&opts.out) {
        // The model goes to stdout: there is no file for the history to sit beside.
        return Ok(());
    }
    let hist = history_path(&opts.out);
    check_output(&hist, &inputs)?;
    check_distinct(&[&opts.out, &hist])?;
    if hist.exists() && !is_history(&hist) {
        return Err(Error::Usage(format!(
            "{}: exists and is not a training history; train writes the history of `{}` \
             there, so move the file or choose another --out",
            hist.display(),
            opts.out.display()
        )));
    }
    Ok(())
}

/// True when `path` holds a history `train` wrote (read only if it is at most 256 MiB).
fn is_history(path: &Path) -> bool {
    const MAX: u64 = 256 << 20;
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX);
    let Some(text) = small.then(|| std::fs::read(path).ok()).flatten() else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&text).is_ok_and(|v| {
        v.get("epochs").is_some_and(serde_json::Value::is_array) && v.get("train_rows").is_some()
    })
}

/// The `train` JSON document (DESIGN.md).
#[derive(Clone, Debug, Serialize)]
pub struct TrainReport {
    /// Path of the model written.
    pub model: PathBuf,
    /// Path of the history written; `None` when the model went to stdout (`--out -`), which
    /// has no file for the history to sit beside.
    pub history: Option<PathBuf>,
    /// Epochs run.
    pub epochs: usize,
    /// Mean loss of the last epoch.
    pub final_loss: f32,
    /// Accuracy of the final model on the training rows.
    pub train_accuracy: f64,
    /// The `eval` figures on the held-out rows (absent with a test split of 0).
    pub test: Option<EvalReport>,
    /// The network's sizes.
    #[serde(skip)]
    pub dims: Dims,
    /// Rows trained on.
    #[serde(skip)]
    pub train_rows: usize,
    /// Rows held out.
    #[serde(skip)]
    pub test_rows: usize,
}

impl TrainReport {
    /// The report for people: the fit in one line, the files written, the held-out figures.
    pub fn human(&self) -> String {
        let d = self.dims;
        let mut s = format!(
            "trained {d} on {} rows ({} held out) for {} epochs: final loss {:.4}, train accuracy {:.4}\n",
            self.train_rows, self.test_rows, self.epochs, self.final_loss, self.train_accuracy
        );
        match &self.history {
            Some(h) => s += &format!("wrote {} and {}\n", self.model.display(), h.display()),
            None => s += "wrote the model to stdout (no history file with --out -)\n",
        }
        if let Some(t) = &self.test {
            s += "held-out test rows:\n";
            s += &t.human();
        }
        s
    }
}

/// A fit and what it was made from.
#[derive(Debug)]
pub struct Fitted {
    /// The trained model (also written to the options' `out`).
    pub model: HostModel,
    /// Loss and accuracy per epoch.
    pub history: Vec<EpochRecord>,
    /// The data, all rows.
    pub data: Dataset,
    /// Which rows trained and which were held out.
    pub split: Split,
    /// The `train` JSON document.
    pub report: TrainReport,
}

/// Checks the options, loads the data, trains, writes the model and its history (never over
/// the data), and evaluates the held-out rows. A progress bar shows on a terminal.
pub fn fit(opts: &TrainOptions) -> error::Result<Fitted> {
    opts.validate()?;
    check_outputs(opts)?;
    let mut data = data::load(&opts.data, Labels::Required(&opts.label))?;
    if let Some(names) = &opts.features {
        data = data::select_columns(data, names, "--features")?.0;
    }
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| Error::Internal("labels were required".into()))?;
    let classes = data.classes();
    if classes < 2 {
        return Err(Error::file(
            &opts.data,
            format!(
                "column `{}` holds a single class; training needs two or more",
                opts.label
            ),
        ));
    }
    let split = stratified_split(labels, opts.test_split, opts.split_seed);
    let width = data.width();
    let mut x = Vec::with_capacity(split.train.len() * width);
    let mut y = Vec::with_capacity(split.train.len());
    for &i in &split.train {
        x.extend_from_slice(data.row(i));
        y.push(labels[i]);
    }
    let bar = ProgressBar::new(opts.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} epochs {msg} [{elapsed}<{eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("training");
    let (model, history) = train(&x, &y, width, classes, &opts.hyper(), |r: &EpochRecord| {
        bar.set_position(r.epoch as u64);
        bar.set_message(format!("loss {:.4} acc {:.3}", r.loss, r.accuracy));
    })
    .map_err(|e| Error::Usage(e.to_string()))?;
    let model = model.with_features(data.feature_names.clone());
    bar.finish_and_clear();

    // Both files are written and synced before either is renamed into place: a failure
    // leaves the old model and history as they were.
    let hist_path = history_path(&opts.out);
    let hist = serde_json::json!({
        "data": opts.data, "seed": opts.seed, "split_seed": opts.split_seed, "hidden": opts.hidden,
        "features": data.feature_names,
        "lr": opts.lr, "batch": opts.batch, "test_split": opts.test_split,
        "train_rows": split.train.len(), "test_rows": split.test.len(),
        "epochs": history,
    });
    let text = serde_json::to_string_pretty(&hist).map_err(|e| Error::Internal(e.to_string()))?;
    let bytes = model_io::to_bytes(&model)?;
    if crate::output::is_stdout(&opts.out) {
        crate::output::print_bytes(&bytes)?;
    } else {
        let staged_model = crate::output::stage(&opts.out, &bytes)?;
        let hist = crate::output::stage(&hist_path, text.as_bytes())?;
        staged_model.commit()?;
        hist.commit()?;
    }

    let train_accuracy = eval::confusion(&model, &data, &split.train)?.0.accuracy();
    let test = if split.test.is_empty() {
        None
    } else {
        let t = &split.test;
        Some(eval::evaluate_rows(&model, &data, t, t.len())?)
    };
    let report = TrainReport {
        model: opts.out.clone(),
        history: (!crate::output::is_stdout(&opts.out)).then_some(hist_path),
        epochs: history.len(),
        final_loss: history.last().map_or(f32::NAN, |r| r.loss),
        train_accuracy,
        test,
        dims: model.dims(),
        train_rows: split.train.len(),
        test_rows: split.test.len(),
    };
    Ok(Fitted {
        model,
        history,
        data,
        split,
        report,
    })
}

/// Checks a list of hidden-layer widths: 1 to `MAX_LAYERS - 1` layers of 1 to `MAX_HIDDEN`
/// units each (the model file's limits); the message names `--hidden`.
pub fn check_hidden(hidden: &[usize]) -> std::result::Result<(), String> {
    use mlprobe_core::mlp::{MAX_HIDDEN, MAX_LAYERS};
    let shown: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
    if hidden.is_empty() || hidden.len() >= MAX_LAYERS {
        return Err(format!(
            "--hidden {}: expected 1 to {} hidden layers (comma-separated widths, e.g. 64,32)",
            shown.join(","),
            MAX_LAYERS - 1
        ));
    }
    if let Some(h) = hidden.iter().find(|&&h| !(1..=MAX_HIDDEN).contains(&h)) {
        return Err(format!(
            "--hidden {}: a layer of {h} units; expected 1 to {MAX_HIDDEN} per hidden layer",
            shown.join(",")
        ));
    }
    Ok(())
}

/// Hyper-parameters of the training loop ([`train`]).
#[derive(Clone, Debug)]
pub struct Hyper {
    /// Units of each hidden layer.
    pub hidden: Vec<usize>,
    /// Passes over the training set.
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Examples per mini-batch.
    pub batch: usize,
    /// Seed of the initial weights and of the shuffles.
    pub seed: u64,
    /// Missing-value policy of the normalizer.
    pub fill: Fill,
    /// Stop when the epoch loss has not improved on the best by more than `tol` for
    /// `n_iter_no_change` epochs in a row (scikit-learn's `MLPClassifier` rule); `None` runs
    /// every epoch.
    pub convergence: Option<(f32, usize)>,
}

/// One epoch of the history.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's examples (before each batch's update).
    pub loss: f32,
    /// Fraction of the epoch's examples predicted right (before each batch's update).
    pub accuracy: f32,
}

/// A stratified train/test split of row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
}

/// Splits rows so that each class keeps its proportion in the held-out part:
/// `round(n_class · test_fraction)` rows of each class, at least one row of each class with two
/// or more rows on each side. Deterministic for a seed.
pub fn stratified_split(labels: &[u8], test_fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let classes = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
    let mut split = Split {
        train: Vec::new(),
        test: Vec::new(),
    };
    for class in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.shuffle(&mut rng);
        let n = rows.len();
        let mut k = (n as f64 * test_fraction).round() as usize;
        if n >= 2 && test_fraction > 0.0 {
            k = k.clamp(1, n - 1);
        } else {
            k = k.min(n.saturating_sub(1));
        }
        split.test.extend_from_slice(&rows[..k]);
        split.train.extend_from_slice(&rows[k..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

/// Errors of a fit.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The options or the data do not fit together.
    #[error("{0}")]
    Options(String),
    /// The epoch's mean loss is not a finite number: the weights diverged (a learning rate
    /// too large for the data), and a model of them would answer NaN.
    #[error(
        "training diverged: the mean loss of epoch {epoch} is {loss} (not finite); \
         try a smaller --lr than {lr}"
    )]
    Diverged {
        /// The 1-based epoch.
        epoch: usize,
        /// Its mean loss.
        loss: f32,
        /// The learning rate.
        lr: f32,
    },
    /// A core error (a bug if it happens: inputs are checked first).
    #[error(transparent)]
    Mlp(#[from] MlpError),
    /// A core error of the transform.
    #[error(transparent)]
    Transform(#[from] TransformError),
}

/// A build of the trainer step; [`Build::best`] picks the fastest this CPU runs.
///
/// Each build computes exactly what its trainer method computes in the baseline build
/// (nothing is reassociated, and `mul_add` is exact in software too); the fused and unfused
/// steps differ by rounding, as any two orders of summation do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Build {
    /// AVX-512 (F and VL) and FMA: [`Trainer::step_fused_wide`], blocks of 32 rows × 4
    /// columns held in the 32 vector registers, the trainer's own loops 16 lanes wide.
    Avx512,
    /// AVX2 and FMA: [`Trainer::step_fused`], every matrix product as register blocks of fused
    /// multiply-adds (32 rows × 2 columns), the trainer's own loops (Adam, softmax, bias,
    /// ReLU) eight lanes wide.
    Avx2Fma,
    /// AVX2 alone: [`Trainer::step`] compiled for AVX2 (its loops eight lanes wide, the
    /// products through matrixmultiply).
    Avx2,
    /// The baseline build of [`Trainer::step`].
    Baseline,
}

impl Build {
    /// The builds this CPU runs, fastest first (the last is always [`Build::Baseline`]).
    fn available() -> Vec<Build> {
        let mut builds = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx2") && has!("fma") {
                builds.push(Build::Avx512);
            }
            if has!("avx2") && has!("fma") {
                builds.push(Build::Avx2Fma);
            }
            if has!("avx2") {
                builds.push(Build::Avx2);
            }
        }
        builds.push(Build::Baseline);
        builds
    }

    /// The fastest build this CPU runs (detected once).
    fn best() -> Build {
        static BEST: std::sync::OnceLock<Build> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| Build::available()[0])
    }

    /// One step of `trainer` in this build.
    fn step(
        self,
        trainer: &mut Trainer<Vec<f32>>,
        xs: &[f32],
        ys: &[u8],
    ) -> Result<(f32, usize), MlpError> {
        match self {
            // SAFETY (each arm): `available` lists a build only when the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            Build::Avx512 => unsafe { step_avx512(trainer, xs, ys) },
            #[cfg(target_arch = "x86_64")]
            Build::Avx2Fma => unsafe { step_avx2_fma(trainer, xs, ys) },
            #[cfg(target_arch = "x86_64")]
            Build::Avx2 => unsafe { step_avx2(trainer, xs, ys) },
            _ => trainer.step(xs, ys),
        }
    }

    /// What the build computes, in the baseline build.
    #[cfg(test)]
    fn baseline_step(
        self,
        trainer: &mut Trainer<Vec<f32>>,
        xs: &[f32],
        ys: &[u8],
    ) -> Result<(f32, usize), MlpError> {
        match self {
            Build::Avx512 => trainer.step_fused_wide(xs, ys),
            Build::Avx2Fma => trainer.step_fused(xs, ys),
            Build::Avx2 | Build::Baseline => trainer.step(xs, ys),
        }
    }
}

/// A wrapper that compiles a trainer method for the given target features (the method and
/// the loops it calls are `#[inline(always)]`, so the features reach them).
macro_rules! build_step {
    ($name:ident, $features:literal, $method:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        fn $name(
            trainer: &mut Trainer<Vec<f32>>,
            xs: &[f32],
            ys: &[u8],
        ) -> Result<(f32, usize), MlpError> {
            trainer.$method(xs, ys)
        }
    };
}

build_step!(step_avx512, "avx512f,avx512vl,avx2,fma", step_fused_wide);
build_step!(step_avx2_fma, "avx2,fma", step_fused);
build_step!(step_avx2, "avx2", step);

/// Fits the normalizer and the network on `rows × width` raw features `x` with labels `y`,
/// calling `on_epoch` after each epoch.
pub fn train(
    x: &[f32],
    y: &[u8],
    width: usize,
    classes: usize,
    opts: &Hyper,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<(HostModel, Vec<EpochRecord>), TrainError> {
    let n = y.len();
    if n == 0 || x.len() != n * width {
        return Err(TrainError::Options(format!(
            "{n} labels for {} values of width {width}",
            x.len()
        )));
    }
    if opts.batch == 0 {
        return Err(TrainError::Options("--batch must be at least 1".into()));
    }
    let dims =
        Dims::deep(width, &opts.hidden, classes).map_err(|e| TrainError::Options(e.to_string()))?;

    // Standardisation fitted on the training rows only.
    let mut ft = FeatureTransformer::with_storage(
        vec![Moments::new(); width],
        vec![0.0; width],
        vec![1.0; width],
        opts.fill,
    )?;
    ft.fit(x.chunks_exact(width))?;
    let norm = ft.into_params()?;
    let mut xs = vec![0.0f32; x.len()];
    for (raw, out) in x.chunks_exact(width).zip(xs.chunks_exact_mut(width)) {
        norm.transform(raw, out)?;
    }

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut mlp = Mlp::new(dims, vec![0.0f32; dims.param_count()])?;
    mlp.init(&mut rng);
    // A batch larger than the data is the data: buffers sized by the rows, not the flag.
    let batch_len = opts.batch.min(n);
    let mut trainer = Trainer::new(
        &mlp,
        batch_len,
        Adam::new(opts.lr),
        vec![0.0f32; Trainer::<Vec<f32>>::buffer_len(&dims, batch_len)],
    )?;
    let mut order: Vec<usize> = (0..n).collect();
    // Grown epoch by epoch: --epochs is an upper bound, and early stopping usually ends far
    // sooner, so nothing is allocated by it.
    let mut history = Vec::new();
    let (mut best_loss, mut no_improvement) = (f32::INFINITY, 0usize);
    let build = Build::best();
    let mut bx = vec![0.0f32; batch_len * width];
    let mut by = vec![0u8; batch_len];
    for epoch in 1..=opts.epochs {
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for batch in order.chunks(batch_len) {
            for (k, &i) in batch.iter().enumerate() {
                bx[k * width..(k + 1) * width].copy_from_slice(&xs[i * width..(i + 1) * width]);
                by[k] = y[i];
            }
            let (loss, right) =
                build.step(&mut trainer, &bx[..batch.len() * width], &by[..batch.len()])?;
            loss_sum += f64::from(loss);
            correct += right;
        }
        let record = EpochRecord {
            epoch,
            loss: (loss_sum / n as f64) as f32,
            accuracy: correct as f32 / n as f32,
        };
        if !record.loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                loss: record.loss,
                lr: opts.lr,
            });
        }
        on_epoch(&record);
        history.push(record);
        if let Some((tol, patience)) = opts.convergence {
            // sklearn/neural_network/_multilayer_perceptron.py, `_update_no_improvement_count`.
            if record.loss > best_loss - tol {
                no_improvement += 1;
            } else {
                no_improvement = 0;
            }
            best_loss = best_loss.min(record.loss);
            if no_improvement > patience {
                break;
            }
        }
    }
    trainer.write_to(&mut mlp)?;
    Ok((HostModel::new(Model::new(norm, mlp)?), history))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_build_computes_what_its_baseline_build_computes() {
        // Each build this CPU runs (AVX-512, AVX2 with FMA, AVX2) against the same trainer
        // method in the baseline (SSE2) build, `mul_add` in software. Same operations, same
        // order: the same bits. Hidden 40 takes a 32-row block and an overlapping 8-row one.
        let builds = Build::available();
        assert_eq!(builds.last(), Some(&Build::Baseline));
        assert_eq!(Build::best(), builds[0]);
        let d = Dims::new(13, 40, 3).unwrap();
        let mut mlp = Mlp::new(d, vec![0.0f32; d.param_count()]).unwrap();
        mlp.init(&mut ChaCha8Rng::seed_from_u64(5));
        let xs: Vec<f32> = (0..29 * 13)
            .map(|k| ((k * 37) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let ys: Vec<u8> = (0..29).map(|k| (k % 3) as u8).collect();
        let buf = || vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, 32)];
        for build in builds {
            let mut a = Trainer::new(&mlp, 32, Adam::new(0.01), buf()).unwrap();
            let mut b = Trainer::new(&mlp, 32, Adam::new(0.01), buf()).unwrap();
            for _ in 0..20 {
                let ra = build.step(&mut a, &xs, &ys).unwrap();
                let rb = build.baseline_step(&mut b, &xs, &ys).unwrap();
                assert_eq!((ra.0.to_bits(), ra.1), (rb.0.to_bits(), rb.1), "{build:?}");
            }
            let (mut ma, mut mb) = (mlp.clone(), mlp.clone());
            a.write_to(&mut ma).unwrap();
            b.write_to(&mut mb).unwrap();
            let bits =
                |m: &Mlp<Vec<f32>>| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ma), bits(&mb), "{build:?}");
        }
    }

    #[test]
    fn a_diverging_run_is_an_error_and_a_batch_beyond_the_rows_is_the_rows() {
        // 40 rows of 2 features in 2 classes; a learning rate of 1e20 sends the weights to
        // infinity within an epoch, and the loss to NaN.
        let x: Vec<f32> = (0..80)
            .map(|k| ((k * 37) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let y: Vec<u8> = (0..40).map(|k| (k % 2) as u8).collect();
        let hyper = |lr: f32, batch: usize| Hyper {
            hidden: vec![8],
            epochs: 50,
            lr,
            batch,
            seed: 0,
            fill: Fill::Mean,
            convergence: None,
        };
        let e = train(&x, &y, 2, 2, &hyper(1e20, 8), |_| {}).unwrap_err();
        assert!(
            matches!(e, TrainError::Diverged { .. }),
            "{e}: a loss that is not finite must stop training"
        );
        assert!(e.to_string().contains("--lr"), "{e}");
        let (_, all) = train(&x, &y, 2, 2, &hyper(0.01, 40), |_| {}).unwrap();
        let (_, huge) = train(&x, &y, 2, 2, &hyper(0.01, usize::MAX / 4), |_| {}).unwrap();
        let bits = |h: &[EpochRecord]| h.iter().map(|r| r.loss.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&all), bits(&huge));
    }

    #[test]
    fn split_is_stratified_and_deterministic() {
        let labels: Vec<u8> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let s = stratified_split(&labels, 0.3, 42);
        assert_eq!(s, stratified_split(&labels, 0.3, 42));
        assert_ne!(s, stratified_split(&labels, 0.3, 43));
        let count = |rows: &[usize], c: u8| rows.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!(
            (count(&s.test, 0), count(&s.test, 1), count(&s.test, 2)),
            (18, 9, 3)
        );
        assert_eq!(s.train.len() + s.test.len(), 100);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn tiny_classes_keep_a_row_on_each_side() {
        let s = stratified_split(&[0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 0.1, 0);
        assert!(s.test.contains(&0) || s.test.contains(&1));
        assert!(s.train.contains(&0) || s.train.contains(&1));
    }
}
