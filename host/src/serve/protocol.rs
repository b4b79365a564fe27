//! The Open Inference Protocol v2 (KServe, Triton) as JSON: the request a client sends, the
//! answer, the model's metadata and the error body, and the checks between a request and the
//! rows a model can score.
//!
//! Only what a classifier of fixed width needs: one input tensor `[n, F]` of `FP32` (`data`
//! flat, row-major, as the protocol's JSON form has it), answered by `logits` `[n, C]` `FP32`
//! and `class` `[n]` `INT64`. Every other shape, type or layout is a 400 whose message names
//! the field.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// `POST /v2/models/NAME/infer`'s body, its strings borrowed from the body where they hold no
/// escapes.
#[derive(Debug, Deserialize)]
pub struct InferRequest<'a> {
    /// The request's id, echoed in the answer; also the canary's sticky unit.
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    /// The input tensors: exactly one.
    #[serde(borrow)]
    pub inputs: Vec<InputTensor<'a>>,
    /// Requested outputs (accepted and ignored: both outputs are always sent).
    #[serde(default)]
    pub outputs: Option<IgnoredAny>,
    /// Request parameters (accepted and ignored).
    #[serde(default)]
    pub parameters: Option<IgnoredAny>,
}

/// One input tensor.
#[derive(Debug, Deserialize)]
pub struct InputTensor<'a> {
    /// Its name (any).
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// `[n, F]`.
    pub shape: Vec<i64>,
    /// `FP32`.
    #[serde(borrow)]
    pub datatype: Cow<'a, str>,
    /// `n × F` numbers, row-major.
    pub data: Vec<f32>,
    /// Tensor parameters (accepted and ignored).
    #[serde(default)]
    pub parameters: Option<IgnoredAny>,
}

/// An output tensor of the answer.
#[derive(Debug, Serialize)]
pub struct OutputTensor<'a, T> {
    /// `logits` or `class`.
    pub name: &'static str,
    /// `[n, C]` or `[n]`.
    pub shape: &'a [usize],
    /// `FP32` or `INT64`.
    pub datatype: &'static str,
    /// The values, row-major.
    pub data: &'a [T],
}

/// The answer to an inference request.
#[derive(Debug, Serialize)]
pub struct InferResponse<'a> {
    /// The served model's name.
    pub model_name: &'a str,
    /// The request's id, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    /// `logits`, then `class` (INT64 in the protocol, written from the `u8` classes: the
    /// same JSON numbers).
    pub outputs: (OutputTensor<'a, f32>, OutputTensor<'a, u8>),
}

/// A tensor's description in the model's metadata.
#[derive(Debug, Serialize)]
pub struct TensorMeta {
    /// Its name.
    pub name: &'static str,
    /// Its datatype.
    pub datatype: &'static str,
    /// Its shape, `-1` for the batch dimension.
    pub shape: Vec<i64>,
}

/// `GET /v2/models/NAME`.
#[derive(Debug, Serialize)]
pub struct ModelMetadata<'a> {
    /// The model's name.
    pub name: &'a str,
    /// Versions served (none are named).
    pub versions: Vec<String>,
    /// `mlprobe`.
    pub platform: &'static str,
    /// `input` `[-1, F]` `FP32`.
    pub inputs: Vec<TensorMeta>,
    /// `logits` `[-1, C]` `FP32`, `class` `[-1]` `INT64`.
    pub outputs: Vec<TensorMeta>,
}

impl<'a> ModelMetadata<'a> {
    /// The metadata of a model with `features` inputs and `classes` outputs.
    pub fn new(name: &'a str, features: usize, classes: usize) -> Self {
        Self {
            name,
            versions: Vec::new(),
            platform: "mlprobe",
            inputs: vec![TensorMeta {
                name: "input",
                datatype: "FP32",
                shape: vec![-1, features as i64],
            }],
            outputs: vec![
                TensorMeta {
                    name: "logits",
                    datatype: "FP32",
                    shape: vec![-1, classes as i64],
                },
                TensorMeta {
                    name: "class",
                    datatype: "INT64",
                    shape: vec![-1],
                },
            ],
        }
    }
}

/// The protocol's error body: `{"error": "…"}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// What is wrong.
    pub error: &'a str,
}

/// `POST /v2/feedback`'s body: the true class of an answered request's row (`label`), or of
/// each of its rows (`labels`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// The id of the answered request.
    pub id: String,
    /// The true class of a one-row request.
    #[serde(default)]
    pub label: Option<u64>,
    /// The true class of each row.
    #[serde(default)]
    pub labels: Option<Vec<u64>>,
}

/// A checked request: its id, its `n × F` values and `n`.
pub type Rows<'a> = (Option<Cow<'a, str>>, Vec<f32>, usize);

/// Checks a request against a model of `features` inputs: the rows (`n × F` values) or the
/// 400 message.
pub fn rows_of(req: InferRequest<'_>, features: usize) -> Result<Rows<'_>, String> {
    let InferRequest { id, mut inputs, .. } = req;
    if inputs.len() != 1 {
        return Err(format!(
            "inputs: expected one input tensor of shape [n, {features}], got {}",
            inputs.len()
        ));
    }
    let t = inputs.pop().expect("one input");
    if t.datatype != "FP32" {
        return Err(format!(
            "inputs[0].datatype: expected \"FP32\", got {:?}",
            crate::limits::excerpt(&t.datatype)
        ));
    }
    let n = match *t.shape.as_slice() {
        [n, f] if n >= 1 && f == features as i64 => n as usize,
        [_, f] if f != features as i64 => {
            return Err(format!(
                "inputs[0].shape: the model has {features} features, the tensor {f}"
            ));
        }
        _ => {
            return Err(format!(
                "inputs[0].shape: expected [n, {features}] with n ≥ 1, got {:?}",
                t.shape
            ));
        }
    };
    if t.data.len() != n.saturating_mul(features) {
        return Err(format!(
            "inputs[0].data: shape [{n}, {features}] needs {} values, got {}",
            n.saturating_mul(features),
            t.data.len()
        ));
    }
    Ok((id, t.data, n))
}
