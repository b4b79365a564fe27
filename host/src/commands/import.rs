//! `mlprobe import`: a safetensors file (PyTorch names) or an ONNX graph into an mlprobe model
//! file.

use crate::commands::Outcome;
use crate::error::Result;
use crate::model_io::{ImportOptions, import};
use crate::output;
use std::path::PathBuf;

/// Read a safetensors model into an mlprobe model file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The file holds PyTorch state_dict tensors of the seed's SimpleClassifier:\n  fc1.weight [hidden, inputs], fc1.bias [hidden], fc2.weight [classes, hidden], fc2.bias [classes]\nand optionally normalizer.mean / normalizer.std [inputs] (F32 or F64).\nWrite it from PyTorch with\n  safetensors.torch.save_file(model.state_dict() | {\"normalizer.mean\": mean, \"normalizer.std\": std}, \"m.safetensors\")\n\nExample:\n  mlprobe import m.safetensors --out m.mlpb"
)]
pub struct Args {
    /// The safetensors file, or an ONNX graph (a name ending in .onnx).
    ///
    /// An ONNX file is read as an MLP graph: Gemm (transB 0 or 1), MatMul + Add, Relu, the
    /// no-ops Flatten, Identity and Reshape to [N, F], a final Softmax (dropped: mlprobe's logits
    /// are before it), and Sub/Div by constants on the input as the normaliser (identity when
    /// absent). Any other operator is an error naming the node. Feature names come from the
    /// model's metadata_props `mlprobe.features` (comma-separated). Example:
    /// `mlprobe import m.onnx --out m.mlpb`
    #[arg(value_name = "FILE.safetensors|FILE.onnx")]
    pub input: PathBuf,
    /// The mlprobe model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe import`: warnings and the summary line go to stderr, `--json` to stdout.
pub fn run(args: Args) -> Result<Outcome> {
    output::claim_stdout(args.json, &[("--out", Some(&args.out))])?;
    let report = import(&ImportOptions {
        input: args.input,
        out: args.out,
    })?;
    for w in &report.warnings {
        crate::output::eprintln(&format!("mlprobe: warning: {w}"));
    }
    if args.json {
        output::print_json(&report)?;
    } else {
        crate::output::eprintln(&report.human());
    }
    Ok(Outcome::Pass)
}
