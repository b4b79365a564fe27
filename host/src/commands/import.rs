//! `mlprobe import`: a safetensors file (a PyTorch MLP's `state_dict`), an ONNX graph or a
//! TensorFlow Lite model into an mlprobe model file.

use crate::commands::Outcome;
use crate::error::Result;
use crate::model_io::{ImportOptions, import};
use crate::output;
use std::path::PathBuf;

/// Read a safetensors model (a PyTorch MLP of any depth) into an mlprobe model file.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// The safetensors file, or an ONNX graph (a name ending in .onnx).
    ///
    /// An ONNX file is read as an MLP graph: Gemm (transB 0 or 1), MatMul + Add, Relu, the
    /// no-ops Flatten, Identity and Reshape to [N, F], a final Softmax (dropped: mlprobe's logits
    /// are before it), and Sub/Div by constants on the input as the normaliser (identity when
    /// absent). Any other operator is an error naming the node. Feature names come from the
    /// model's metadata_props `mlprobe.features` (comma-separated). Example:
    /// `mlprobe import m.onnx --out m.mlpb`
    ///
    /// A TFLite file (a name ending in .tflite) is read as one chain of FULLY_CONNECTED
    /// operators (fused activation RELU between layers, NONE on the last; or a RELU operator),
    /// FLOAT32, or int8 between a QUANTIZE and a DEQUANTIZE (an int8 model file), with SUB
    /// then DIV by constants on the input as the normaliser. Any other operator is an error
    /// naming it. Names come from the metadata mlprobe.features and
    /// mlprobe.classes (JSON arrays of strings). Example: `mlprobe import m.tflite --out m.mlpb`
    #[arg(value_name = "FILE.safetensors|FILE.onnx|FILE.tflite")]
    pub input: PathBuf,
    /// The mlprobe model file to write.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// safetensors only: the text in front of the layer index, taken literally, for names of
    /// no known scheme: `--prefix encoder.` reads encoder.0.weight, encoder.2.weight, …;
    /// `--prefix linear` reads linear1.weight, linear2.weight, ….
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// The input (feature) names, one per input in order; they win over the file's metadata
    /// `mlprobe.features`.
    #[arg(long, value_name = "A,B,C", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

const AFTER_HELP: &str = "\
The file holds the state_dict of a PyTorch MLP: Linear layers with a ReLU between consecutive
ones (an activation has no tensors: ReLU is assumed), F32 or F64. The layers are the tensors of
one of these key schemes, taken in numeric index order (fc10 after fc9; gaps are fine):
  0.weight, 0.bias, 2.weight, ...         nn.Sequential(Linear, ReLU, Linear, ...)
  fc1.weight, fc1.bias, fc2.weight, ...   attributes fc1, fc2, ...
  layers.0.weight, ...  /  net.0.weight, ...
  P<index>.weight, P<index>.bias          any other name, with --prefix P
weight is [outputs, inputs], bias [outputs]; each layer's inputs are the previous one's outputs.
Optional: normalizer.mean and normalizer.std [inputs] (without them inputs are used as they are,
and a warning says so); metadata mlprobe.features = \"a,b,c\" (or --features), mlprobe.fill.
Any other tensor (a BatchNorm's running_mean, a weight without its bias, a second network) is an
error naming it (exit 2): leaving it out would silently change the model.

Write it from PyTorch with
  sd = {k: v.float().contiguous() for k, v in model.state_dict().items()}
  safetensors.torch.save_file(sd | {\"normalizer.mean\": mean, \"normalizer.std\": std},
                              \"m.safetensors\", metadata={\"mlprobe.features\": \",\".join(columns)})

Examples:
  mlprobe import m.safetensors --out m.mlpb
  mlprobe import m.safetensors --out m.mlpb --prefix encoder. --features alcohol,malic_acid,ash";

/// Runs `mlprobe import`: warnings and the summary line go to stderr, `--json` to stdout.
pub fn run(args: Args) -> Result<Outcome> {
    output::claim_stdout(args.json, &[("--out", Some(&args.out))])?;
    let opts = ImportOptions {
        input: args.input,
        out: args.out,
        prefix: args.prefix,
        features: args.features,
    };
    let report = if crate::interop::tflite::is_tflite_path(&opts.input) {
        crate::interop::tflite::import(&opts)?
    } else {
        import(&opts)?
    };
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
