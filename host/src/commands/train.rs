//! `mlprobe train`: fit the classifier on a CSV file and write a model file.

use crate::cli::parse;
use crate::commands::{Outcome, emit_to};
use crate::error::Result;
use crate::train::{self, TrainOptions, TrainReport};
use std::path::PathBuf;

/// Train the classifier on a CSV file.
#[derive(Debug, clap::Args)]
#[command(
    allow_negative_numbers = true,
    after_help = "The rows are split (stratified by class) into a training part and a held-out part of\n\
    --test-split; the normalizer and the network are fitted on the training part only, and the\n\
    held-out metrics are printed at the end. A validation part of --val-split is held out of the\n\
    training part (stratified, seeded from --split-seed): the network is not fitted on it, and after\n\
    each epoch its accuracy decides when to stop, as scikit-learn's MLPClassifier does with\n\
    early_stopping=True: an epoch whose validation accuracy is below the best so far plus --tol\n\
    counts as one without improvement (any other resets the count), training stops once more than\n\
    --n-iter-no-change such epochs come in a row, and the model keeps the weights of the epoch with\n\
    the best validation accuracy. With --val-split 0 every training row is fitted and training stops\n\
    on the training loss instead. The per-epoch loss and accuracy (on the training rows and on the\n\
    validation rows) are written beside the model as <MODEL stem>.history.json (none with --out -,\n\
    which writes the model to stdout).\n\n\
    Example:\n  mlprobe train --data data/wine.csv --out wine.mlpb --seed 0"
)]
pub struct Args {
    /// CSV file: a header row, numeric feature columns and a label column of class numbers 0..63.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Units of each hidden layer, comma-separated: `32` is the seed's Linear → ReLU → Linear,
    /// `64,32` two hidden layers (Linear → ReLU → Linear → ReLU → Linear). 1 to 7 layers of 1
    /// to 256 units.
    #[arg(long, value_name = "UNITS[,UNITS…]", default_value = "32", value_delimiter = ',',
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub hidden: Vec<u16>,
    /// The feature columns to train on, comma-separated names (default: every column but the
    /// label). The model stores them: every command that feeds it data takes these columns by
    /// name, in any order, and ignores the others.
    #[arg(long, value_name = "COL[,COL…]", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Passes over the training rows at most, 1 or more (see --tol for stopping early; the
    /// history grows with the epochs run, so a large bound costs nothing until it is reached).
    #[arg(long, default_value_t = 200, value_parser = parse::usize_in(1, usize::MAX))]
    pub epochs: usize,
    /// Adam's learning rate, above 0 and at most 10. Training that diverges (a loss that is
    /// not a finite number) stops with an error and writes nothing.
    #[arg(long, default_value_t = 0.01, value_parser = parse::f32_positive(train::MAX_LR))]
    pub lr: f32,
    /// Rows per mini-batch, 1 or more; a batch larger than the training rows is all of them.
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
    #[arg(long, default_value_t = 0.3, value_parser = parse::f64_in(0.0, 1.0))]
    pub test_split: f64,
    /// Fraction of the training rows held out of the fit as the validation part, in [0, 1):
    /// training stops when its accuracy stops improving and keeps the best epoch's weights
    /// (scikit-learn's early_stopping=True; see below). 0 fits every training row and stops on
    /// the training loss. The part needs at least 2 rows.
    #[arg(long, default_value_t = 0.1, value_parser = parse::f64_in(0.0, 1.0))]
    pub val_split: f64,
    /// How the normalizer fills missing values: `mean` (the training mean) or a number (the
    /// seed's fill_na, which then takes part in the fit).
    #[arg(long, value_name = "mean|VALUE", default_value = "mean")]
    pub fill_na: String,
    /// Stop early when the validation accuracy (with --val-split 0, the epoch's training loss)
    /// has not improved by more than TOL for more than --n-iter-no-change epochs in a row
    /// (scikit-learn MLPClassifier's rules and defaults); 0 runs every epoch. From 0 to 1000000.
    #[arg(long, default_value_t = 1e-4, value_parser = parse::f32_in(0.0, train::MAX_TOL))]
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

impl Args {
    /// The library's options.
    pub fn options(&self) -> Result<TrainOptions> {
        Ok(TrainOptions {
            data: self.data.clone(),
            label: self.label.clone(),
            out: self.out.clone(),
            hidden: self.hidden.iter().map(|&h| h.into()).collect(),
            features: self.features.clone(),
            epochs: self.epochs,
            lr: self.lr,
            batch: self.batch as usize,
            seed: self.seed,
            split_seed: self.split_seed,
            test_split: self.test_split,
            val_split: self.val_split,
            fill: train::parse_fill(&self.fill_na)?,
            tol: self.tol,
            n_iter_no_change: self.n_iter_no_change,
        })
    }
}

/// Runs `mlprobe train`.
pub fn run(args: Args) -> Result<Outcome> {
    let to = crate::output::claim_stdout(args.json, &[("--out", Some(&args.out))])?;
    let fitted = train::fit(&args.options()?)?;
    emit_to(to, args.json, &fitted.report, TrainReport::human, true)
}
