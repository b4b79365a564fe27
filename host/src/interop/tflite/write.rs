//! Writing: a [`Network`] as a TFLite flatbuffer (the graph is drawn in the module
//! documentation of [`super`]).

use super::fb;
use super::{CLASSES_KEY, FEATURES_KEY, FILL_KEY, INPUT, OUTPUT};
use crate::interop::{Network, QNetwork};
use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use mlprobe_core::quant::QParams;
use mlprobe_core::transform::Fill;

/// The schema version TFLite files carry (`Model.version`).
const SCHEMA_VERSION: u32 = 3;

/// A tensor's quantization: one scale and zero point per tensor, or per channel along
/// `dimension`.
pub(super) struct Quant {
    pub scale: Vec<f32>,
    pub zero_point: Vec<i64>,
    pub dimension: i32,
}

/// A model under construction: the flatbuffer builder and the offsets of what it holds so far,
/// in index order (buffer 0 is the empty buffer every tensor without data points to).
pub(super) struct Graph<'f> {
    fbb: FlatBufferBuilder<'f>,
    buffers: Vec<WIPOffset<fb::Buffer<'f>>>,
    tensors: Vec<WIPOffset<fb::Tensor<'f>>>,
    operators: Vec<WIPOffset<fb::Operator<'f>>>,
    codes: Vec<(fb::BuiltinOperator, i32)>,
    metadata: Vec<(String, u32)>,
}

impl<'f> Graph<'f> {
    pub fn new() -> Self {
        let mut fbb = FlatBufferBuilder::new();
        let empty = fb::Buffer::create(&mut fbb, &fb::BufferArgs::default());
        Self {
            fbb,
            buffers: vec![empty],
            tensors: Vec::new(),
            operators: Vec::new(),
            codes: Vec::new(),
            metadata: Vec::new(),
        }
    }

    /// A buffer holding `bytes`; its index.
    pub fn buffer(&mut self, bytes: &[u8]) -> u32 {
        let data = self.fbb.create_vector(bytes);
        let b = fb::Buffer::create(&mut self.fbb, &fb::BufferArgs { data: Some(data) });
        self.buffers.push(b);
        (self.buffers.len() - 1) as u32
    }

    /// A tensor; its index. `buffer` 0 for an activation, a [`Graph::buffer`] for a constant.
    /// An activation's first dimension (the batch) is `-1` in its shape signature, so the
    /// interpreter may be resized to run many rows at once.
    pub fn tensor(
        &mut self,
        name: &str,
        shape: &[usize],
        ty: fb::TensorType,
        buffer: u32,
        quant: Option<&Quant>,
    ) -> i32 {
        let dims: Vec<i32> = shape.iter().map(|&d| d as i32).collect();
        let signature = (buffer == 0).then(|| {
            let mut s = dims.clone();
            s[0] = -1;
            self.fbb.create_vector(&s)
        });
        let shape = self.fbb.create_vector(&dims);
        let name = self.fbb.create_string(name);
        let quantization = quant.map(|q| {
            let scale = self.fbb.create_vector(&q.scale);
            let zero_point = self.fbb.create_vector(&q.zero_point);
            fb::QuantizationParameters::create(
                &mut self.fbb,
                &fb::QuantizationParametersArgs {
                    scale: Some(scale),
                    zero_point: Some(zero_point),
                    quantized_dimension: q.dimension,
                    ..Default::default()
                },
            )
        });
        let t = fb::Tensor::create(
            &mut self.fbb,
            &fb::TensorArgs {
                shape: Some(shape),
                type_: ty,
                buffer,
                name: Some(name),
                quantization,
                shape_signature: signature,
                ..Default::default()
            },
        );
        self.tensors.push(t);
        (self.tensors.len() - 1) as i32
    }

    /// A constant FLOAT32 tensor.
    pub fn floats(&mut self, name: &str, shape: &[usize], values: &[f32]) -> i32 {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let b = self.buffer(&bytes);
        self.tensor(name, shape, fb::TensorType::FLOAT32, b, None)
    }

    /// The index of operator code `(code, version)`, added on first use.
    fn code(&mut self, code: fb::BuiltinOperator, version: i32) -> u32 {
        let i = match self.codes.iter().position(|&c| c == (code, version)) {
            Some(i) => i,
            None => {
                self.codes.push((code, version));
                self.codes.len() - 1
            }
        };
        i as u32
    }

    /// An operator of builtin `code` (at `version`) from `inputs` to `output`.
    pub fn op(
        &mut self,
        code: fb::BuiltinOperator,
        version: i32,
        inputs: &[i32],
        output: i32,
        options: Option<(fb::BuiltinOptions, WIPOffset<UnionWIPOffset>)>,
    ) {
        let opcode_index = self.code(code, version);
        let inputs = self.fbb.create_vector(inputs);
        let outputs = self.fbb.create_vector(&[output]);
        let (builtin_options_type, builtin_options) = match options {
            Some((t, o)) => (t, Some(o)),
            None => (fb::BuiltinOptions::NONE, None),
        };
        let op = fb::Operator::create(
            &mut self.fbb,
            &fb::OperatorArgs {
                opcode_index,
                inputs: Some(inputs),
                outputs: Some(outputs),
                builtin_options_type,
                builtin_options,
                ..Default::default()
            },
        );
        self.operators.push(op);
    }

    /// `FULLY_CONNECTED`'s options: the fused activation, the default weights format.
    pub fn fc_options(
        &mut self,
        activation: fb::ActivationFunctionType,
    ) -> Option<(fb::BuiltinOptions, WIPOffset<UnionWIPOffset>)> {
        let o = fb::FullyConnectedOptions::create(
            &mut self.fbb,
            &fb::FullyConnectedOptionsArgs {
                fused_activation_function: activation,
                ..Default::default()
            },
        );
        Some((
            fb::BuiltinOptions::FullyConnectedOptions,
            o.as_union_value(),
        ))
    }

    /// A metadata entry `name` holding `value`.
    pub fn metadata(&mut self, name: &str, value: &str) {
        let b = self.buffer(value.as_bytes());
        self.metadata.push((name.to_string(), b));
    }

    /// The finished file: one subgraph `main` from `input` to `output`.
    pub fn finish(mut self, input: i32, output: i32) -> Vec<u8> {
        let fbb = &mut self.fbb;
        let tensors = fbb.create_vector(&self.tensors);
        let operators = fbb.create_vector(&self.operators);
        let inputs = fbb.create_vector(&[input]);
        let outputs = fbb.create_vector(&[output]);
        let name = fbb.create_string("main");
        let subgraph = fb::SubGraph::create(
            fbb,
            &fb::SubGraphArgs {
                tensors: Some(tensors),
                inputs: Some(inputs),
                outputs: Some(outputs),
                operators: Some(operators),
                name: Some(name),
            },
        );
        let codes: Vec<_> = self
            .codes
            .iter()
            .map(|&(code, version)| {
                fb::OperatorCode::create(
                    fbb,
                    &fb::OperatorCodeArgs {
                        // Codes below 127 are in both fields; readers take the larger.
                        deprecated_builtin_code: code.0.min(127) as i8,
                        builtin_code: code,
                        version,
                        custom_code: None,
                    },
                )
            })
            .collect();
        let metadata: Vec<_> = self
            .metadata
            .iter()
            .map(|(name, buffer)| {
                let name = fbb.create_string(name);
                fb::Metadata::create(
                    fbb,
                    &fb::MetadataArgs {
                        name: Some(name),
                        buffer: *buffer,
                    },
                )
            })
            .collect();
        let codes = fbb.create_vector(&codes);
        let subgraphs = fbb.create_vector(&[subgraph]);
        let buffers = fbb.create_vector(&self.buffers);
        let metadata = fbb.create_vector(&metadata);
        let description = fbb.create_string(concat!("mlprobe ", env!("CARGO_PKG_VERSION")));
        let model = fb::Model::create(
            fbb,
            &fb::ModelArgs {
                version: SCHEMA_VERSION,
                operator_codes: Some(codes),
                subgraphs: Some(subgraphs),
                description: Some(description),
                buffers: Some(buffers),
                metadata: Some(metadata),
                ..Default::default()
            },
        );
        fb::finish_model_buffer(fbb, model);
        fbb.finished_data().to_vec()
    }
}

/// The names, as a JSON array of strings.
fn json_names(names: &[String]) -> String {
    serde_json::to_string(names).expect("strings serialise")
}

/// The metadata every file carries: class and feature names (when known) and the fill.
pub(super) fn write_metadata(g: &mut Graph<'_>, net: &Network) {
    if let Some(names) = &net.classes {
        g.metadata(CLASSES_KEY, &json_names(names));
    }
    if let Some(names) = &net.features {
        g.metadata(FEATURES_KEY, &json_names(names));
    }
    let fill = match net.fill {
        Fill::Mean => "mean".to_string(),
        Fill::Value(v) => format!("{v:?}"),
    };
    g.metadata(FILL_KEY, &fill);
}

/// The normaliser in front: `SUB` of `normalizer.mean`, `DIV` by `normalizer.std` (mean 0 and
/// std 1 when the network has none, so every file has the same shape); returns the
/// standardised tensor.
pub(super) fn write_normalizer(g: &mut Graph<'_>, net: &Network, input: i32, width: usize) -> i32 {
    let (mean, std) = match &net.normalizer {
        Some((m, s)) => (m.clone(), s.clone()),
        None => (vec![0.0; width], vec![1.0; width]),
    };
    let m = g.floats("normalizer.mean", &[width], &mean);
    let centered = g.tensor("centered", &[1, width], fb::TensorType::FLOAT32, 0, None);
    g.op(fb::BuiltinOperator::SUB, 1, &[input, m], centered, None);
    let s = g.floats("normalizer.std", &[width], &std);
    let standardized = g.tensor(
        "standardized",
        &[1, width],
        fb::TensorType::FLOAT32,
        0,
        None,
    );
    g.op(
        fb::BuiltinOperator::DIV,
        1,
        &[centered, s],
        standardized,
        None,
    );
    standardized
}

/// Encodes a float network as a TFLite model (the graph of the module documentation of
/// [`super`]): `FLOAT32` throughout, `FULLY_CONNECTED` version 1.
///
/// The bytes depend on the network only.
pub fn write(net: &Network) -> Result<Vec<u8>, String> {
    let (first, _) = net.chain()?;
    let mut g = Graph::new();
    let width = first.inputs;
    let input = g.tensor(INPUT, &[1, width], fb::TensorType::FLOAT32, 0, None);
    let mut current = write_normalizer(&mut g, net, input, width);
    let depth = net.layers.len();
    for (k, layer) in net.layers.iter().enumerate() {
        let fc = format!("fc{}", k + 1);
        let w = g.floats(
            &format!("{fc}.weight"),
            &[layer.outputs, layer.inputs],
            &layer.weight,
        );
        let b = g.floats(&format!("{fc}.bias"), &[layer.outputs], &layer.bias);
        let last = k + 1 == depth;
        let name = if last { OUTPUT } else { fc.as_str() };
        let out = g.tensor(name, &[1, layer.outputs], fb::TensorType::FLOAT32, 0, None);
        let activation = if last {
            fb::ActivationFunctionType::NONE
        } else {
            fb::ActivationFunctionType::RELU
        };
        let options = g.fc_options(activation);
        g.op(
            fb::BuiltinOperator::FULLY_CONNECTED,
            1,
            &[current, w, b],
            out,
            options,
        );
        current = out;
    }
    write_metadata(&mut g, net);
    Ok(g.finish(input, current))
}

fn quant(q: QParams) -> Quant {
    Quant {
        scale: vec![q.scale],
        zero_point: vec![i64::from(q.zero_point)],
        dimension: 0,
    }
}

/// Encodes an int8 network as a TFLite model: the float normaliser of [`write()`], then
/// `QUANTIZE` (v2) of the standardised input to `input.quantized` (int8), per layer an int8
/// `FULLY_CONNECTED` (v4; fused `RELU` except on the last) with `fcK.weight` int8 `[out, in]`
/// (zero point 0, per output channel along dimension 0 or per tensor), `fcK.bias` int32
/// (scale `input_scale · weight_scale`, zero point 0) and an int8 output, then `DEQUANTIZE`
/// (v2) of the last one to the FLOAT32 `logits`.
pub fn write_int8(q: &QNetwork) -> Result<Vec<u8>, String> {
    let (first, _) = q.float.chain()?;
    if q.layers.len() != q.float.layers.len() {
        return Err(format!(
            "{} int8 layers for {} dense layers",
            q.layers.len(),
            q.float.layers.len()
        ));
    }
    let mut g = Graph::new();
    let width = first.inputs;
    let input = g.tensor(INPUT, &[1, width], fb::TensorType::FLOAT32, 0, None);
    let standardized = write_normalizer(&mut g, &q.float, input, width);
    let mut current = g.tensor(
        "input.quantized",
        &[1, width],
        fb::TensorType::INT8,
        0,
        Some(&quant(q.input)),
    );
    g.op(
        fb::BuiltinOperator::QUANTIZE,
        2,
        &[standardized],
        current,
        None,
    );
    let mut in_scale = q.input.scale;
    let depth = q.layers.len();
    for (k, (layer, shape)) in q.layers.iter().zip(&q.float.layers).enumerate() {
        let fc = format!("fc{}", k + 1);
        let (inputs, outputs) = (shape.inputs, shape.outputs);
        if layer.weight.len() != inputs * outputs
            || layer.bias.len() != outputs
            || !(layer.weight_scale.len() == 1 || layer.weight_scale.len() == outputs)
        {
            return Err(format!(
                "int8 layer {}: {} weights, {} biases and {} weight scales for {inputs} inputs \
                 and {outputs} outputs",
                k + 1,
                layer.weight.len(),
                layer.bias.len(),
                layer.weight_scale.len()
            ));
        }
        let w_bytes: Vec<u8> = layer.weight.iter().map(|&w| w as u8).collect();
        let wb = g.buffer(&w_bytes);
        let zeros = vec![0i64; layer.weight_scale.len()];
        let w = g.tensor(
            &format!("{fc}.weight"),
            &[outputs, inputs],
            fb::TensorType::INT8,
            wb,
            Some(&Quant {
                scale: layer.weight_scale.clone(),
                zero_point: zeros.clone(),
                dimension: 0,
            }),
        );
        let b_bytes: Vec<u8> = layer.bias.iter().flat_map(|b| b.to_le_bytes()).collect();
        let bb = g.buffer(&b_bytes);
        let b = g.tensor(
            &format!("{fc}.bias"),
            &[outputs],
            fb::TensorType::INT32,
            bb,
            Some(&Quant {
                scale: layer.weight_scale.iter().map(|&s| in_scale * s).collect(),
                zero_point: zeros,
                dimension: 0,
            }),
        );
        let last = k + 1 == depth;
        let name = if last {
            "logits.quantized"
        } else {
            fc.as_str()
        };
        let out = g.tensor(
            name,
            &[1, outputs],
            fb::TensorType::INT8,
            0,
            Some(&quant(layer.output)),
        );
        let activation = if last {
            fb::ActivationFunctionType::NONE
        } else {
            fb::ActivationFunctionType::RELU
        };
        let options = g.fc_options(activation);
        g.op(
            fb::BuiltinOperator::FULLY_CONNECTED,
            4,
            &[current, w, b],
            out,
            options,
        );
        current = out;
        in_scale = layer.output.scale;
    }
    let outputs = q.float.layers[depth - 1].outputs;
    let logits = g.tensor(OUTPUT, &[1, outputs], fb::TensorType::FLOAT32, 0, None);
    g.op(fb::BuiltinOperator::DEQUANTIZE, 2, &[current], logits, None);
    write_metadata(&mut g, &q.float);
    Ok(g.finish(input, logits))
}
