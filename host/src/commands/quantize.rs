//! `mlprobe quantize`: a float model to int8 (TensorFlow Lite's scheme), compared with it.

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::quantize::{QuantizeOptions, quantize};
use std::path::PathBuf;

/// Quantize a model to int8 and compare it with the float one.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Quantize a float model to int8 with TensorFlow Lite's post-training scheme, write it, \
        and compare it with the float model.\n\n\
        The float model runs on every row of --calibration; the range of each activation (the \
        standardised input, each hidden layer after its ReLU, the logits) sets an asymmetric int8 \
        scale and zero point. Weights are symmetric int8 with one scale per output channel (one \
        per layer with --per-tensor), biases int32 at scale input x weight. Standardisation stays \
        in float in front of the input's quantization. Inference then is integer only, with \
        TFLite's reference-kernel arithmetic (Q31 multiplier and shift), the same code on the host \
        and on the device.\n\n\
        The int8 model is a model file like any other: predict, eval, device validate and export \
        take it (predict and eval report its dequantized logits).\n\n\
        The comparison runs on --data (default: the calibration rows): agreement of int8 and \
        float predictions, both accuracies and each class's (with labels), the largest logit \
        error. Exit 1 when the agreement is below --min-agreement (the model is written all the \
        same, to be inspected).",
    after_help = "Examples:\n  mlprobe quantize --model wine.mlpb --calibration train.csv --data test.csv --out wine.int8.mlpb\n  mlprobe quantize --model wine.mlpb --calibration train.csv --out wine.int8.mlpb --per-tensor --json"
)]
pub struct Args {
    /// The float model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// CSV rows that set the activation ranges: representative inputs, e.g. the training data.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub calibration: PathBuf,
    /// CSV rows to compare the two models on (held-out data, labels optional); default: the
    /// calibration rows.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Label column name (used when present).
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Where to write the int8 model (a new file; never one of the inputs).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// One weight scale per layer instead of one per output channel.
    #[arg(long)]
    pub per_tensor: bool,
    /// The least share of rows on which int8 and float predict the same class (exit 1 below).
    #[arg(long, default_value_t = 0.98, value_name = "SHARE")]
    pub min_agreement: f64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe quantize`.
pub fn run(args: Args) -> Result<Outcome> {
    let mut opts = QuantizeOptions::new(args.model, args.calibration, args.out);
    opts.data = args.data;
    opts.label = args.label;
    opts.per_tensor = args.per_tensor;
    opts.min_agreement = args.min_agreement;
    let report = quantize(&opts)?;
    emit(args.json, &report, |r| r.human(), report.passed)
}
