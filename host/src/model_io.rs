//! Model files on disk: mlprobe's own format (through [`mlprobe_core::model`]) and
//! safetensors with PyTorch `state_dict` names; the library behind `mlprobe import` and
//! `mlprobe export`.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::interop::{Dense, Network};
use mlprobe_core::mlp::{Dims, Mlp, Model};
use mlprobe_core::model::{ModelError, ModelFile, encode, encoded_len, names_len};
use mlprobe_core::transform::{Fill, Standardizer};
use safetensors::{Dtype, SafeTensors};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
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
        }
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
    let mlp = Mlp::new(d, params).map_err(|e| e.to_string())?;
    let names = |n: mlprobe_core::model::Names<'_>| {
        (!n.is_empty()).then(|| n.iter().map(str::to_string).collect())
    };
    Ok(HostModel {
        net: Model::new(norm, mlp).map_err(|e| e.to_string())?,
        features: names(file.feature_names()),
        classes: names(file.class_names()),
    })
}

/// Encodes a model in mlprobe's format (version 2, with its names). A name the format cannot
/// hold (empty, longer than 256 bytes, a control character, a duplicate) is a usage error.
pub fn to_bytes(model: &HostModel) -> Result<Vec<u8>> {
    let d = model.dims();
    let features = model.features.as_deref().unwrap_or_default();
    let classes = model.classes.as_deref().unwrap_or_default();
    let mut out = vec![0u8; encoded_len(&d, names_len(features, classes))];
    encode(
        &model.norm,
        &d,
        model.mlp.params(),
        features,
        classes,
        &mut out,
    )
    .map_err(|e| match e {
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
    let (Some(first), Some(last)) = (net.layers.first(), net.layers.last()) else {
        return Err("the network has no dense layer".into());
    };
    for (k, pair) in net.layers.windows(2).enumerate() {
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
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The safetensors file (PyTorch `state_dict` names), or an ONNX graph (`FILE.onnx`).
    pub input: PathBuf,
    /// The mlprobe model file to write.
    pub out: PathBuf,
}

/// The `import` JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
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
    /// One line for people: the file written and the network's sizes.
    pub fn human(&self) -> String {
        let widths: Vec<String> = std::iter::once(self.inputs)
            .chain(self.hidden.iter().copied())
            .chain([self.outputs])
            .map(|w| w.to_string())
            .collect();
        format!("wrote {} ({})", self.model.display(), widths.join("-"))
    }
}

/// Reads a safetensors model, or an ONNX graph (a file named `*.onnx`), and writes it as an
/// mlprobe model file.
pub fn import(opts: &ImportOptions) -> Result<ImportReport> {
    crate::output::check_output(&opts.out, &[&opts.input])?;
    let (model, warnings) = if crate::interop::onnx::is_onnx_path(&opts.input) {
        import_onnx(&opts.input)?
    } else {
        let bytes = crate::limits::read_bytes(
            &opts.input,
            crate::limits::IMPORT_BYTES,
            "safetensors file",
        )?;
        let (model, notes) = from_safetensors(&bytes).map_err(|m| Error::file(&opts.input, m))?;
        (model, notes.warnings)
    };
    save(&opts.out, &model, &[&opts.input])?;
    let d = model.dims();
    Ok(ImportReport {
        hidden: d.hidden().iter().map(|&h| h.into()).collect(),
        inputs: d.inputs(),
        model: opts.out.clone(),
        outputs: d.outputs(),
        warnings,
    })
}

/// Reads an ONNX file (`FILE.onnx`: ONNX has no magic bytes) into a checked model, with the
/// reader's notes.
fn import_onnx(path: &Path) -> Result<(HostModel, Vec<String>)> {
    let bytes = crate::limits::read_bytes(path, crate::limits::IMPORT_BYTES, "ONNX file")?;
    let net = crate::interop::onnx::read(&bytes).map_err(|m| Error::file(path, m))?;
    let model = from_network(&net).map_err(|m| Error::file(path, m))?;
    Ok((model, net.notes))
}

/// Formats `mlprobe export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// safetensors with PyTorch `state_dict` names ([`to_safetensors`]).
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
        ExportFormat::Safetensors => to_safetensors(&model)?,
        ExportFormat::Onnx => crate::interop::onnx::write(&to_network(&model))
            .map_err(|m| Error::Internal(format!("writing ONNX: {m}")))?,
    };
    crate::output::write_new(&opts.out, &bytes, &[&opts.model])?;
    Ok(ExportReport {
        bytes: bytes.len(),
        format: opts.format.name(),
        out: opts.out.clone(),
    })
}

/// Metadata key holding the missing-value policy (`mean` or a finite number).
pub const FILL_KEY: &str = "mlprobe.fill";

/// At most 64 characters of a name or value from a file, for a message.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// The tensors of a model, by their PyTorch `state_dict` names; an import refuses any other.
pub const TENSORS: [&str; 6] = [
    "fc1.weight",
    "fc1.bias",
    "fc2.weight",
    "fc2.bias",
    "normalizer.mean",
    "normalizer.std",
];

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Encodes a model as safetensors with PyTorch `state_dict` names: `fc1.weight`
/// `[hidden, inputs]`, `fc1.bias`, `fc2.weight` `[outputs, hidden]`, `fc2.bias`,
/// `normalizer.mean`, `normalizer.std` (all `F32`).
///
/// The bytes depend on the model only: the header is written here with its keys sorted
/// (`__metadata__` first, then the tensors by name, their data in the same order), where
/// `safetensors::serialize` takes the metadata as a `HashMap` and writes it in a different
/// order from one run to the next (issue 15). The layout is the format's (an 8-byte
/// little-endian header length, the JSON header padded with spaces to a multiple of 8, the
/// data), so every safetensors reader reads it.
pub fn to_safetensors(model: &HostModel) -> Result<Vec<u8>> {
    let d = model.dims();
    let mut tensors: BTreeMap<String, (Vec<usize>, &[f32])> = BTreeMap::from([
        (
            "normalizer.mean".into(),
            (vec![d.inputs()], model.norm.mean()),
        ),
        (
            "normalizer.std".into(),
            (vec![d.inputs()], model.norm.std()),
        ),
    ]);
    for (k, l) in model.mlp.layers().enumerate() {
        let (i, o) = (d.width(k), d.width(k + 1));
        tensors.insert(format!("fc{}.weight", k + 1), (vec![o, i], l.weight));
        tensors.insert(format!("fc{}.bias", k + 1), (vec![o], l.bias));
    }
    let fill = match model.norm.fill() {
        Fill::Mean => "mean".to_string(),
        Fill::Value(v) => format!("{v:?}"),
    };
    let metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (FILL_KEY.to_string(), fill),
    ]);
    let internal = |e: serde_json::Error| Error::Internal(format!("writing safetensors: {e}"));
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        serde_json::to_value(&metadata).map_err(internal)?,
    );
    let mut data = Vec::new();
    for (name, (shape, values)) in &tensors {
        let start = data.len();
        data.extend(le_bytes(values));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    // Entries in key order whether or not serde_json preserves insertion order.
    let sorted: BTreeMap<&String, &serde_json::Value> = header.iter().collect();
    let mut json = serde_json::to_vec(&sorted).map_err(internal)?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    out.extend(data);
    Ok(out)
}

/// What an import noticed that the user should know.
#[derive(Debug, Default)]
pub struct ImportNotes {
    /// Warnings, each with advice.
    pub warnings: Vec<String>,
}

/// A tensor's shape and values.
type Tensor = (Vec<usize>, Vec<f32>);

fn tensor_f32(st: &SafeTensors<'_>, name: &str) -> std::result::Result<Option<Tensor>, String> {
    let view = match st.tensor(name) {
        Ok(v) => v,
        Err(safetensors::SafeTensorError::TensorNotFound(_)) => return Ok(None),
        Err(e) => return Err(format!("tensor `{name}`: {e}")),
    };
    let data = view.data();
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        other => {
            return Err(format!(
                "tensor `{name}` has dtype {other:?}; F32 or F64 is needed (convert with tensor.float())"
            ));
        }
    };
    Ok(Some((view.shape().to_vec(), values)))
}

/// Decodes safetensors with the names of [`to_safetensors`]. Without `normalizer.*` tensors
/// the inputs are taken as already standardised (mean 0, std 1) and a warning says so.
pub fn from_safetensors(bytes: &[u8]) -> std::result::Result<(HostModel, ImportNotes), String> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    // A tensor this network has no place for is refused, not dropped: leaving out `fc3.weight`
    // would silently make another model (issue 15).
    let mut extra: Vec<&str> = st
        .names()
        .into_iter()
        .filter(|n| !TENSORS.contains(n))
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        let shown: Vec<String> = extra
            .iter()
            .take(8)
            .map(|n| format!("`{}`", excerpt(n)))
            .collect();
        let more = match extra.len() {
            n if n > 8 => format!(" and {} more", n - 8),
            _ => String::new(),
        };
        return Err(format!(
            "unexpected tensor{} {}{more}: an mlprobe model is fc1 → ReLU → fc2 (with an optional \
             normalizer.mean and normalizer.std) and nothing is left out silently, since that would \
             change the model; deeper networks are not supported yet (issue #16)",
            if extra.len() == 1 { "" } else { "s" },
            shown.join(", ")
        ));
    }
    let mut notes = ImportNotes::default();
    let need = |name: &str| {
        tensor_f32(&st, name)?.ok_or_else(|| format!("missing tensor `{name}` (expected PyTorch state_dict names fc1.weight, fc1.bias, fc2.weight, fc2.bias)"))
    };
    let (s_w1, w1) = need("fc1.weight")?;
    let (s_b1, b1) = need("fc1.bias")?;
    let (s_w2, w2) = need("fc2.weight")?;
    let (s_b2, b2) = need("fc2.bias")?;
    let [hidden, inputs] = s_w1[..] else {
        return Err(format!(
            "fc1.weight has shape {s_w1:?}; expected [hidden, inputs]"
        ));
    };
    let [outputs, hidden2] = s_w2[..] else {
        return Err(format!(
            "fc2.weight has shape {s_w2:?}; expected [classes, hidden]"
        ));
    };
    if hidden2 != hidden || s_b1 != [hidden] || s_b2 != [outputs] {
        return Err(format!(
            "shapes do not chain: fc1.weight {s_w1:?}, fc1.bias {s_b1:?}, fc2.weight {s_w2:?}, fc2.bias {s_b2:?}"
        ));
    }
    let dims = Dims::new(inputs, hidden, outputs)
        .map_err(|e| format!("dimensions {inputs}-{hidden}-{outputs}: {e}"))?;
    let mean = tensor_f32(&st, "normalizer.mean")?;
    let std = tensor_f32(&st, "normalizer.std")?;
    let (mean, std) = match (mean, std) {
        (Some((sm, m)), Some((ss, s))) => {
            if sm != [inputs] || ss != [inputs] {
                return Err(format!(
                    "normalizer.mean {sm:?} and normalizer.std {ss:?} must both have shape [{inputs}]"
                ));
            }
            (m, s)
        }
        (None, None) => {
            notes.warnings.push(
                "no normalizer.mean / normalizer.std tensors: inputs are used as they are (mean 0, std 1); \
                 add the training set's mean and std if the model was trained on standardised features"
                    .into(),
            );
            (vec![0.0; inputs], vec![1.0; inputs])
        }
        _ => return Err("normalizer.mean and normalizer.std must be given together".into()),
    };
    let fill = match st_metadata(bytes)?.get(FILL_KEY).map(String::as_str) {
        None | Some("mean") => Fill::Mean,
        Some(v) => {
            let shown = excerpt(v);
            match v.parse::<f32>() {
                Ok(x) if x.is_finite() => Fill::Value(x),
                Ok(_) => {
                    return Err(format!(
                        "metadata {FILL_KEY} = `{shown}` is not a finite number: every missing \
                         cell would become a non-finite feature; use `mean` or a finite number"
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "metadata {FILL_KEY} = `{shown}` is neither `mean` nor a number"
                    ));
                }
            }
        }
    };
    let norm = Standardizer::new(mean, std, fill).map_err(|e| format!("normalizer: {e}"))?;
    let mut params = Vec::with_capacity(dims.param_count());
    for part in [w1, b1, w2, b2] {
        params.extend(part);
    }
    if let Some(i) = params.iter().position(|p| !p.is_finite()) {
        return Err(format!("parameter {i} is not finite"));
    }
    let mlp = Mlp::new(dims, params).map_err(|e| e.to_string())?;
    Ok((
        HostModel::new(Model::new(norm, mlp).map_err(|e| e.to_string())?),
        notes,
    ))
}

fn st_metadata(bytes: &[u8]) -> std::result::Result<HashMap<String, String>, String> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn safetensors_round_trips_bit_for_bit() {
        let m = model();
        let st = to_safetensors(&m).unwrap();
        let (back, notes) = from_safetensors(&st).unwrap();
        assert_eq!(back, m);
        assert!(notes.warnings.is_empty());
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
        })
        .unwrap();
        assert_eq!((i.inputs, i.hidden.clone(), i.outputs), (3, vec![4], 2));
        assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&mlpb).unwrap());
        let json = serde_json::to_value(&i).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["hidden", "inputs", "model", "outputs", "warnings"]);
        let over = import(&ImportOptions {
            input: st.clone(),
            out: st.clone(),
        });
        assert!(matches!(over, Err(Error::Usage(_))));
    }

    /// Issue 15: `__metadata__` came from a `HashMap`, in a different order from run to run.
    #[test]
    fn safetensors_export_is_deterministic_and_sorted() {
        let m = model();
        let first = to_safetensors(&m).unwrap();
        for _ in 0..16 {
            assert!(to_safetensors(&m).unwrap() == first);
        }
        let n = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header = std::str::from_utf8(&first[8..8 + n]).unwrap();
        assert!(
            header.starts_with(
                r#"{"__metadata__":{"format":"pt","mlprobe.fill":"-1.0"},"fc1.bias":{"#
            ),
            "{header}"
        );
    }

    /// Re-serialises `st` with `extra` tensors and the given metadata, through the
    /// `safetensors` crate as another writer would.
    fn rewrite(st: &[u8], extra: &[&str], meta: Option<(&str, &str)>) -> Vec<u8> {
        use safetensors::tensor::TensorView;
        let parsed = SafeTensors::deserialize(st).unwrap();
        let zeros = vec![0u8; 8];
        let mut views: Vec<(String, TensorView<'_>)> =
            parsed.iter().map(|(n, v)| (n.to_string(), v)).collect();
        for name in extra {
            views.push((
                name.to_string(),
                TensorView::new(Dtype::F32, vec![2], &zeros).unwrap(),
            ));
        }
        let meta = meta.map(|(k, v)| HashMap::from([(k.to_string(), v.to_string())]));
        safetensors::serialize(views, meta).unwrap()
    }

    #[test]
    fn import_refuses_tensors_it_would_drop_and_a_non_finite_fill() {
        let st = to_safetensors(&model()).unwrap();
        let e = from_safetensors(&rewrite(&st, &["fc3.weight"], None)).unwrap_err();
        assert!(
            e.contains("unexpected tensor `fc3.weight`") && e.contains("#16"),
            "{e}"
        );
        let many: Vec<String> = (0..12).map(|i| format!("x{i:02}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        let e = from_safetensors(&rewrite(&st, &names, None)).unwrap_err();
        assert!(e.contains("`x07` and 4 more"), "{e}");
        for fill in ["inf", "-inf", "1e400", "NaN"] {
            let e = from_safetensors(&rewrite(&st, &[], Some((FILL_KEY, fill)))).unwrap_err();
            assert!(e.contains("not a finite number"), "{fill}: {e}");
        }
        let (m, _) = from_safetensors(&rewrite(&st, &[], Some((FILL_KEY, "2.5")))).unwrap();
        assert_eq!(m.norm.fill(), Fill::Value(2.5));
    }

    #[test]
    fn safetensors_errors_are_messages() {
        assert!(
            from_safetensors(b"garbage")
                .unwrap_err()
                .contains("not a valid safetensors")
        );
    }
}
