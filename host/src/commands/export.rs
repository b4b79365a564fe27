//! `mlprobe export`: a model in another format.

use crate::commands::Outcome;
use crate::error::Result;
use crate::model_io::{ExportFormat, ExportOptions, export};
use crate::output;
use std::path::PathBuf;

/// Formats `export` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// safetensors with PyTorch `state_dict` names (fc1.weight, fc1.bias, fc2.weight, … for
    /// any depth, normalizer.mean, normalizer.std; the feature names in metadata
    /// mlprobe.features).
    Safetensors,
    /// An ONNX graph (opset 13): input `input` [N, F] FLOAT, output `logits`; Sub/Div
    /// normaliser, then Gemm (transB=1) + Relu per layer; feature names in metadata_props.
    Onnx,
    /// A TensorFlow Lite flatbuffer: input `input` [1, F] FLOAT32 (any batch), SUB/DIV
    /// normaliser, FULLY_CONNECTED with fused RELU per layer, output `logits`; an int8 model
    /// (from `mlprobe quantize`) as int8 FULLY_CONNECTED layers between QUANTIZE and
    /// DEQUANTIZE; feature and class names in the model's metadata (mlprobe.features,
    /// mlprobe.classes: JSON arrays).
    Tflite,
    /// A C99 header for firmware: the weights (float, or int8 from `mlprobe quantize`) as
    /// static arrays and `mlprobe_model_infer(features, logits)`, mlprobe's own arithmetic
    /// (bit for bit with -ffp-contract=off); <stdint.h> only, no malloc.
    C,
}

/// Write a model in another format.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Load the result in PyTorch with\n  safetensors.torch.load_file(\"wine.safetensors\")\nand `model.load_state_dict` on a module with Linear attributes fc1, fc2, … (ReLU between them;\nignore the normalizer.* keys, or use them to standardise inputs).\n\nThe ONNX graph takes the raw features (its Sub/Div nodes standardise them) and gives the\nlogits, as `mlprobe predict` does; run it with\n  onnxruntime.InferenceSession(\"wine.onnx\").run([\"logits\"], {\"input\": x.astype(\"float32\")})\n\nThe TFLite model does the same (one row per invoke, or resize its input to [N, F]); run it with\n  ai_edge_litert.interpreter.Interpreter(model_path=\"wine.tflite\")\n\nThe C header holds the model and `mlprobe_model_infer(features, logits)`: #include it in one .c\nfile, compile with -ffp-contract=off for mlprobe's logits bit for bit, and check the firmware\nagainst mlprobe with `mlprobe device validate`.\n\nExamples:\n  mlprobe export wine.mlpb --format safetensors --out wine.safetensors\n  mlprobe export wine.mlpb --format onnx --out wine.onnx\n  mlprobe export wine.mlpb --format tflite --out wine.tflite\n  mlprobe export wine.mlpb --format c --out wine_model.h"
)]
pub struct Args {
    /// The model file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "safetensors")]
    pub format: Format,
    /// Where to write (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe export`: the summary line goes to stderr (unless the model went to stdout),
/// `--json` to stdout (not with `--out -`: one document on stdout).
pub fn run(args: Args) -> Result<Outcome> {
    output::claim_stdout(args.json, &[("--out", Some(&args.out))])?;
    let format = match args.format {
        Format::Safetensors => Some(ExportFormat::Safetensors),
        Format::Onnx => Some(ExportFormat::Onnx),
        Format::Tflite | Format::C => None,
    };
    let report = match format {
        Some(format) => export(&ExportOptions {
            model: args.model,
            format,
            out: args.out,
        })?,
        None if matches!(args.format, Format::C) => {
            crate::interop::c::export(&args.model, &args.out)?
        }
        None => crate::interop::tflite::export(&args.model, &args.out)?,
    };
    if args.json {
        output::print_json(&report)?;
    } else if report.out.as_os_str() != "-" {
        crate::output::eprintln(&report.human());
    }
    Ok(Outcome::Pass)
}
