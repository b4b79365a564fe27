//! Training: the library behind `mlprobe train` and the `train` stage of `mlprobe run`.
//!
//! [`fit`] loads a labelled CSV file, splits it (stratified) into training and held-out test
//! rows, holds a validation part out of the training rows (`--val-split`), fits the normalizer
//! and the network on the rest, writes the model and its history, and evaluates the held-out
//! rows. Below it, [`train_validated`] is the training loop over rows in memory:
//! standardisation, mini-batch Adam with cross-entropy, and scikit-learn's stopping rules
//! ([`stopping`]). Every computation is a call into [`mlprobe_core`]; this module only orders
//! them (epochs, shuffles, batches) and keeps the history.
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

mod build;
mod split;
pub mod stopping;
use build::Build;
pub use split::{Split, stratified_split, validation_split};
use stopping::{EarlyStopping, LossPlateau, StopReason, Validation};

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
    /// Fraction of the training rows held out of the fit as the validation part, in [0, 1)
    /// (0.1): stratified, seeded from `split_seed`. With a validation part, training stops on
    /// its accuracy and ends with the best epoch's weights (scikit-learn's
    /// `early_stopping=True`); 0 fits on every training row and stops on the training loss.
    pub val_split: f64,
    /// How the normalizer fills missing values ([`Fill::Mean`]).
    pub fill: Fill,
    /// Stop early when the validation accuracy (or, without a validation part, the epoch
    /// loss) has not improved by more than this for `n_iter_no_change` epochs in a row; 0 runs
    /// every epoch (1e-4).
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
            val_split: 0.1,
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
        if !(0.0..1.0).contains(&self.val_split) {
            return usage(format!(
                "--val-split {}: expected a fraction in [0, 1)",
                self.val_split
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
    /// Accuracy of the final model on the rows it was fitted on (the training rows but the
    /// validation part).
    pub train_accuracy: f64,
    /// Training rows held out of the fit as the validation part (0 with a `val_split` of 0).
    pub val_rows: usize,
    /// The epoch whose weights the model holds: the best validation accuracy (the first epoch
    /// of it); `None` without a validation part (the model holds the last epoch's weights).
    pub best_epoch: Option<usize>,
    /// The validation accuracy of the model (at `best_epoch`); `None` without a validation part.
    pub val_accuracy: Option<f64>,
    /// Why training ended: `max_epochs`, `training_loss` or `validation_accuracy`.
    pub stop_reason: StopReason,
    /// The `eval` figures on the held-out rows (absent with a test split of 0).
    pub test: Option<EvalReport>,
    /// The network's sizes.
    #[serde(skip)]
    pub dims: Dims,
    /// Training rows: the rows fitted on and the validation part.
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
            "trained {d} on {} rows ({} for validation, {} held out) for {} epochs ({}): \
             final loss {:.4}, train accuracy {:.4}\n",
            self.train_rows - self.val_rows,
            self.val_rows,
            self.test_rows,
            self.epochs,
            self.stop_reason.describe(),
            self.final_loss,
            self.train_accuracy
        );
        if let (Some(e), Some(a)) = (self.best_epoch, self.val_accuracy) {
            s += &format!("kept the weights of epoch {e}: validation accuracy {a:.4}\n");
        }
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
    /// Which rows trained and which were held out for testing.
    pub split: Split,
    /// The training rows split again (indices into the data): `train` fitted on, `test` the
    /// validation part (empty with a `val_split` of 0).
    pub validation: Split,
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
    let validation = validation_split(labels, &split.train, opts.val_split, opts.split_seed);
    // scikit-learn refuses a validation set of fewer than 2 rows. The stratified split keeps
    // a row of every class of two or more rows on each side, so the fitting rows hold every
    // class; only the validation part can be too small.
    if opts.val_split > 0.0 && validation.test.len() < 2 {
        return Err(Error::Usage(format!(
            "--val-split {}: the validation part holds {} of the {} training rows (the rows \
             --test-split leaves); early stopping needs at least 2 (scikit-learn's rule): raise \
             --val-split, or set it to 0 to fit on every training row and stop on the training \
             loss",
            opts.val_split,
            validation.test.len(),
            split.train.len()
        )));
    }
    let width = data.width();
    let gather = |rows: &[usize]| {
        let x: Vec<f32> = rows.iter().flat_map(|&i| data.row(i)).copied().collect();
        let y: Vec<u8> = rows.iter().map(|&i| labels[i]).collect();
        (x, y)
    };
    let (x, y) = gather(&validation.train);
    let (val_x, val_y) = gather(&validation.test);
    let bar = ProgressBar::new(opts.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} epochs {msg} [{elapsed}<{eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("training");
    let val = (!val_y.is_empty()).then_some((val_x.as_slice(), val_y.as_slice()));
    let on_epoch = |r: &EpochRecord| {
        bar.set_position(r.epoch as u64);
        let val = r
            .val_accuracy
            .map_or(String::new(), |a| format!(" val acc {a:.3}"));
        bar.set_message(format!("loss {:.4} acc {:.3}{val}", r.loss, r.accuracy));
    };
    let trained = train_validated(&x, &y, val, width, classes, &opts.hyper(), on_epoch)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let history = trained.history;
    let model = trained.model.with_features(data.feature_names.clone());
    bar.finish_and_clear();

    // Both files are written and synced before either is renamed into place: a failure
    // leaves the old model and history as they were.
    let hist_path = history_path(&opts.out);
    let hist = serde_json::json!({
        "data": opts.data, "seed": opts.seed, "split_seed": opts.split_seed, "hidden": opts.hidden,
        "features": data.feature_names,
        "lr": opts.lr, "batch": opts.batch, "test_split": opts.test_split,
        "val_split": opts.val_split,
        "train_rows": split.train.len(), "val_rows": validation.test.len(),
        "test_rows": split.test.len(),
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

    let train_accuracy = eval::confusion(&model, &data, &validation.train)?
        .0
        .accuracy();
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
        val_rows: validation.test.len(),
        best_epoch: trained.best_epoch,
        val_accuracy: trained.best_val_accuracy,
        stop_reason: trained.stop,
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
        validation,
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
    /// Stop when the score has not improved on the best by more than `tol` for
    /// `n_iter_no_change` epochs in a row (scikit-learn's `MLPClassifier` rules: the epoch loss,
    /// or the validation accuracy when there is a validation part); `None` runs every epoch.
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
    /// Mean cross-entropy on the validation rows after the epoch (none without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f32>,
    /// Fraction of the validation rows predicted right after the epoch (none without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f32>,
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

/// Fits the normalizer and the network on `rows × width` raw features `x` with labels `y`,
/// calling `on_epoch` after each epoch, and stopping on the training loss
/// ([`train_validated`] without a validation part).
pub fn train(
    x: &[f32],
    y: &[u8],
    width: usize,
    classes: usize,
    opts: &Hyper,
    on_epoch: impl FnMut(&EpochRecord),
) -> Result<(HostModel, Vec<EpochRecord>), TrainError> {
    let t = train_validated(x, y, None, width, classes, opts, on_epoch)?;
    Ok((t.model, t.history))
}

/// A fit of [`train_validated`].
#[derive(Debug)]
pub struct Trained {
    /// The model: the best epoch's weights with a validation part, else the last epoch's.
    pub model: HostModel,
    /// Loss and accuracy per epoch.
    pub history: Vec<EpochRecord>,
    /// The 1-based epoch of the best validation accuracy (`None` without a validation part).
    pub best_epoch: Option<usize>,
    /// That accuracy.
    pub best_val_accuracy: Option<f64>,
    /// Why training ended.
    pub stop: StopReason,
}

/// [`train`] with an optional validation part `val` (raw rows of `width` features and their
/// labels), held out of the fit (the normalizer is fitted on `x` only). With one, each epoch
/// records the loss and accuracy on it, and training follows scikit-learn's
/// `early_stopping=True`: it stops on the validation accuracy ([`EarlyStopping`], with
/// `opts.convergence`; `None` runs every epoch) and ends with the weights of the best epoch.
pub fn train_validated(
    x: &[f32],
    y: &[u8],
    val: Option<(&[f32], &[u8])>,
    width: usize,
    classes: usize,
    opts: &Hyper,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<Trained, TrainError> {
    let n = y.len();
    let bad = |x: &[f32], n: usize| n == 0 || x.len() != n * width;
    if bad(x, n) || val.is_some_and(|(vx, vy)| bad(vx, vy.len())) {
        return Err(TrainError::Options(format!(
            "{n} labels for {} values of width {width}, or an empty or ragged validation part",
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
    let mut val = match val {
        Some((vx, vy)) => {
            let mut xs = vec![0.0f32; vx.len()];
            for (raw, out) in vx.chunks_exact(width).zip(xs.chunks_exact_mut(width)) {
                norm.transform(raw, out)?;
            }
            Some(Validation::new(xs, vy, width, &mlp))
        }
        None => None,
    };
    // scikit-learn starts the best weights at the initial ones.
    let mut best_params = val.as_ref().map(|_| mlp.params().to_vec());
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
    // With `convergence` None, the rules still track the best epoch but never stop.
    let (tol, patience) = opts.convergence.unwrap_or((0.0, usize::MAX));
    let mut plateau = LossPlateau::new(tol, patience);
    let mut early = EarlyStopping::new(f64::from(tol), patience);
    let mut stop = StopReason::MaxEpochs;
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
        let mut record = EpochRecord {
            epoch,
            loss: (loss_sum / n as f64) as f32,
            accuracy: correct as f32 / n as f32,
            val_loss: None,
            val_accuracy: None,
        };
        if !record.loss.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                loss: record.loss,
                lr: opts.lr,
            });
        }
        // sklearn/neural_network/_multilayer_perceptron.py, `_update_no_improvement_count`:
        // the validation score when there is a validation part, else the training loss.
        let done = match (&mut val, &mut best_params) {
            (Some(v), Some(best)) => {
                trainer.write_to(&mut mlp)?;
                let (loss, accuracy) = v.evaluate(&mlp)?;
                record.val_loss = Some(loss as f32);
                record.val_accuracy = Some(accuracy as f32);
                let step = early.update(accuracy);
                if step.improved {
                    best.copy_from_slice(mlp.params());
                }
                step.stop.then_some(StopReason::ValidationAccuracy)
            }
            _ => plateau
                .update(record.loss)
                .then_some(StopReason::TrainingLoss),
        };
        on_epoch(&record);
        history.push(record);
        if let Some(why) = done {
            stop = why;
            break;
        }
    }
    match &best_params {
        Some(best) => mlp.params_mut().copy_from_slice(best),
        None => trainer.write_to(&mut mlp)?,
    }
    let validated = best_params.is_some();
    Ok(Trained {
        model: HostModel::new(Model::new(norm, mlp)?),
        history,
        best_epoch: early.best_epoch().filter(|_| validated),
        best_val_accuracy: validated.then(|| early.best()).filter(|b| b.is_finite()),
        stop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
