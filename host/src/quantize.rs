//! Post-training int8 quantization with TensorFlow Lite's scheme, and the comparison of the
//! int8 model with the float one it replaces: the library behind `mlprobe quantize`.
//!
//! Calibration runs the float model on every row of a CSV file and records the range of each
//! activation tensor: the standardised input, every hidden layer's output after its ReLU and
//! the logits. Each range (widened to hold 0) gives an asymmetric int8 scale and zero point
//! ([`QParams::from_range`], TFLite's converter's rule). Weights are symmetric int8 with one
//! scale per output channel (`max |w| / 127`; one per layer with `per_tensor`), biases `i32`
//! at scale input × weight. The arithmetic that runs the result is `mlprobe_core::quant`'s.

use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::interop::QDense;
use crate::model_io::{self, HostModel, Int8};
use mlprobe_core::mlp::argmax;
use mlprobe_core::quant::QParams;
use serde::Serialize;
use std::path::PathBuf;

/// What `mlprobe quantize` does.
#[derive(Clone, Debug)]
pub struct QuantizeOptions {
    /// The float model.
    pub model: PathBuf,
    /// Rows whose activation ranges set the scales (representative inputs, labels optional).
    pub calibration: PathBuf,
    /// Rows on which the int8 model is compared with the float one (the calibration rows when
    /// `None`); with labels, both accuracies are reported.
    pub data: Option<PathBuf>,
    /// The label column of the CSV files.
    pub label: String,
    /// The int8 model file to write.
    pub out: PathBuf,
    /// One weight scale per layer rather than per output channel.
    pub per_tensor: bool,
    /// The least agreement of int8 and float predictions that passes.
    pub min_agreement: f64,
}

impl QuantizeOptions {
    /// Options with the defaults: per-channel weights, label `label`, agreement ≥ 0.98.
    pub fn new(
        model: impl Into<PathBuf>,
        calibration: impl Into<PathBuf>,
        out: impl Into<PathBuf>,
    ) -> Self {
        Self {
            model: model.into(),
            calibration: calibration.into(),
            data: None,
            label: "label".into(),
            out: out.into(),
            per_tensor: false,
            min_agreement: 0.98,
        }
    }
}

/// How one class fares in int8: its accuracy (recall: the share of its rows predicted as it)
/// in both models.
#[derive(Clone, Debug, Serialize)]
pub struct ClassChange {
    /// The class name (its index when the model has no names).
    pub class: String,
    /// Rows of the class.
    pub rows: usize,
    /// The float model's accuracy on them.
    pub float_accuracy: f64,
    /// The int8 model's.
    pub int8_accuracy: f64,
    /// `int8_accuracy − float_accuracy`.
    pub change: f64,
}

/// The int8 model against the float one on the same rows.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The file compared on.
    pub data: PathBuf,
    /// Rows compared.
    pub rows: usize,
    /// Share of rows where both predict the same class.
    pub agreement: f64,
    /// The float model's accuracy (`null` without labels).
    pub float_accuracy: Option<f64>,
    /// The int8 model's accuracy (`null` without labels).
    pub int8_accuracy: Option<f64>,
    /// Per class, with labels.
    pub per_class: Vec<ClassChange>,
    /// The largest `|int8 logit (dequantized) − float logit|` over rows and classes.
    pub max_logit_error: f64,
    /// The row (its line in the file) where that error is.
    pub max_logit_error_line: u64,
}

/// The `quantize` JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct QuantizeReport {
    /// The int8 model file written.
    pub out: PathBuf,
    /// `per-channel` or `per-tensor` weight scales.
    pub weights: &'static str,
    /// Rows of the calibration file.
    pub calibration_rows: usize,
    /// Bytes of the float and the int8 model files.
    pub float_bytes: usize,
    /// Bytes of the int8 model file.
    pub int8_bytes: usize,
    /// The comparison.
    pub comparison: Comparison,
    /// The threshold on `comparison.agreement`.
    pub min_agreement: f64,
    /// Whether the agreement reaches it.
    pub passed: bool,
}

impl QuantizeReport {
    /// Text for people.
    pub fn human(&self) -> String {
        let c = &self.comparison;
        let mut s = format!(
            "wrote {} (int8, {} weights, {} bytes; float {} bytes), calibrated on {} rows\n\
             on {} ({} rows): agreement {:.4} (minimum {})\n",
            self.out.display(),
            self.weights,
            self.int8_bytes,
            self.float_bytes,
            self.calibration_rows,
            c.data.display(),
            c.rows,
            c.agreement,
            self.min_agreement
        );
        if let (Some(f), Some(q)) = (c.float_accuracy, c.int8_accuracy) {
            s += &format!(
                "accuracy: float {f:.4}, int8 {q:.4} ({:+.2} points)\n",
                100.0 * (q - f)
            );
            for k in &c.per_class {
                s += &format!(
                    "  class {:<16} {:>5} rows  float {:.4}  int8 {:.4}  {:+.4}\n",
                    k.class, k.rows, k.float_accuracy, k.int8_accuracy, k.change
                );
            }
        }
        s += &format!(
            "largest logit error {:.6} (line {})\n",
            c.max_logit_error, c.max_logit_error_line
        );
        if !self.passed {
            s += &format!(
                "FAIL: agreement {:.4} is below --min-agreement {} (the model was written; try \
                 per-channel weights, or calibration rows closer to what it will see)\n",
                c.agreement, self.min_agreement
            );
        }
        s
    }
}

/// Activation ranges of the float model over `data`: the standardised input (index 0) and
/// every layer's output (after the ReLU for hidden layers).
fn ranges(model: &HostModel, data: &Dataset) -> Result<Vec<(f32, f32)>> {
    let d = model.dims();
    let mut r = vec![(f32::INFINITY, f32::NEG_INFINITY); d.layers() + 1];
    let mut x = vec![0.0f32; d.inputs()];
    let mut scratch = vec![0.0f32; d.hidden_total() + d.outputs()];
    let widen = |r: &mut (f32, f32), v: &[f32]| {
        for &v in v.iter().filter(|v| v.is_finite()) {
            r.0 = r.0.min(v);
            r.1 = r.1.max(v);
        }
    };
    for i in 0..data.rows() {
        model
            .norm
            .transform(data.row(i), &mut x)
            .map_err(|e| Error::Internal(format!("standardising: {e}")))?;
        widen(&mut r[0], &x);
        model
            .mlp
            .forward(&x, &mut scratch)
            .map_err(|e| Error::Internal(format!("inference: {e}")))?;
        let mut at = 0;
        for (k, range) in r[1..].iter_mut().enumerate() {
            let w = d.width(k + 1);
            widen(range, &scratch[at..at + w]);
            at += w;
        }
    }
    Ok(r)
}

/// Symmetric int8 weights of one `[n × m]` layer: scales (per row, or one) and values.
fn quantize_weights(weight: &[f32], n: usize, per_tensor: bool) -> (Vec<f32>, Vec<i8>) {
    let m = weight.len() / n;
    let absmax = |w: &[f32]| w.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let scale_of = |max: f32| if max > 0.0 { max / 127.0 } else { 1.0 };
    let scales: Vec<f32> = if per_tensor {
        vec![scale_of(absmax(weight))]
    } else {
        weight
            .chunks_exact(m)
            .map(|r| scale_of(absmax(r)))
            .collect()
    };
    let q = weight
        .iter()
        .enumerate()
        .map(|(j, &w)| {
            let s = scales[if per_tensor { 0 } else { j / m }];
            (w / s).round().clamp(-127.0, 127.0) as i8
        })
        .collect();
    (scales, q)
}

/// The int8 model of `model` calibrated on `data`'s rows.
pub fn quantize_model(model: &HostModel, data: &Dataset, per_tensor: bool) -> Result<HostModel> {
    if model.int8.is_some() {
        return Err(Error::Usage(
            "the model is already int8: quantize its float original".into(),
        ));
    }
    if data.rows() == 0 {
        return Err(Error::file(&data.path, "has no rows to calibrate on"));
    }
    let d = model.dims();
    let r = ranges(model, data)?;
    let act: Vec<QParams> = r
        .iter()
        .map(|&(lo, hi)| QParams::from_range(lo, hi))
        .collect();
    let mut layers = Vec::with_capacity(d.layers());
    for (k, l) in model.mlp.layers().enumerate() {
        let n = d.width(k + 1);
        let (weight_scale, weight) = quantize_weights(l.weight, n, per_tensor);
        let s_in = act[k].scale;
        let bias = l
            .bias
            .iter()
            .enumerate()
            .map(|(o, &b)| {
                let s = s_in * weight_scale[if per_tensor { 0 } else { o }];
                // `as` saturates: a bias beyond i32 at this scale is clamped, as TFLite's
                // converter does.
                (b / s).round() as i32
            })
            .collect();
        layers.push(QDense {
            output: act[k + 1],
            weight_scale,
            bias,
            weight,
        });
    }
    let mut q = model.clone();
    let int8 = Int8::new(model.norm.clone(), d, act[0], layers).map_err(Error::Internal)?;
    // The float view of the int8 model: its dequantized values (what a reload gives).
    let bytes = {
        q.int8 = Some(int8);
        model_io::to_bytes(&q)?
    };
    model_io::from_bytes(&bytes).map_err(Error::Internal)
}

/// Compares `int8` with `float` on every row of `data` (already bound to the model).
pub fn compare(float: &HostModel, int8: &HostModel, data: &Dataset) -> Result<Comparison> {
    let d = float.dims();
    let (mut sf, mut sq) = (vec![0.0; d.scratch_len()], vec![0.0; d.scratch_len()]);
    let k = d.outputs();
    let (mut agree, mut right_f, mut right_q) = (0usize, 0usize, 0usize);
    let (mut rows_of, mut f_of, mut q_of) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    let (mut max_err, mut max_line) = (0.0f64, 0u64);
    let err = |e: mlprobe_core::mlp::MlpError| Error::Internal(format!("inference: {e}"));
    for i in 0..data.rows() {
        let lf = float.infer(data.row(i), &mut sf).map_err(err)?;
        let lq = int8.infer(data.row(i), &mut sq).map_err(err)?;
        let (pf, pq) = (argmax(lf), argmax(lq));
        agree += usize::from(pf == pq);
        for (a, b) in lf.iter().zip(lq) {
            let e = f64::from((a - b).abs());
            if e > max_err {
                max_err = e;
                max_line = data.lines[i];
            }
        }
        if let Some(labels) = &data.labels {
            let y = usize::from(labels[i]);
            rows_of[y] += 1;
            right_f += usize::from(pf == y);
            right_q += usize::from(pq == y);
            f_of[y] += usize::from(pf == y);
            q_of[y] += usize::from(pq == y);
        }
    }
    let n = data.rows().max(1) as f64;
    let labelled = data.labels.is_some();
    let names = float.classes.clone();
    let per_class = if labelled {
        (0..k)
            .filter(|&c| rows_of[c] > 0)
            .map(|c| {
                let r = rows_of[c] as f64;
                let (fa, qa) = (f_of[c] as f64 / r, q_of[c] as f64 / r);
                ClassChange {
                    class: names
                        .as_ref()
                        .and_then(|n| n.get(c).cloned())
                        .unwrap_or_else(|| c.to_string()),
                    rows: rows_of[c],
                    float_accuracy: fa,
                    int8_accuracy: qa,
                    change: qa - fa,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Comparison {
        data: data.path.clone(),
        rows: data.rows(),
        agreement: agree as f64 / n,
        float_accuracy: labelled.then(|| right_f as f64 / n),
        int8_accuracy: labelled.then(|| right_q as f64 / n),
        per_class,
        max_logit_error: max_err,
        max_logit_error_line: max_line,
    })
}

/// Loads a CSV file for `model`, labels optional, columns bound by name.
fn rows_for(model: &HostModel, path: &std::path::Path, label: &str) -> Result<Dataset> {
    let data = data::load(path, Labels::Optional(label))?;
    model_io::bind(model, data)
}

/// Quantizes, writes the int8 model and compares it with the float one.
pub fn quantize(opts: &QuantizeOptions) -> Result<QuantizeReport> {
    if !(0.0..=1.0).contains(&opts.min_agreement) {
        return Err(Error::Usage(format!(
            "--min-agreement {}: it is a share of rows, 0 to 1",
            opts.min_agreement
        )));
    }
    let float = model_io::load(&opts.model)?;
    if float.int8.is_some() {
        return Err(Error::file(
            &opts.model,
            "is already an int8 model: quantize its float original",
        ));
    }
    let calibration = rows_for(&float, &opts.calibration, &opts.label)?;
    let calibration_rows = calibration.rows();
    // Every input is read before the model is written: a bad --data writes nothing.
    let compared = match &opts.data {
        Some(p) => Some(rows_for(&float, p, &opts.label)?),
        None => None,
    };
    let int8 = quantize_model(&float, &calibration, opts.per_tensor)?;
    let bytes = model_io::to_bytes(&int8)?;
    let float_bytes = model_io::to_bytes(&float)?.len();
    let inputs: Vec<&std::path::Path> = [Some(opts.model.as_path()), Some(&opts.calibration)]
        .into_iter()
        .chain([opts.data.as_deref()])
        .flatten()
        .collect();
    crate::output::write_new(&opts.out, &bytes, &inputs)?;
    let compared = compared.unwrap_or(calibration);
    let comparison = compare(&float, &int8, &compared)?;
    Ok(QuantizeReport {
        out: opts.out.clone(),
        weights: if opts.per_tensor {
            "per-tensor"
        } else {
            "per-channel"
        },
        calibration_rows,
        float_bytes,
        int8_bytes: bytes.len(),
        passed: comparison.agreement >= opts.min_agreement,
        min_agreement: opts.min_agreement,
        comparison,
    })
}
