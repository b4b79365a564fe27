//! Model files on disk: mlprobe's own format (through [`mlprobe_core::model`]), and the
//! conversion to and from [`Network`] through which the outside formats of
//! [`crate::interop`] come in and go out; the library behind `mlprobe import` and
//! `mlprobe export`.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::interop::{self, Dense, Network, QDense, QNetwork};
use mlprobe_core::mlp::{Dims, Mlp, MlpError, Model, NonFinite};
use mlprobe_core::model::{
    ModelError, ModelFile, encode, encode_int8, encoded_len, encoded_len_int8, names_len,
};
use mlprobe_core::quant::{self, QMlp, QModel, QParams};
use mlprobe_core::transform::Standardizer;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A model held by the host: the network and its standardisation (vectors for any
/// dimensions), and the names of its features and classes when it knows them. Dereferences to
/// the core [`Model`], which computes everything.
#[derive(Clone, Debug, PartialEq)]
pub struct HostModel {
    /// The standardisation and the network.
    pub net: Model<Vec<f32>, Vec<f32>>,
    /// The feature (input column) names, one per input: `None` for a version 1 file or a
    /// model imported without them, which bind columns by position.
    pub features: Option<Vec<String>>,
    /// The class names, one per class, when known.
    pub classes: Option<Vec<String>>,
    /// The int8 form, for an int8 model: then inference ([`HostModel::infer`]) is integer
    /// and `net` holds the dequantized values (for what only a float model has: weight bit
    /// flips, the float export formats).
    pub int8: Option<Int8>,
}

/// An int8 model as the host holds it: its layers as stored, and the core network derived
/// from them that computes.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8 {
    /// The quantized input's parameters.
    pub input: QParams,
    /// The layers as the file holds them.
    pub layers: Vec<QDense>,
    /// The standardiser and the integer network (channel table derived).
    pub model: QModel<Vec<f32>, Vec<i8>, Vec<i32>>,
}

impl Int8 {
    /// Derives the integer network of `layers` behind `norm`.
    pub fn new(
        norm: Standardizer<Vec<f32>>,
        dims: Dims,
        input: QParams,
        layers: Vec<QDense>,
    ) -> std::result::Result<Self, String> {
        let mut weights = Vec::with_capacity(quant::weight_count(&dims));
        let mut channels = vec![0i32; quant::CHANNEL_INTS * quant::channel_count(&dims)];
        let mut act = vec![input];
        let (mut at, mut from) = (0, input);
        for (k, l) in layers.iter().enumerate() {
            let n = l.bias.len();
            quant::derive_channels(
                from,
                &l.view(),
                &mut channels[at..at + quant::CHANNEL_INTS * n],
            )
            .map_err(|e| format!("layer {}: {e}", k + 1))?;
            weights.extend(&l.weight);
            act.push(l.output);
            at += quant::CHANNEL_INTS * n;
            from = l.output;
        }
        let mlp = QMlp::new(dims, weights, channels, &act).map_err(|e| e.to_string())?;
        let model = QModel::new(norm, mlp).map_err(|e| e.to_string())?;
        Ok(Self {
            input,
            layers,
            model,
        })
    }

    /// Whether the weights have one scale per layer rather than per output channel.
    pub fn per_tensor(&self) -> bool {
        self.layers.iter().all(|l| l.weight_scale.len() == 1)
    }
}

impl std::ops::Deref for HostModel {
    type Target = Model<Vec<f32>, Vec<f32>>;

    fn deref(&self) -> &Self::Target {
        &self.net
    }
}

impl std::ops::DerefMut for HostModel {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.net
    }
}

impl HostModel {
    /// A model without names.
    pub fn new(net: Model<Vec<f32>, Vec<f32>>) -> Self {
        Self {
            net,
            features: None,
            classes: None,
            int8: None,
        }
    }

    /// Logits for one raw row, as [`Model::infer`] (whose `scratch` this takes): the float
    /// model's, or an int8 model's dequantized ones (TFLite's arithmetic, [`quant`]).
    pub fn infer<'s>(
        &self,
        raw: &[f32],
        scratch: &'s mut [f32],
    ) -> std::result::Result<&'s [f32], MlpError> {
        let Some(q) = &self.int8 else {
            return self.net.infer(raw, scratch);
        };
        let d = self.dims();
        if scratch.len() < d.scratch_len() {
            return Err(MlpError::Length {
                expected: d.scratch_len(),
                found: scratch.len(),
            });
        }
        let (x, rest) = scratch.split_at_mut(d.inputs());
        let logits = &mut rest[d.hidden_total()..d.hidden_total() + d.outputs()];
        // The int8 activations: on the stack for the usual sizes, else on the heap.
        let need = quant::act_len(&d);
        let (mut small, mut big) = ([0i8; 1024], Vec::new());
        let act = if need <= small.len() {
            &mut small[..need]
        } else {
            big.resize(need, 0);
            &mut big[..]
        };
        q.model.infer_into(raw, x, act, logits)?;
        Ok(logits)
    }

    /// [`infer`](Self::infer) and whether its logits can be trusted, as
    /// [`Model::infer_checked`] (an int8 model's logits are always finite; its features are
    /// checked as the float model's).
    pub fn infer_checked<'s>(
        &self,
        raw: &[f32],
        scratch: &'s mut [f32],
    ) -> std::result::Result<(&'s [f32], Option<NonFinite>), MlpError> {
        if self.int8.is_none() {
            return self.net.infer_checked(raw, scratch);
        }
        let d = self.dims();
        self.infer(raw, scratch)?;
        let (x, rest) = scratch.split_at(d.inputs());
        let logits = &rest[d.hidden_total()..d.hidden_total() + d.outputs()];
        let feature = raw
            .iter()
            .zip(x)
            .position(|(&r, &z)| r.is_infinite() || !z.is_finite());
        Ok((
            logits,
            feature.map(|feature| NonFinite::Feature { feature }),
        ))
    }

    /// The predicted class of one raw row.
    pub fn predict(
        &self,
        raw: &[f32],
        scratch: &mut [f32],
    ) -> std::result::Result<usize, MlpError> {
        Ok(mlprobe_core::mlp::argmax(self.infer(raw, scratch)?))
    }

    /// The same model with these feature names (one per input; checked when it is saved).
    pub fn with_features(mut self, names: Vec<String>) -> Self {
        self.features = Some(names);
        self
    }
}

/// Prints `message` on stderr as a warning, once per process: a model bound to three files in
/// one `mlprobe run` says that it ignores a column once.
pub fn warn_once(message: String) {
    use std::sync::{Mutex, OnceLock};
    static SAID: OnceLock<Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    let said = SAID.get_or_init(Default::default);
    if said
        .lock()
        .map(|mut s| s.insert(message.clone()))
        .unwrap_or(true)
    {
        crate::output::eprintln(&format!("warning: {message}"));
    }
}

/// Binds a dataset's columns to a model's inputs: by name when the model has feature names
/// (any order; extra columns ignored, said once; every missing one named in one exit-2
/// error), by position otherwise (with a warning, since a column order that differs from
/// training's then goes unnoticed). Returns the dataset with exactly the model's inputs, in
/// its order. Also checks that the labels, if any, are classes of the model.
pub fn bind(model: &HostModel, data: Dataset) -> Result<Dataset> {
    let d = model.dims();
    let data = match &model.features {
        Some(names) => {
            let (data, extra) = crate::data::select_columns(data, names, "the model")?;
            if !extra.is_empty() {
                warn_once(format!(
                    "{}: ignoring {} column{} the model does not take: {}",
                    data.path.display(),
                    extra.len(),
                    if extra.len() == 1 { "" } else { "s" },
                    crate::limits::excerpt_list(extra.iter().map(|n| format!("`{n}`")))
                ));
            }
            data
        }
        None => {
            if data.width() != d.inputs() {
                return Err(Error::file(
                    &data.path,
                    format!(
                        "has {} feature columns but the model takes {} inputs",
                        data.width(),
                        d.inputs()
                    ),
                ));
            }
            warn_once(format!(
                "the model has no feature names (a version 1 file, or imported without them): \
                 the columns of {} are taken by position; save it again with names \
                 (`mlprobe train`, or `mlprobe import --features a,b,c`) to bind them by name",
                data.path.display()
            ));
            data
        }
    };
    if let (Some(labels), Some(name)) = (&data.labels, &data.label_name)
        && let Some(i) = labels.iter().position(|&l| usize::from(l) >= d.outputs())
    {
        return Err(Error::Parse {
            path: data.path.clone(),
            line: data.lines[i],
            column: data.label_column.unwrap_or(1),
            message: format!(
                "label {} in column `{name}` is out of range for a model of {} classes",
                labels[i],
                d.outputs()
            ),
        });
    }
    Ok(data)
}

/// Reads and checks an mlprobe model file.
pub fn load(path: &Path) -> Result<HostModel> {
    let bytes = crate::limits::read_bytes(path, crate::limits::MODEL_BYTES, "model file")?;
    from_bytes(&bytes).map_err(|m| Error::file(path, m))
}

/// Parses model-file bytes (either version) into a host model.
pub fn from_bytes(bytes: &[u8]) -> std::result::Result<HostModel, String> {
    let file = ModelFile::parse(bytes).map_err(|e| e.to_string())?;
    let d = file.dims();
    let (mut mean, mut std, mut params) = (
        vec![0.0; d.inputs()],
        vec![0.0; d.inputs()],
        vec![0.0; d.param_count()],
    );
    file.copy_into(&mut mean, &mut std, &mut params)
        .map_err(|e| e.to_string())?;
    let norm = Standardizer::new(mean, std, file.fill()).map_err(|e| e.to_string())?;
    let int8 = match file.input_q() {
        Some(input) => {
            let layers = (0..d.layers())
                .filter_map(|k| file.qlayer(k))
                .map(|l| QDense {
                    output: l.output,
                    weight_scale: l.weight_scales().collect(),
                    bias: l.biases().collect(),
                    weight: l.weights().collect(),
                })
                .collect();
            Some(Int8::new(norm.clone(), d, input, layers)?)
        }
        None => None,
    };
    let mlp = Mlp::new(d, params).map_err(|e| e.to_string())?;
    let names = |n: mlprobe_core::model::Names<'_>| {
        (!n.is_empty()).then(|| n.iter().map(str::to_string).collect())
    };
    Ok(HostModel {
        net: Model::new(norm, mlp).map_err(|e| e.to_string())?,
        features: names(file.feature_names()),
        classes: names(file.class_names()),
        int8,
    })
}

/// Encodes a model in mlprobe's format (version 2, with its names). A name the format cannot
/// hold (empty, longer than 256 bytes, a control character, a duplicate) is a usage error.
pub fn to_bytes(model: &HostModel) -> Result<Vec<u8>> {
    let d = model.dims();
    let features = model.features.as_deref().unwrap_or_default();
    let classes = model.classes.as_deref().unwrap_or_default();
    let names = names_len(features, classes);
    let written = match &model.int8 {
        None => {
            let mut out = vec![0u8; encoded_len(&d, names)];
            encode(
                &model.norm,
                &d,
                model.mlp.params(),
                features,
                classes,
                &mut out,
            )
            .map(|_| out)
        }
        Some(q) => {
            let mut out = vec![0u8; encoded_len_int8(&d, names, q.per_tensor())];
            let layers: Vec<_> = q.layers.iter().map(QDense::view).collect();
            encode_int8(
                &model.norm,
                &d,
                q.input,
                &layers,
                features,
                classes,
                &mut out,
            )
            .map(|_| out)
        }
    };
    let out = written.map_err(|e| match e {
        ModelError::BadName { class, index, .. } => {
            let list = if class { classes } else { features };
            Error::Usage(format!(
                "{e}: `{}`",
                crate::limits::excerpt(list.get(index).map_or("", String::as_str))
            ))
        }
        ModelError::BadNameCount { .. } => Error::Usage(e.to_string()),
        e => Error::Internal(format!("encoding the model: {e}")),
    })?;
    Ok(out)
}

/// Writes a model file (atomically), refusing to replace any of `inputs`.
pub fn save(path: &Path, model: &HostModel, inputs: &[&Path]) -> Result<()> {
    crate::output::write_new(path, &to_bytes(model)?, inputs)
}

/// A checked model from a [`Network`] read from another format: the shapes must chain, the
/// dimensions fit mlprobe's limits and every value be finite; errors are messages for the
/// caller to locate. Names are checked when the model is saved.
pub fn from_network(net: &Network) -> std::result::Result<HostModel, String> {
    let (first, last) = net.chain()?;
    for (k, l) in net.layers.iter().enumerate() {
        if l.weight.len() != l.inputs * l.outputs || l.bias.len() != l.outputs {
            return Err(format!(
                "layer {}: {} weights and {} biases for {} inputs and {} outputs",
                k + 1,
                l.weight.len(),
                l.bias.len(),
                l.inputs,
                l.outputs
            ));
        }
    }
    let hidden: Vec<usize> = net.layers[..net.layers.len() - 1]
        .iter()
        .map(|l| l.outputs)
        .collect();
    let dims = Dims::deep(first.inputs, &hidden, last.outputs).map_err(|e| {
        let widths: Vec<String> = std::iter::once(first.inputs)
            .chain(net.layers.iter().map(|l| l.outputs))
            .map(|w| w.to_string())
            .collect();
        format!("dimensions {}: {e}", widths.join("-"))
    })?;
    let (mean, std) = match &net.normalizer {
        Some((m, s)) => (m.clone(), s.clone()),
        None => (vec![0.0; first.inputs], vec![1.0; first.inputs]),
    };
    let norm = Standardizer::new(mean, std, net.fill).map_err(|e| format!("normalizer: {e}"))?;
    let mut params: Vec<f32> = Vec::with_capacity(dims.param_count());
    for layer in &net.layers {
        params.extend(&layer.weight);
        params.extend(&layer.bias);
    }
    if let Some(i) = params.iter().position(|p| !p.is_finite()) {
        return Err(format!("parameter {i} is not finite"));
    }
    for (what, names, want) in [
        ("feature", &net.features, dims.inputs()),
        ("class", &net.classes, dims.outputs()),
    ] {
        if let Some(n) = names
            && n.len() != want
        {
            return Err(format!("{} {what} names for {want} {what}s", n.len()));
        }
    }
    let mlp = Mlp::new(dims, params).map_err(|e| e.to_string())?;
    Ok(HostModel {
        net: Model::new(norm, mlp).map_err(|e| e.to_string())?,
        features: net.features.clone(),
        classes: net.classes.clone(),
        int8: None,
    })
}

/// A checked int8 model from a [`QNetwork`] read from another format: the float view as
/// [`from_network`] checks it, and the int8 layers' shapes, scales and zero points.
pub fn from_qnetwork(net: &QNetwork) -> std::result::Result<HostModel, String> {
    let mut model = from_network(&net.float)?;
    let d = model.dims();
    if net.layers.len() != d.layers() {
        return Err(format!(
            "{} int8 layers for {} dense layers",
            net.layers.len(),
            d.layers()
        ));
    }
    for (k, l) in net.layers.iter().enumerate() {
        let (n, m) = (d.width(k + 1), d.width(k));
        if l.bias.len() != n
            || l.weight.len() != n * m
            || (l.weight_scale.len() != 1 && l.weight_scale.len() != n)
        {
            return Err(format!(
                "int8 layer {}: {} weights, {} biases and {} weight scales for {m} inputs and \
                 {n} outputs",
                k + 1,
                l.weight.len(),
                l.bias.len(),
                l.weight_scale.len()
            ));
        }
    }
    if net.layers.iter().any(|l| l.weight_scale.len() == 1)
        && net.layers.iter().any(|l| l.weight_scale.len() != 1)
        && d.layers() > 1
    {
        return Err(
            "some layers have one weight scale and others one per channel: mlprobe's \
                    int8 format takes either for every layer"
                .into(),
        );
    }
    model.int8 = Some(Int8::new(
        model.norm.clone(),
        d,
        net.input,
        net.layers.clone(),
    )?);
    Ok(model)
}

/// The [`QNetwork`] of an int8 model (`None` for a float one), for a writer of another format.
pub fn to_qnetwork(model: &HostModel) -> Option<QNetwork> {
    let q = model.int8.as_ref()?;
    Some(QNetwork {
        float: to_network(model),
        input: q.input,
        layers: q.layers.clone(),
    })
}

/// The [`Network`] of a model, for a writer of another format.
pub fn to_network(model: &HostModel) -> Network {
    let d = model.dims();
    Network {
        layers: model
            .mlp
            .layers()
            .enumerate()
            .map(|(k, l)| Dense {
                inputs: d.width(k),
                outputs: d.width(k + 1),
                weight: l.weight.to_vec(),
                bias: l.bias.to_vec(),
            })
            .collect(),
        normalizer: Some((model.norm.mean().to_vec(), model.norm.std().to_vec())),
        fill: model.norm.fill(),
        features: model.features.clone(),
        classes: model.classes.clone(),
        notes: Vec::new(),
    }
}

/// What `mlprobe import` reads and writes.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// The safetensors file (PyTorch `state_dict` names), or an ONNX graph (`FILE.onnx`).
    pub input: PathBuf,
    /// The mlprobe model file to write.
    pub out: PathBuf,
    /// The text in front of the layer index in the tensor names, when the file uses none of
    /// the known key schemes ([`interop::safetensors::ReadOptions::prefix`]).
    pub prefix: Option<String>,
    /// Feature names, one per input; they win over the names in the file.
    pub features: Option<Vec<String>>,
}

/// The `import` JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    /// The feature names found (from `--features` or the file), `null` when there are none.
    pub features: Option<Vec<String>>,
    /// Units of each hidden layer.
    pub hidden: Vec<usize>,
    /// Input features.
    pub inputs: usize,
    /// The model file written.
    pub model: PathBuf,
    /// Classes.
    pub outputs: usize,
    /// What the user should know, each with advice.
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// The report on `net`, imported to `model`.
    fn of(net: &Network, model: &Path) -> Self {
        let n = net.layers.len();
        Self {
            features: net.features.clone(),
            hidden: net.layers[..n.saturating_sub(1)]
                .iter()
                .map(|l| l.outputs)
                .collect(),
            inputs: net.layers.first().map_or(0, |l| l.inputs),
            model: model.to_path_buf(),
            outputs: net.layers.last().map_or(0, |l| l.outputs),
            warnings: net.notes.clone(),
        }
    }

    /// One line for people: the file written and the network's widths (`13-64-32-3`).
    pub fn human(&self) -> String {
        let widths: Vec<String> = std::iter::once(self.inputs)
            .chain(self.hidden.iter().copied())
            .chain([self.outputs])
            .map(|w| w.to_string())
            .collect();
        format!("wrote {} ({})", self.model.display(), widths.join("-"))
    }
}

/// The network in the file to import (ONNX for a file named `*.onnx`, safetensors otherwise);
/// errors are messages for the caller to locate.
fn read_network(opts: &ImportOptions, bytes: &[u8]) -> std::result::Result<Network, String> {
    if interop::onnx::is_onnx_path(&opts.input) {
        let mut net = interop::onnx::read(bytes)?;
        if let Some(names) = &opts.features {
            net.features = Some(names.clone());
        }
        return Ok(net);
    }
    let read = interop::safetensors::ReadOptions {
        prefix: opts.prefix.clone(),
        features: opts.features.clone(),
    };
    interop::safetensors::read(bytes, &read)
}

/// Reads a network in another format (safetensors, or ONNX for a file named `*.onnx`) and
/// writes it as an mlprobe model file.
pub fn import(opts: &ImportOptions) -> Result<ImportReport> {
    crate::output::check_output(&opts.out, &[&opts.input])?;
    let onnx = interop::onnx::is_onnx_path(&opts.input);
    if onnx && opts.prefix.is_some() {
        return Err(Error::Usage(
            "--prefix chooses tensor names of a safetensors file; an ONNX graph is read by its \
             nodes"
                .into(),
        ));
    }
    let kind = if onnx {
        "ONNX file"
    } else {
        "safetensors file"
    };
    let bytes = crate::limits::read_bytes(&opts.input, crate::limits::IMPORT_BYTES, kind)?;
    let net = read_network(opts, &bytes).map_err(|m| Error::file(&opts.input, m))?;
    let model = from_network(&net).map_err(|m| Error::file(&opts.input, m))?;
    save(&opts.out, &model, &[&opts.input])?;
    Ok(ImportReport::of(&net, &opts.out))
}

/// Formats `mlprobe export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// safetensors with PyTorch `state_dict` names ([`interop::safetensors::write()`]).
    Safetensors,
    /// An ONNX graph ([`crate::interop::onnx::write`]).
    Onnx,
}

impl ExportFormat {
    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::Onnx => "onnx",
        }
    }
}

/// What `mlprobe export` reads and writes.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The mlprobe model file.
    pub model: PathBuf,
    /// The format to write.
    pub format: ExportFormat,
    /// Where to write (`-`: stdout).
    pub out: PathBuf,
}

/// The `export` JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    /// Bytes written.
    pub bytes: usize,
    /// The format written.
    pub format: &'static str,
    /// Where.
    pub out: PathBuf,
}

impl ExportReport {
    /// One line for people: the file written, its size and format.
    pub fn human(&self) -> String {
        format!(
            "wrote {} ({} bytes, {})",
            self.out.display(),
            self.bytes,
            self.format
        )
    }
}

/// Writes a model in another format.
pub fn export(opts: &ExportOptions) -> Result<ExportReport> {
    crate::output::check_output(&opts.out, &[&opts.model])?;
    let model = load(&opts.model)?;
    let bytes = match opts.format {
        ExportFormat::Safetensors => interop::safetensors::write(&to_network(&model))
            .map_err(|m| Error::file(&opts.model, m))?,
        ExportFormat::Onnx => {
            interop::onnx::write(&to_network(&model)).map_err(|m| Error::file(&opts.model, m))?
        }
    };
    crate::output::write_new(&opts.out, &bytes, &[&opts.model])?;
    Ok(ExportReport {
        bytes: bytes.len(),
        format: opts.format.name(),
        out: opts.out.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlprobe_core::transform::Fill;

    fn model() -> HostModel {
        let d = Dims::new(3, 4, 2).unwrap();
        let params: Vec<f32> = (0..d.param_count())
            .map(|k| (k as f32 * 0.37).sin())
            .collect();
        let norm = Standardizer::new(
            vec![1.0, -2.0, 0.5],
            vec![0.25, 3.0, 1.0],
            Fill::Value(-1.0),
        )
        .unwrap();
        HostModel::new(Model::new(norm, Mlp::new(d, params).unwrap()).unwrap())
    }

    #[test]
    fn own_format_round_trips() {
        let m = model();
        assert_eq!(from_bytes(&to_bytes(&m).unwrap()).unwrap(), m);
    }

    /// A model through `to_network`, safetensors and back: the same model, the same file.
    #[test]
    fn safetensors_round_trips_bit_for_bit() {
        let m = model();
        let st = interop::safetensors::write(&to_network(&m)).unwrap();
        let net = interop::safetensors::read(&st, &Default::default()).unwrap();
        assert!(net.notes.is_empty(), "{:?}", net.notes);
        let back = from_network(&net).unwrap();
        assert_eq!(back, m);
        assert_eq!(to_bytes(&back).unwrap(), to_bytes(&m).unwrap());
    }

    #[test]
    fn import_and_export_write_files_and_never_over_their_input() {
        let dir = tempfile::tempdir().unwrap();
        let mlpb = dir.path().join("m.mlpb");
        save(&mlpb, &model(), &[]).unwrap();
        let st = dir.path().join("m.safetensors");
        let e = export(&ExportOptions {
            model: mlpb.clone(),
            format: ExportFormat::Safetensors,
            out: st.clone(),
        })
        .unwrap();
        assert_eq!(e.bytes as u64, std::fs::metadata(&st).unwrap().len());
        assert_eq!(
            e.human(),
            format!("wrote {} ({} bytes, safetensors)", st.display(), e.bytes)
        );
        let back = dir.path().join("back.mlpb");
        let i = import(&ImportOptions {
            input: st.clone(),
            out: back.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((i.inputs, &i.hidden[..], i.outputs), (3, &[4][..], 2));
        assert_eq!(i.human(), format!("wrote {} (3-4-2)", back.display()));
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&mlpb).unwrap());
        let json = serde_json::to_value(&i).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "features", "hidden", "inputs", "model", "outputs", "warnings"
            ]
        );
        let over = import(&ImportOptions {
            input: st.clone(),
            out: st.clone(),
            ..Default::default()
        });
        assert!(matches!(over, Err(Error::Usage(_))));
    }

    /// `--features` reaches the reader and the report; a wrong count is the file's error.
    #[test]
    fn import_takes_feature_names() {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("m.safetensors");
        std::fs::write(
            &st,
            interop::safetensors::write(&to_network(&model())).unwrap(),
        )
        .unwrap();
        let names = |n: &[&str]| Some(n.iter().map(|s| s.to_string()).collect());
        let i = import(&ImportOptions {
            input: st.clone(),
            out: dir.path().join("a.mlpb"),
            features: names(&["x", "y", "z"]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(i.features, names(&["x", "y", "z"]));
        let e = import(&ImportOptions {
            input: st.clone(),
            out: dir.path().join("b.mlpb"),
            features: names(&["x", "y"]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, Error::File { .. }), "{e}");
        assert!(e.to_string().contains("--features gives 2 names"), "{e}");
    }
}
