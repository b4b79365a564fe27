//! Networks described outside mlprobe's model file: safetensors (PyTorch `state_dict` names),
//! ONNX graphs and TensorFlow Lite flatbuffers. Each format's reader produces a [`Network`], each writer takes one; the
//! model module turns a `Network` into a checked model (and back), so the formats know nothing
//! of the model file and the model file knows nothing of the formats.

pub mod safetensors;

use mlprobe_core::quant::QParams;
use mlprobe_core::transform::Fill;

pub mod c;
pub mod onnx;
pub mod tflite;

/// One dense layer: `y = W·x + b`, `W` of shape `[outputs, inputs]` row-major (PyTorch's
/// `nn.Linear.weight` layout; ONNX `Gemm` with `transB = 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Inputs of the layer (columns of `weight`).
    pub inputs: usize,
    /// Outputs of the layer (rows of `weight`, length of `bias`).
    pub outputs: usize,
    /// `[outputs, inputs]`, row-major.
    pub weight: Vec<f32>,
    /// `[outputs]`.
    pub bias: Vec<f32>,
}

/// A classifier as the formats describe it, before any check of mlprobe's limits:
/// `(x − mean) / std`, then the dense layers with a ReLU between consecutive ones (none after
/// the last: its outputs are the logits).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The dense layers, first to last. Their shapes chain (`layers[k].outputs ==
    /// layers[k + 1].inputs`): the readers check it and name the tensor or node that breaks it.
    pub layers: Vec<Dense>,
    /// The standardisation in front: `(mean, std)`, each of `layers[0].inputs` values; `None`
    /// when the format has none (the inputs are used as they are: mean 0, std 1).
    pub normalizer: Option<(Vec<f32>, Vec<f32>)>,
    /// What replaces a missing input cell.
    pub fill: Fill,
    /// The feature (input column) names, one per input, when the file has them.
    pub features: Option<Vec<String>>,
    /// The class names, one per output, when the file has them.
    pub classes: Option<Vec<String>>,
    /// What the reader noticed that the user should know (each with advice): an absent
    /// normaliser, ignored no-op nodes, and so on.
    pub notes: Vec<String>,
}

/// One int8 dense layer as the formats hold it ([`mlprobe_core::quant`]'s scheme): the
/// output's scale and zero point, the weight scales (one per output channel, or one), `i32`
/// biases at scale input × weight, and `[outputs × inputs]` row-major `i8` weights.
#[derive(Clone, Debug, PartialEq)]
pub struct QDense {
    /// The output tensor's parameters.
    pub output: QParams,
    /// One scale per output channel, or one for the layer.
    pub weight_scale: Vec<f32>,
    /// The biases.
    pub bias: Vec<i32>,
    /// The weights.
    pub weight: Vec<i8>,
}

impl QDense {
    /// The core's borrowed view.
    pub fn view(&self) -> mlprobe_core::quant::QLayer<'_> {
        mlprobe_core::quant::QLayer {
            output: self.output,
            weight_scale: &self.weight_scale,
            bias: &self.bias,
            weight: &self.weight,
        }
    }
}

/// An int8 classifier: the float [`Network`] it stands for (its dequantized values, the
/// standardisation in front and the names) and its int8 layers, fed by the standardised
/// input quantized with `input`'s parameters. A ReLU (the clamp at the output's zero point)
/// follows every layer but the last.
#[derive(Clone, Debug, PartialEq)]
pub struct QNetwork {
    /// The float view: normalizer, fill, names, notes, and each layer's dequantized values.
    pub float: Network,
    /// The quantized input's parameters.
    pub input: QParams,
    /// The int8 layers, the same shapes as `float.layers`.
    pub layers: Vec<QDense>,
}

impl Network {
    /// The first and last layers, once every layer's outputs are the next one's inputs; else
    /// a message naming the two layers that do not chain.
    pub fn chain(&self) -> Result<(&Dense, &Dense), String> {
        let (Some(first), Some(last)) = (self.layers.first(), self.layers.last()) else {
            return Err("the network has no dense layer".into());
        };
        for (k, pair) in self.layers.windows(2).enumerate() {
            if pair[0].outputs != pair[1].inputs {
                return Err(format!(
                    "shapes do not chain: layer {} has {} outputs but layer {} takes {} inputs",
                    k + 1,
                    pair[0].outputs,
                    k + 2,
                    pair[1].inputs
                ));
            }
        }
        Ok((first, last))
    }
}
