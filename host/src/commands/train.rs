//! `mlprobe train`: fit the classifier on a CSV file and write a model file.

use crate::commands::Outcome;
use crate::commands::eval::{self, EvalReport};
use crate::data::Dataset;
use crate::data::{self, Labels};
use crate::error::{Error, Result};
use crate::model_io::HostModel;
use crate::train::{self, EpochRecord, Split, TrainOptions, stratified_split};
use crate::{model_io, output};
use indicatif::{ProgressBar, ProgressStyle};
use mlprobe_core::transform::Fill;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Train the classifier on a CSV file.
#[derive(Debug, clap::Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "The rows are split (stratified by class) into a training part and a held-out part of\n\
    --test-split; the normalizer and the network are fitted on the training part only, and the\n\
    held-out metrics are printed at the end. The per-epoch loss and accuracy are written beside\n\
    the model as <MODEL stem>.history.json.\n\n\
    Example:\n  mlprobe train --data data/wine.csv --out wine.mlpb --seed 0"
)]
pub struct Args {
    /// CSV file: a header row, numeric feature columns and a label column of class numbers 0..63.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Hidden units of the Linear → ReLU → Linear network.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub hidden: u16,
    /// Passes over the training rows at most (see --tol for stopping early).
    #[arg(long, default_value_t = 200)]
    pub epochs: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
    /// Rows per mini-batch.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Seed of the initial weights and the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seed of the train/test split (kept apart from --seed so that models trained with
    /// different seeds are compared on the same held-out rows).
    #[arg(long, default_value_t = 42)]
    pub split_seed: u64,
    /// Fraction of rows held out for testing, in [0, 1).
    #[arg(long, default_value_t = 0.3)]
    pub test_split: f64,
    /// How the normalizer fills missing values: `mean` (the training mean) or a number (the
    /// seed's fill_na, which then takes part in the fit).
    #[arg(long, value_name = "mean|VALUE", default_value = "mean")]
    pub fill_na: String,
    /// Stop early when the epoch loss has not improved by more than TOL for --n-iter-no-change
    /// epochs in a row (scikit-learn MLPClassifier's rule and defaults); 0 runs every epoch.
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f32,
    /// Epochs without improvement before stopping early (see --tol).
    #[arg(long, default_value_t = 10)]
    pub n_iter_no_change: usize,
    /// The model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The `train` JSON document (DESIGN.md).
#[derive(Debug, Serialize)]
pub struct TrainReport {
    /// Path of the model written.
    pub model: PathBuf,
    /// Path of the history written.
    pub history: PathBuf,
    /// Epochs run.
    pub epochs: usize,
    /// Mean loss of the last epoch.
    pub final_loss: f32,
    /// Accuracy of the final model on the training rows.
    pub train_accuracy: f64,
    /// The `eval` figures on the held-out rows (absent with --test-split 0).
    pub test: Option<EvalReport>,
}

/// `<dir>/<stem>.history.json` beside the model.
pub fn history_path(model: &Path) -> PathBuf {
    let stem = model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    model.with_file_name(format!("{stem}.history.json"))
}

fn parse_fill(s: &str) -> Result<Fill> {
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

/// A fit and what it was made from.
#[derive(Debug)]
pub struct Fitted {
    /// The trained model (also written to `--out`).
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

/// Checks the options, loads the data, trains, writes the model and its history, and evaluates
/// the held-out rows. A progress bar shows on a terminal.
pub fn fit(args: &Args) -> Result<Fitted> {
    if !(0.0..1.0).contains(&args.test_split) {
        return Err(Error::Usage(format!(
            "--test-split {}: expected a fraction in [0, 1)",
            args.test_split
        )));
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(Error::Usage(format!(
            "--lr {}: expected a positive number",
            args.lr
        )));
    }
    if !(args.tol.is_finite() && args.tol >= 0.0) {
        return Err(Error::Usage(format!(
            "--tol {}: expected a number >= 0",
            args.tol
        )));
    }
    if args.epochs == 0 {
        return Err(Error::Usage("--epochs must be at least 1".into()));
    }
    let fill = parse_fill(&args.fill_na)?;
    let data = data::load(&args.data, Labels::Required(&args.label))?;
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| Error::Internal("labels were required".into()))?;
    let classes = data.classes();
    if classes < 2 {
        return Err(Error::file(
            &args.data,
            format!(
                "column `{}` holds a single class; training needs two or more",
                args.label
            ),
        ));
    }
    let split = stratified_split(labels, args.test_split, args.split_seed);
    let width = data.width();
    let mut x = Vec::with_capacity(split.train.len() * width);
    let mut y = Vec::with_capacity(split.train.len());
    for &i in &split.train {
        x.extend_from_slice(data.row(i));
        y.push(labels[i]);
    }
    let opts = TrainOptions {
        hidden: args.hidden.into(),
        epochs: args.epochs,
        lr: args.lr,
        batch: args.batch as usize,
        seed: args.seed,
        fill,
        convergence: (args.tol > 0.0).then_some((args.tol, args.n_iter_no_change)),
    };
    let bar = ProgressBar::new(args.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} {bar:30} {pos}/{len} epochs {msg} [{elapsed}<{eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix("training");
    let (model, history) = train::train(&x, &y, width, classes, &opts, |r: &EpochRecord| {
        bar.set_position(r.epoch as u64);
        bar.set_message(format!("loss {:.4} acc {:.3}", r.loss, r.accuracy));
    })
    .map_err(|e| Error::Usage(e.to_string()))?;
    bar.finish_and_clear();

    model_io::save(&args.out, &model)?;
    let hist_path = history_path(&args.out);
    let hist = serde_json::json!({
        "data": args.data, "seed": args.seed, "split_seed": args.split_seed, "hidden": args.hidden,
        "lr": args.lr, "batch": args.batch, "test_split": args.test_split,
        "train_rows": split.train.len(), "test_rows": split.test.len(),
        "epochs": history,
    });
    let text = serde_json::to_string_pretty(&hist).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&hist_path, text).map_err(|e| Error::io(&hist_path, e))?;

    let train_accuracy = eval::confusion(&model, &data, &split.train)?.accuracy();
    let test = if split.test.is_empty() {
        None
    } else {
        Some(eval::evaluate(&model, &data, &split.test)?)
    };
    let report = TrainReport {
        model: args.out.clone(),
        history: hist_path,
        epochs: history.len(),
        final_loss: history.last().map_or(f32::NAN, |r| r.loss),
        train_accuracy,
        test,
    };
    Ok(Fitted {
        model,
        history,
        data,
        split,
        report,
    })
}

/// Runs `mlprobe train`.
pub fn run(args: Args) -> Result<Outcome> {
    let Fitted {
        model,
        split,
        report,
        ..
    } = fit(&args)?;
    if args.json {
        output::print_json(&report)?;
    } else {
        let d = model.dims();
        let mut s = format!(
            "trained {}-{}-{} on {} rows ({} held out) for {} epochs: final loss {:.4}, train accuracy {:.4}\n",
            d.inputs,
            d.hidden,
            d.outputs,
            split.train.len(),
            split.test.len(),
            report.epochs,
            report.final_loss,
            report.train_accuracy
        );
        s += &format!(
            "wrote {} and {}\n",
            report.model.display(),
            report.history.display()
        );
        if let Some(t) = &report.test {
            s += "held-out test rows:\n";
            s += &eval::render(t);
        }
        output::print(&s)?;
    }
    Ok(Outcome::Pass)
}
