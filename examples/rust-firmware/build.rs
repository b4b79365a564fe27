//! Puts the memory map where the linker finds it, and the model in as constants.
//!
//! The model is the mlprobe model file named by `MLPROBE_MODEL` (default
//! `../../firmware/models/wine.mlpb`, relative to this directory), read with `mlprobe-core` (a
//! build-dependency only: the firmware runs its own inference, `src/main.rs`). It becomes
//! `$OUT_DIR/model.rs`: the widths, the standardiser, each dense layer's weights and biases as
//! `[f32; N]` arrays, and `MODEL_CRC`, the file's checksum the host compares with the device's.
//! Only float models: an int8 model fails the build. With the `fault` feature, one first-layer
//! weight's sign is flipped (see below).

use mlprobe_core::model::ModelFile;
use mlprobe_core::protocol::check_dims;
use mlprobe_core::transform::Fill;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::{env, fs};

/// `values` as the body of an `[f32; N]` array literal, six to a line. `{:?}` prints the
/// shortest decimal that reads back as the same `f32`: the constants are the file's bits.
fn floats(values: &[f32]) -> String {
    let mut s = String::from("[");
    for (k, v) in values.iter().enumerate() {
        if k % 6 == 0 {
            s.push_str("\n    ");
        }
        write!(s, "{v:?}, ").unwrap();
    }
    s.push_str("\n]");
    s
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());

    // cortex-m-rt's link.x includes `memory.x`: from OUT_DIR, on the linker's search path.
    println!("cargo:rerun-if-changed=memory.x");
    fs::copy(manifest.join("memory.x"), out_dir.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out_dir.display());

    // The model file.
    println!("cargo:rerun-if-env-changed=MLPROBE_MODEL");
    let path = env::var_os("MLPROBE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../firmware/models/wine.mlpb"));
    let path = manifest.join(path); // an absolute MLPROBE_MODEL stays as it is
    println!("cargo:rerun-if-changed={}", path.display());
    let shown = path.display();
    let bytes = fs::read(&path).unwrap_or_else(|e| {
        panic!("{shown}: {e} (set MLPROBE_MODEL to a model file written by `mlprobe train`)")
    });
    let model = ModelFile::parse(&bytes).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let d = model.dims();
    if let Err(e) = check_dims(&d) {
        panic!("{shown}: {e}: the agent cannot serve this model");
    }
    let Some(params) = model.float_params() else {
        panic!(
            "{shown} is an int8 model: this example's inference is f32 only \
             (use the float model it was quantized from)"
        );
    };
    let mut params: Vec<f32> = params.collect();
    if let Some(k) = params.iter().position(|v| !v.is_finite()) {
        panic!("{shown}: parameter {k} is not finite");
    }
    // The `fault` feature (for mlprobe's tests, which expect the validation to fail): one
    // first-layer weight's sign flipped. Which one, without data: for inputs standardised to
    // about N(0, 1), unit j's pre-activation is about N(b_j, |w_j|²), so it is active with
    // probability Φ(b_j / |w_j|), and weight w_ji carries |w_ji| / |w_j| of it. The product's
    // largest changes the most rows: 156 of wine's 178 (its largest weight alone: 89).
    let fault = if env::var_os("CARGO_FEATURE_FAULT").is_some() {
        let i = d.width(0);
        let score = |k: usize| {
            let row = &params[k / i * i..][..i];
            let norm = row
                .iter()
                .map(|w| w * w)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            let bias = params[d.width(1) * i + k / i];
            // Φ(z) ≈ 1 / (1 + e^(-1.702 z)).
            params[k].abs() / norm / (1.0 + (-1.702 * bias / norm).exp())
        };
        let k = (0..d.width(1) * i)
            .max_by(|&a, &b| score(a).total_cmp(&score(b)))
            .unwrap();
        params[k] = -params[k];
        format!("\n// FAULT (feature `fault`): W0[{k}]'s sign is flipped.")
    } else {
        String::new()
    };
    // What the host checks against the device's `Ident::model_crc`: the file's last 4 bytes.
    let crc = u32::from_le_bytes(bytes[bytes.len() - 4..].try_into().unwrap());

    let (inputs, outputs) = (d.inputs(), d.outputs());
    let hidden: Vec<usize> = d.hidden().iter().map(|&h| usize::from(h)).collect();
    let widths: Vec<usize> = (0..=d.layers()).map(|k| d.width(k)).collect();
    let mean: Vec<f32> = model.mean().collect();
    let std: Vec<f32> = model.std().collect();
    // mlprobe replaces a missing value (NaN) before standardising: by the fill constant, or by
    // the feature's mean (which then standardises to 0).
    let fill: Vec<f32> = match model.fill() {
        Fill::Value(c) => vec![c; inputs],
        Fill::Mean => mean.clone(),
    };

    let mut src = String::new();
    writeln!(
        src,
        "// Generated by build.rs from {shown} — do not edit.{fault}\n\n\
         /// Input features.\npub const INPUTS: usize = {inputs};\n\
         /// Units of each hidden layer.\npub const HIDDEN: [usize; {}] = {hidden:?};\n\
         /// Output logits (classes).\npub const OUTPUTS: usize = {outputs};\n\
         /// The widest of the inputs, hidden layers and outputs: an activation buffer's length.\n\
         pub const WIDEST: usize = {};\n\
         /// The model file's checksum (its last 4 bytes, little-endian).\n\
         pub const MODEL_CRC: u32 = 0x{crc:08x};\n\n\
         /// Standardisation: feature `i` becomes `(x[i] - MEAN[i]) / STD[i]`.\n\
         pub const MEAN: [f32; INPUTS] = {};\n\
         /// Standard deviations (never 0).\npub const STD: [f32; INPUTS] = {};\n\
         /// What a missing feature (NaN) is replaced by before standardising.\n\
         pub const FILL: [f32; INPUTS] = {};\n",
        hidden.len(),
        widths.iter().max().unwrap(),
        floats(&mean),
        floats(&std),
        floats(&fill),
    )
    .unwrap();

    // Each dense layer: `outputs × inputs` weights, row-major (one row per unit, PyTorch's
    // `weight`), then `outputs` biases, in the file's flat parameters.
    let mut table = String::new();
    for k in 0..d.layers() {
        let (i, o) = (widths[k], widths[k + 1]);
        let at = d.layer_offset(k);
        let (w, b) = (&params[at..at + o * i], &params[at + o * i..at + o * i + o]);
        let act = if k + 1 < d.layers() {
            "ReLU"
        } else {
            "none (logits)"
        };
        writeln!(
            src,
            "/// Layer {k}'s weights: {o} units × {i} inputs, row-major. Activation: {act}.\n\
             pub const W{k}: [f32; {}] = {};\n\
             /// Layer {k}'s biases.\npub const B{k}: [f32; {o}] = {};\n",
            w.len(),
            floats(w),
            floats(b)
        )
        .unwrap();
        writeln!(
            table,
            "    Layer {{ inputs: {i}, outputs: {o}, weight: &W{k}, bias: &B{k} }},"
        )
        .unwrap();
    }
    writeln!(
        src,
        "/// The dense layers, first to last (ReLU after all but the last).\n\
         pub const LAYERS: [Layer; {}] = [\n{table}];\n",
        d.layers()
    )
    .unwrap();

    fs::write(out_dir.join("model.rs"), src).unwrap();
}
