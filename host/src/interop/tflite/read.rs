//! Reading: a fully-connected TFLite model as a [`Network`].
//!
//! The one subgraph is followed from its one input to its one output, operator by operator,
//! each taking the previous one's output: `SUB` then `DIV` by constants on the input (the
//! normaliser; identity when absent, with a note), then `FULLY_CONNECTED` layers (FLOAT32
//! weights `[outputs, inputs]`, an optional bias, fused activation `NONE` or `RELU`) with an
//! optional `RELU` operator after each. Any other operator is an error naming it and its
//! index.

use super::fb;
use super::{CLASSES_KEY, FEATURES_KEY, FILL_KEY, excerpt, op_name};
use crate::interop::{Dense, Network};
use mlprobe_core::transform::Fill;

/// What [`read()`] knows, for messages.
const OPERATORS: &str = "FULLY_CONNECTED (fused activation NONE or RELU), RELU, and SUB/DIV \
                         by constants on the input";

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

/// The values of a constant FLOAT32 tensor and its shape.
fn floats(file: &File<'_>, index: i32) -> Result<(Vec<f32>, Vec<i64>), String> {
    let t = file.tensor(index)?;
    let label = tensor_label(&t, index);
    if t.type_() != fb::TensorType::FLOAT32 {
        return Err(format!(
            "{label} is {}; FLOAT32 is needed",
            t.type_().variant_name().unwrap_or("of an unknown type")
        ));
    }
    let Some(bytes) = file.data(&t)? else {
        return Err(format!("{label} is not a constant (it has no data)"));
    };
    let dims = shape(&t);
    let n = dims
        .iter()
        .try_fold(1i64, |a, &d| (d >= 0).then(|| a.checked_mul(d)).flatten())
        .ok_or_else(|| format!("{label} has shape {dims:?}"))?;
    if bytes.len() as i64 != n * 4 {
        return Err(format!(
            "{label} has shape {dims:?} ({n} values) but {} bytes of data",
            bytes.len()
        ));
    }
    let values = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((values, dims))
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

/// Where the walk is: what the next operator may be.
#[derive(Clone, Copy, Debug, PartialEq)]
enum At {
    /// The subgraph's input.
    Input,
    /// After the normaliser's `SUB`.
    Centered,
    /// After the normaliser's `DIV`.
    Normalized,
    /// After a dense layer without activation (a `RELU` may follow).
    Dense,
    /// After a dense layer's ReLU.
    Relu,
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

/// Reads a TFLite model holding a fully-connected network (see the module documentation for
/// what is read).
///
/// Errors are messages for the caller to prefix with the file's name: they name the operator
/// (its index and builtin name) or the tensor.
pub fn read(bytes: &[u8]) -> Result<Network, String> {
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
            "the input {} is {}; mlprobe reads models with a FLOAT32 input",
            tensor_label(&input_t, *input),
            input_t
                .type_()
                .variant_name()
                .unwrap_or("of an unknown type")
        ));
    }
    let mut width = shape(&input_t).last().copied().unwrap_or(0).max(0) as usize;
    let mut current = *input;
    let mut at = At::Input;
    let mut mean = None;
    let mut std = None;
    let mut layers: Vec<Dense> = Vec::new();
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
        let constant = |k: usize| -> Result<i32, String> {
            op_inputs
                .get(k)
                .copied()
                .filter(|&t| t >= 0)
                .ok_or_else(|| format!("{here}: input {k} is missing"))
        };
        match builtin {
            fb::BuiltinOperator::SUB | fb::BuiltinOperator::DIV => {
                let (sub, ok) = (
                    builtin == fb::BuiltinOperator::SUB,
                    if builtin == fb::BuiltinOperator::SUB {
                        at == At::Input
                    } else {
                        matches!(at, At::Input | At::Centered)
                    },
                );
                if !ok {
                    return Err(format!(
                        "{here}: SUB then DIV are read only on the input, as its standardisation"
                    ));
                }
                let (values, dims) = floats(&file, constant(1)?)?;
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
            fb::BuiltinOperator::FULLY_CONNECTED => {
                if at == At::Dense {
                    return Err(format!(
                        "{here}: two dense layers without a ReLU between them; mlprobe's \
                         hidden layers end in a ReLU (fused or a RELU operator)"
                    ));
                }
                let opts = op.builtin_options_as_fully_connected_options();
                let activation = opts.map_or(fb::ActivationFunctionType::NONE, |o| {
                    o.fused_activation_function()
                });
                if opts.is_some_and(|o| {
                    o.weights_format() != fb::FullyConnectedOptionsWeightsFormat::DEFAULT
                }) {
                    return Err(format!("{here}: shuffled weights are not read"));
                }
                let w_index = constant(1)?;
                let (weight, dims) = floats(&file, w_index)?;
                let w_label = tensor_label(&file.tensor(w_index)?, w_index);
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
                let bias = match op_inputs.get(2).copied().filter(|&t| t >= 0) {
                    None => vec![0.0; outputs],
                    Some(b) => {
                        let (values, dims) = floats(&file, b)?;
                        if values.len() != outputs {
                            return Err(format!(
                                "{here}: bias {} has shape {dims:?}; [{outputs}] is needed",
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
                if at != At::Dense {
                    return Err(format!(
                        "{here}: a RELU is read only right after a FULLY_CONNECTED without one"
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
    let Some(first) = layers.first() else {
        return Err("no FULLY_CONNECTED operator: not an MLP".into());
    };
    if at == At::Relu {
        return Err(
            "the model ends with a ReLU after its last layer; mlprobe's logits are the last \
             layer's outputs, without an activation"
                .into(),
        );
    }
    let features = first.inputs;
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
            m.unwrap_or_else(|| vec![0.0; features]),
            s.unwrap_or_else(|| vec![1.0; features]),
        )),
    };
    let outputs = layers.last().map_or(0, |l| l.outputs);
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
    Ok(Network {
        features: name_list(&file, FEATURES_KEY, features, "inputs")?,
        classes: name_list(&file, CLASSES_KEY, outputs, "outputs")?,
        layers,
        normalizer,
        fill,
        notes,
    })
}
