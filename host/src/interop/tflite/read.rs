//! Reading: a fully-connected TFLite model, float or int8, as a [`Model`].
//!
//! The one subgraph is followed from its one input to its one output, operator by operator,
//! each taking the previous one's output: `SUB` then `DIV` by constants on the input (the
//! normaliser; identity when absent, with a note), then `FULLY_CONNECTED` layers (FLOAT32
//! weights `[outputs, inputs]`, an optional bias, fused activation `NONE` or `RELU`) with an
//! optional `RELU` operator after each. An int8 model has a `QUANTIZE` of the standardised
//! input (int8, one scale and zero point), int8 `FULLY_CONNECTED` layers (INT8 weights with
//! zero point 0, one scale or one per output along dimension 0; INT32 bias; INT8 output; ReLU
//! fused) and a `DEQUANTIZE` of the last to FLOAT32 logits. Any other operator is an error
//! naming it and its index.

use super::fb;
use super::{CLASSES_KEY, FEATURES_KEY, FILL_KEY, Model, excerpt, op_name};
use crate::interop::{Dense, Network, QDense, QNetwork};
use mlprobe_core::quant::QParams;
use mlprobe_core::transform::Fill;

/// What [`read()`] knows, for messages.
const OPERATORS: &str = "FULLY_CONNECTED (float or int8; fused activation NONE or RELU), \
                         RELU, SUB/DIV by constants on the input, and QUANTIZE/DEQUANTIZE around \
                         the int8 layers";

/// The file's tables, with index checks.
struct File<'a> {
    model: fb::Model<'a>,
    tensors: flatbuffers::Vector<'a, flatbuffers::ForwardsUOffset<fb::Tensor<'a>>>,
}

impl<'a> File<'a> {
    fn tensor(&self, index: i32) -> Result<fb::Tensor<'a>, String> {
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.tensors.len())
            .map(|i| self.tensors.get(i))
            .ok_or_else(|| {
                format!(
                    "tensor index {index} is out of range (the subgraph has {} tensors)",
                    self.tensors.len()
                )
            })
    }

    /// The bytes of a constant tensor, `None` for an activation (no data).
    fn data(&self, t: &fb::Tensor<'a>) -> Result<Option<&'a [u8]>, String> {
        let buffers = self.model.buffers().ok_or("the model has no buffers")?;
        let b = t.buffer() as usize;
        if b >= buffers.len() {
            return Err(format!(
                "tensor `{}` points to buffer {b} of {}",
                excerpt(t.name().unwrap_or("")),
                buffers.len()
            ));
        }
        Ok(buffers
            .get(b)
            .data()
            .map(|d| d.bytes())
            .filter(|d| !d.is_empty()))
    }

    /// The metadata entry `name` as text, when present.
    fn metadata(&self, name: &str) -> Result<Option<&'a str>, String> {
        let Some(entries) = self.model.metadata() else {
            return Ok(None);
        };
        let Some(m) = entries.iter().find(|m| m.name() == Some(name)) else {
            return Ok(None);
        };
        let buffers = self.model.buffers().ok_or("the model has no buffers")?;
        let b = m.buffer() as usize;
        let bytes = (b < buffers.len())
            .then(|| buffers.get(b).data())
            .flatten()
            .map_or(&[][..], |d| d.bytes());
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| format!("metadata {name} is not UTF-8 text"))
    }
}

/// `tensor `fc1.weight``, or `tensor #3` when it has no name.
fn tensor_label(t: &fb::Tensor<'_>, index: i32) -> String {
    match t.name() {
        Some(n) if !n.is_empty() => format!("tensor `{}`", excerpt(n)),
        _ => format!("tensor #{index}"),
    }
}

fn shape(t: &fb::Tensor<'_>) -> Vec<i64> {
    t.shape()
        .map(|s| s.iter().map(i64::from).collect())
        .unwrap_or_default()
}

/// A constant tensor of type `ty`: its bytes (`width` each, as many as its shape says), its
/// shape and its label.
fn constant<'a>(
    file: &File<'a>,
    index: i32,
    ty: fb::TensorType,
    width: usize,
) -> Result<(&'a [u8], Vec<i64>, String), String> {
    let t = file.tensor(index)?;
    let label = tensor_label(&t, index);
    if t.type_() != ty {
        return Err(format!(
            "{label} is {}; {} is needed",
            type_name(t.type_()),
            type_name(ty)
        ));
    }
    let Some(bytes) = file.data(&t)? else {
        return Err(format!("{label} is not a constant (it has no data)"));
    };
    let dims = shape(&t);
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| {
            usize::try_from(d).ok().and_then(|d| a.checked_mul(d))
        })
        .ok_or_else(|| format!("{label} has shape {dims:?}"))?;
    if Some(bytes.len()) != n.checked_mul(width) {
        return Err(format!(
            "{label} has shape {dims:?} ({n} values) but {} bytes of data",
            bytes.len()
        ));
    }
    Ok((bytes, dims, label))
}

/// The values of a constant FLOAT32 tensor and its shape.
fn floats(file: &File<'_>, index: i32) -> Result<(Vec<f32>, Vec<i64>), String> {
    let (bytes, dims, _) = constant(file, index, fb::TensorType::FLOAT32, 4)?;
    let values = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((values, dims))
}

fn type_name(t: fb::TensorType) -> String {
    match t.variant_name() {
        Some(n) => n.to_string(),
        None => format!("tensor type {}", t.0),
    }
}

/// A tensor's quantization: its scales and zero points (one each per tensor, or one per
/// channel along the returned dimension); an error naming the tensor when it has none.
fn quantization(file: &File<'_>, index: i32) -> Result<(Vec<f32>, Vec<i64>, i32, String), String> {
    let t = file.tensor(index)?;
    let label = tensor_label(&t, index);
    let q = t.quantization();
    let scale: Vec<f32> = q
        .and_then(|q| q.scale())
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let zero: Vec<i64> = q
        .and_then(|q| q.zero_point())
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if scale.is_empty() || scale.len() != zero.len() {
        return Err(format!(
            "{label} has {} scales and {} zero points; an int8 tensor needs its quantization",
            scale.len(),
            zero.len()
        ));
    }
    if let Some(s) = scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(format!(
            "{label} has scale {s}; a finite positive scale is needed"
        ));
    }
    Ok((scale, zero, q.map_or(0, |q| q.quantized_dimension()), label))
}

/// The quantization of an int8 activation: one scale, one zero point in `[-128, 127]`.
fn activation_qparams(file: &File<'_>, index: i32) -> Result<QParams, String> {
    let t = file.tensor(index)?;
    if t.type_() != fb::TensorType::INT8 {
        return Err(format!(
            "{} is {}; INT8 is needed",
            tensor_label(&t, index),
            type_name(t.type_())
        ));
    }
    let (scale, zero, _, label) = quantization(file, index)?;
    match (&scale[..], &zero[..]) {
        ([s], [z]) if (-128..=127).contains(z) => Ok(QParams {
            scale: *s,
            zero_point: *z as i32,
        }),
        _ => Err(format!(
            "{label} has scales {scale:?} and zero points {zero:?}; an activation has one \
             scale and one zero point in [-128, 127]"
        )),
    }
}

/// A constant operand of `SUB`/`DIV` broadcast over `[1, width]`: one value or `width`
/// values (shape `[]`, `[1]`, `[width]` or `[1, width]`).
fn broadcast(values: Vec<f32>, dims: &[i64], width: usize, what: &str) -> Result<Vec<f32>, String> {
    let leading_ones = dims.len() <= 1 || dims[..dims.len() - 1].iter().all(|&d| d == 1);
    match values.len() {
        1 if leading_ones => Ok(vec![values[0]; width]),
        n if n == width && leading_ones => Ok(values),
        _ => Err(format!(
            "{what} has shape {dims:?}; [{width}], [1, {width}] or one value is needed"
        )),
    }
}

/// The float view of an int8 layer fed by a tensor of scale `input_scale`: each weight times
/// its scale, each bias times input scale × weight scale, in `f32`, as the model file's float
/// view (`mlprobe_core::model::ModelFile::copy_into`).
pub(super) fn dequantized(l: &QDense, inputs: usize, outputs: usize, input_scale: f32) -> Dense {
    let scale = |o: usize| l.weight_scale[if l.weight_scale.len() == 1 { 0 } else { o }];
    Dense {
        inputs,
        outputs,
        weight: l
            .weight
            .iter()
            .enumerate()
            .map(|(j, &w)| f32::from(w) * scale(j / inputs.max(1)))
            .collect(),
        bias: l
            .bias
            .iter()
            .enumerate()
            .map(|(o, &b)| b as f32 * (input_scale * scale(o)))
            .collect(),
    }
}

/// Where the walk is: what the next operator may be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum At {
    /// The subgraph's input.
    Input,
    /// After the normaliser's `SUB`.
    Centered,
    /// After the normaliser's `DIV`.
    Normalized,
    /// After `QUANTIZE`: int8 from here.
    Quantized,
    /// After a dense layer without activation (a `RELU` may follow a float one).
    Dense,
    /// After a dense layer's ReLU.
    Relu,
    /// After the final `DEQUANTIZE`.
    Dequantized,
}

/// The names in metadata `key` (a JSON array of strings), `count` of them.
fn name_list(
    file: &File<'_>,
    key: &str,
    count: usize,
    what: &str,
) -> Result<Option<Vec<String>>, String> {
    let Some(text) = file.metadata(key)? else {
        return Ok(None);
    };
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| format!("metadata {key} is not a JSON array of strings ({e})"))?;
    if names.len() != count {
        return Err(format!(
            "metadata {key} has {} names but the network has {count} {what}",
            names.len()
        ));
    }
    Ok(Some(names))
}

/// Reads a TFLite model holding a fully-connected network, float or int8 (see the module
/// documentation for what is read).
///
/// Errors are messages for the caller to prefix with the file's name: they name the operator
/// (its index and builtin name) or the tensor.
pub fn read(bytes: &[u8]) -> Result<Model, String> {
    if bytes.len() < 8 || !fb::model_buffer_has_identifier(bytes) {
        return Err("not a TFLite model (no `TFL3` file identifier at bytes 4..8)".into());
    }
    let model = fb::root_as_model(bytes).map_err(|e| {
        // The verifier's message spans lines (the path to the bad field): one line here.
        let why = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "not a TFLite model: the flatbuffer does not verify ({why}); is the file truncated?"
        )
    })?;
    let subgraphs = model.subgraphs().ok_or("the model has no subgraph")?;
    if subgraphs.len() != 1 {
        return Err(format!(
            "the model has {} subgraphs; mlprobe reads models of one",
            subgraphs.len()
        ));
    }
    let graph = subgraphs.get(0);
    let file = File {
        model,
        tensors: graph.tensors().ok_or("the subgraph has no tensors")?,
    };
    let codes = model.operator_codes();
    let ios = |v: Option<flatbuffers::Vector<'_, i32>>| v.map(|v| v.iter().collect::<Vec<_>>());
    let (inputs, outputs) = (
        ios(graph.inputs()).unwrap_or_default(),
        ios(graph.outputs()).unwrap_or_default(),
    );
    let ([input], [output]) = (&inputs[..], &outputs[..]) else {
        return Err(format!(
            "the subgraph has {} inputs and {} outputs; an MLP has one of each",
            inputs.len(),
            outputs.len()
        ));
    };
    let input_t = file.tensor(*input)?;
    if input_t.type_() != fb::TensorType::FLOAT32 {
        return Err(format!(
            "the input {} is {}; mlprobe reads models with a FLOAT32 input (an int8 model \
             quantizes it with a QUANTIZE operator)",
            tensor_label(&input_t, *input),
            type_name(input_t.type_())
        ));
    }
    let mut width = shape(&input_t).last().copied().unwrap_or(0).max(0) as usize;
    let mut current = *input;
    let mut at = At::Input;
    let mut mean = None;
    let mut std = None;
    let mut layers: Vec<Dense> = Vec::new();
    let mut input_q: Option<QParams> = None;
    let mut qlayers: Vec<QDense> = Vec::new();
    let mut from_scale = 0.0f32;
    let operators = graph.operators().unwrap_or_default();
    for (i, op) in operators.iter().enumerate() {
        let code = codes
            .and_then(|c| {
                let k = op.opcode_index() as usize;
                (k < c.len()).then(|| c.get(k))
            })
            .ok_or_else(|| {
                format!(
                    "operator #{i}: opcode index {} is out of range",
                    op.opcode_index()
                )
            })?;
        // TFLite's rule (schema_utils GetBuiltinCode): the larger of the two fields.
        let builtin = fb::BuiltinOperator(
            i32::from(code.deprecated_builtin_code()).max(code.builtin_code().0),
        );
        let name = op_name(builtin);
        let here = format!("operator #{i} ({name})");
        if builtin == fb::BuiltinOperator::CUSTOM {
            return Err(format!(
                "operator #{i}: custom operator `{}`; mlprobe reads {OPERATORS}",
                excerpt(code.custom_code().unwrap_or(""))
            ));
        }
        if !matches!(
            builtin,
            fb::BuiltinOperator::SUB
                | fb::BuiltinOperator::DIV
                | fb::BuiltinOperator::FULLY_CONNECTED
                | fb::BuiltinOperator::RELU
                | fb::BuiltinOperator::QUANTIZE
                | fb::BuiltinOperator::DEQUANTIZE
        ) {
            return Err(format!(
                "{here}: unsupported operator `{name}`; mlprobe reads fully-connected models: \
                 {OPERATORS}"
            ));
        }
        let op_inputs: Vec<i32> = op.inputs().map(|v| v.iter().collect()).unwrap_or_default();
        let op_outputs: Vec<i32> = op.outputs().map(|v| v.iter().collect()).unwrap_or_default();
        let [out] = op_outputs[..] else {
            return Err(format!("{here}: {} outputs; one is read", op_outputs.len()));
        };
        if op_inputs.first() != Some(&current) {
            return Err(format!(
                "{here}: its first input is not the previous operator's output; an MLP is one \
                 chain from the input to the output"
            ));
        }
        if at == At::Dequantized {
            return Err(format!(
                "{here}: an operator after the DEQUANTIZE of the logits; it ends an int8 model"
            ));
        }
        let operand = |k: usize| -> Result<i32, String> {
            op_inputs
                .get(k)
                .copied()
                .filter(|&t| t >= 0)
                .ok_or_else(|| format!("{here}: input {k} is missing"))
        };
        let float_side = matches!(at, At::Input | At::Centered | At::Normalized);
        match builtin {
            fb::BuiltinOperator::SUB | fb::BuiltinOperator::DIV => {
                let sub = builtin == fb::BuiltinOperator::SUB;
                let ok = if sub {
                    at == At::Input
                } else {
                    matches!(at, At::Input | At::Centered)
                };
                if !ok {
                    return Err(format!(
                        "{here}: SUB then DIV are read only on the input, as its standardisation"
                    ));
                }
                let (values, dims) = floats(&file, operand(1)?)?;
                let what = if sub { "the subtrahend" } else { "the divisor" };
                let v = broadcast(values, &dims, width, &format!("{here}: {what}"))?;
                if sub {
                    mean = Some(v);
                    at = At::Centered;
                } else {
                    std = Some(v);
                    at = At::Normalized;
                }
            }
            fb::BuiltinOperator::QUANTIZE => {
                if !float_side {
                    return Err(format!(
                        "{here}: a QUANTIZE is read only on the (standardised) float input"
                    ));
                }
                let q =
                    activation_qparams(&file, out).map_err(|e| format!("{here}: output {e}"))?;
                from_scale = q.scale;
                input_q = Some(q);
                at = At::Quantized;
            }
            fb::BuiltinOperator::DEQUANTIZE => {
                if input_q.is_none() || at != At::Dense {
                    return Err(format!(
                        "{here}: a DEQUANTIZE is read only on the last int8 layer's output"
                    ));
                }
                let t = file.tensor(out)?;
                if t.type_() != fb::TensorType::FLOAT32 {
                    return Err(format!(
                        "{here}: output {} is {}; FLOAT32 is needed",
                        tensor_label(&t, out),
                        type_name(t.type_())
                    ));
                }
                at = At::Dequantized;
            }
            fb::BuiltinOperator::FULLY_CONNECTED => {
                if at == At::Dense {
                    return Err(format!(
                        "{here}: two dense layers without a ReLU between them; mlprobe's \
                         hidden layers end in a ReLU (fused or a RELU operator)"
                    ));
                }
                // Int8 from the QUANTIZE on (QUANTIZE is read only before the first layer).
                let int8 = input_q.is_some();
                let opts = op.builtin_options_as_fully_connected_options();
                let activation = opts.map_or(fb::ActivationFunctionType::NONE, |o| {
                    o.fused_activation_function()
                });
                if opts.is_some_and(|o| {
                    o.weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT
                }) {
                    return Err(format!("{here}: shuffled weights are not read"));
                }
                let w_index = operand(1)?;
                let (w_type, w_width) = if int8 {
                    (fb::TensorType::INT8, 1)
                } else {
                    (fb::TensorType::FLOAT32, 4)
                };
                let (w_bytes, dims, w_label) = constant(&file, w_index, w_type, w_width)
                    .map_err(|e| format!("{here}: weights {e}"))?;
                let [outputs, inputs] = dims[..] else {
                    return Err(format!(
                        "{here}: weights {w_label} have shape {dims:?}; [outputs, inputs] is \
                         needed"
                    ));
                };
                let (outputs, inputs) = (outputs as usize, inputs as usize);
                if inputs != width {
                    return Err(format!(
                        "{here}: weights {w_label} have shape {dims:?} but the layer's input \
                         has {width} values: shapes do not chain"
                    ));
                }
                let bias_index = op_inputs.get(2).copied().filter(|&t| t >= 0);
                if int8 {
                    let (scale, zero, dim, _) = quantization(&file, w_index)?;
                    if zero.iter().any(|&z| z != 0) {
                        return Err(format!(
                            "{here}: weights {w_label} have zero points {zero:?}; int8 weights \
                             are symmetric (zero point 0)"
                        ));
                    }
                    if !(scale.len() == 1 || (scale.len() == outputs && dim == 0)) {
                        return Err(format!(
                            "{here}: weights {w_label} have {} scales along dimension {dim}; \
                             one, or one per output along dimension 0, is read",
                            scale.len()
                        ));
                    }
                    let bias = match bias_index {
                        None => vec![0; outputs],
                        Some(b) => {
                            let (bytes, bdims, label) =
                                constant(&file, b, fb::TensorType::INT32, 4)
                                    .map_err(|e| format!("{here}: bias {e}"))?;
                            if bytes.len() != outputs * 4 {
                                return Err(format!(
                                    "{here}: bias {label} has shape {bdims:?}; [{outputs}] is \
                                     needed"
                                ));
                            }
                            bytes
                                .chunks_exact(4)
                                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                                .collect()
                        }
                    };
                    let output = activation_qparams(&file, out)
                        .map_err(|e| format!("{here}: output {e}"))?;
                    let q = QDense {
                        weight: w_bytes.iter().map(|&b| b as i8).collect(),
                        weight_scale: scale,
                        bias,
                        output,
                    };
                    layers.push(dequantized(&q, inputs, outputs, from_scale));
                    from_scale = output.scale;
                    qlayers.push(q);
                } else {
                    let weight: Vec<f32> = w_bytes
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    let bias = match bias_index {
                        None => vec![0.0; outputs],
                        Some(b) => {
                            let (values, bdims) =
                                floats(&file, b).map_err(|e| format!("{here}: bias {e}"))?;
                            if values.len() != outputs {
                                return Err(format!(
                                    "{here}: bias {} has shape {bdims:?}; [{outputs}] is needed",
                                    tensor_label(&file.tensor(b)?, b)
                                ));
                            }
                            values
                        }
                    };
                    layers.push(Dense {
                        inputs,
                        outputs,
                        weight,
                        bias,
                    });
                }
                width = outputs;
                at = match activation {
                    fb::ActivationFunctionType::NONE => At::Dense,
                    fb::ActivationFunctionType::RELU => At::Relu,
                    other => {
                        return Err(format!(
                            "{here}: fused activation {}; mlprobe's layers use RELU (NONE on the \
                             last)",
                            other.variant_name().unwrap_or("of an unknown kind")
                        ));
                    }
                };
            }
            fb::BuiltinOperator::RELU => {
                if at != At::Dense || input_q.is_some() {
                    return Err(format!(
                        "{here}: a RELU is read only right after a float FULLY_CONNECTED \
                         without one (int8 layers fuse it)"
                    ));
                }
                at = At::Relu;
            }
            _ => unreachable!("operators were checked above"),
        }
        current = out;
    }
    if current != *output {
        return Err(format!(
            "the operators end at {} but the subgraph's output is {}",
            tensor_label(&file.tensor(current)?, current),
            tensor_label(&file.tensor(*output)?, *output)
        ));
    }
    let Some(first_inputs) = layers.first().map(|l| l.inputs) else {
        return Err("no FULLY_CONNECTED operator: not an MLP".into());
    };
    if at == At::Relu {
        return Err(
            "the model ends with a ReLU after its last layer; mlprobe's logits are the last \
             layer's outputs, without an activation"
                .into(),
        );
    }
    if input_q.is_some() && at != At::Dequantized {
        return Err(
            "the int8 model does not end with a DEQUANTIZE to FLOAT32 logits; mlprobe's int8 \
             models give float logits"
                .into(),
        );
    }
    let mut notes = Vec::new();
    let normalizer = match (mean, std) {
        (None, None) => {
            notes.push(
                "no SUB/DIV normaliser on the input: inputs are used as they are (mean 0, std \
                 1); put the training set's mean and std in front as SUB and DIV operators if \
                 the model was trained on standardised features"
                    .into(),
            );
            None
        }
        (m, s) => Some((
            m.unwrap_or_else(|| vec![0.0; first_inputs]),
            s.unwrap_or_else(|| vec![1.0; first_inputs]),
        )),
    };
    let fill = match file.metadata(FILL_KEY)? {
        None | Some("mean") => Fill::Mean,
        Some(v) => match v.parse::<f32>() {
            Ok(x) if x.is_finite() => Fill::Value(x),
            _ => {
                return Err(format!(
                    "metadata {FILL_KEY} = `{}` is neither `mean` nor a finite number",
                    excerpt(v)
                ));
            }
        },
    };
    let outer = Network {
        features: name_list(&file, FEATURES_KEY, first_inputs, "inputs")?,
        classes: name_list(&file, CLASSES_KEY, width, "outputs")?,
        layers,
        normalizer,
        fill,
        notes,
    };
    Ok(match input_q {
        None => Model::Float(outer),
        Some(input) => Model::Int8(QNetwork {
            float: outer,
            input,
            layers: qlayers,
        }),
    })
}
