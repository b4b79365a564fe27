//! Model files on disk: mlprobe's own format (through [`mlprobe_core::model`]) and
//! safetensors with PyTorch `state_dict` names; the library behind `mlprobe import` and
//! `mlprobe export`.

use crate::data::Dataset;
use crate::error::{Error, Result};
use mlprobe_core::mlp::{Dims, Mlp, Model};
use mlprobe_core::model::{ModelFile, encode, encoded_len};
use mlprobe_core::transform::{Fill, Standardizer};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A model held by the host: vectors for any dimensions.
pub type HostModel = Model<Vec<f32>, Vec<f32>>;

/// Checks that a dataset fits a model: same number of features, labels within the classes.
pub fn check_fit(model: &HostModel, data: &Dataset) -> Result<()> {
    let d = model.dims();
    if data.width() != d.inputs {
        return Err(Error::file(
            &data.path,
            format!(
                "has {} feature columns but the model takes {} inputs",
                data.width(),
                d.inputs
            ),
        ));
    }
    if let (Some(labels), Some(name)) = (&data.labels, &data.label_name)
        && let Some(i) = labels.iter().position(|&l| usize::from(l) >= d.outputs)
    {
        return Err(Error::Parse {
            path: data.path.clone(),
            line: data.lines[i],
            column: data.label_column.unwrap_or(1),
            message: format!(
                "label {} in column `{name}` is out of range for a model of {} classes",
                labels[i], d.outputs
            ),
        });
    }
    Ok(())
}

/// Reads and checks an mlprobe model file.
pub fn load(path: &Path) -> Result<HostModel> {
    let bytes = crate::limits::read_bytes(path, crate::limits::MODEL_BYTES, "model file")?;
    from_bytes(&bytes).map_err(|m| Error::file(path, m))
}

/// Parses model-file bytes into a host model.
pub fn from_bytes(bytes: &[u8]) -> std::result::Result<HostModel, String> {
    let file = ModelFile::parse(bytes).map_err(|e| e.to_string())?;
    let d = file.dims();
    let (mut mean, mut std, mut params) = (
        vec![0.0; d.inputs],
        vec![0.0; d.inputs],
        vec![0.0; d.param_count()],
    );
    file.copy_into(&mut mean, &mut std, &mut params)
        .map_err(|e| e.to_string())?;
    let norm = Standardizer::new(mean, std, file.fill()).map_err(|e| e.to_string())?;
    let mlp = Mlp::new(d, params).map_err(|e| e.to_string())?;
    Model::new(norm, mlp).map_err(|e| e.to_string())
}

/// Encodes a model in mlprobe's format.
pub fn to_bytes(model: &HostModel) -> Result<Vec<u8>> {
    let d = model.dims();
    let mut out = vec![0u8; encoded_len(&d)];
    encode(&model.norm, &d, model.mlp.params(), &mut out)
        .map_err(|e| Error::Internal(format!("encoding the model: {e}")))?;
    Ok(out)
}

/// Writes a model file (atomically), refusing to replace any of `inputs`.
pub fn save(path: &Path, model: &HostModel, inputs: &[&Path]) -> Result<()> {
    crate::output::write_new(path, &to_bytes(model)?, inputs)
}

/// What `mlprobe import` reads and writes.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The safetensors file (PyTorch `state_dict` names).
    pub input: PathBuf,
    /// The mlprobe model file to write.
    pub out: PathBuf,
}

/// The `import` JSON document.
#[derive(Clone, Debug, Serialize)]
pub struct ImportReport {
    /// Hidden units.
    pub hidden: usize,
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
        format!(
            "wrote {} ({}-{}-{})",
            self.model.display(),
            self.inputs,
            self.hidden,
            self.outputs
        )
    }
}

/// Reads a safetensors model and writes it as an mlprobe model file.
pub fn import(opts: &ImportOptions) -> Result<ImportReport> {
    crate::output::check_output(&opts.out, &[&opts.input])?;
    let bytes =
        crate::limits::read_bytes(&opts.input, crate::limits::IMPORT_BYTES, "safetensors file")?;
    let (model, notes) = from_safetensors(&bytes).map_err(|m| Error::file(&opts.input, m))?;
    save(&opts.out, &model, &[&opts.input])?;
    let d = model.dims();
    Ok(ImportReport {
        hidden: d.hidden,
        inputs: d.inputs,
        model: opts.out.clone(),
        outputs: d.outputs,
        warnings: notes.warnings,
    })
}

/// Formats `mlprobe export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// safetensors with PyTorch `state_dict` names ([`to_safetensors`]).
    Safetensors,
}

impl ExportFormat {
    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
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
    };
    crate::output::write_new(&opts.out, &bytes, &[&opts.model])?;
    Ok(ExportReport {
        bytes: bytes.len(),
        format: opts.format.name(),
        out: opts.out.clone(),
    })
}

/// Metadata key holding the missing-value policy (`mean` or a number).
pub const FILL_KEY: &str = "mlprobe.fill";

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Encodes a model as safetensors with PyTorch `state_dict` names: `fc1.weight`
/// `[hidden, inputs]`, `fc1.bias`, `fc2.weight` `[outputs, hidden]`, `fc2.bias`,
/// `normalizer.mean`, `normalizer.std` (all `F32`).
pub fn to_safetensors(model: &HostModel) -> Result<Vec<u8>> {
    let d = model.dims();
    let l = model.mlp.layers();
    let tensors: Vec<(&str, Vec<usize>, Vec<u8>)> = vec![
        ("fc1.weight", vec![d.hidden, d.inputs], le_bytes(l.w1)),
        ("fc1.bias", vec![d.hidden], le_bytes(l.b1)),
        ("fc2.weight", vec![d.outputs, d.hidden], le_bytes(l.w2)),
        ("fc2.bias", vec![d.outputs], le_bytes(l.b2)),
        (
            "normalizer.mean",
            vec![d.inputs],
            le_bytes(model.norm.mean()),
        ),
        ("normalizer.std", vec![d.inputs], le_bytes(model.norm.std())),
    ];
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, shape, data)| {
            TensorView::new(Dtype::F32, shape.clone(), data)
                .map(|v| (*name, v))
                .map_err(|e| Error::Internal(e.to_string()))
        })
        .collect::<Result<_>>()?;
    let fill = match model.norm.fill() {
        Fill::Mean => "mean".to_string(),
        Fill::Value(v) => format!("{v:?}"),
    };
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        (FILL_KEY.to_string(), fill),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::Internal(format!("writing safetensors: {e}")))
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
    let fill =
        match st_metadata(bytes)?.get(FILL_KEY).map(String::as_str) {
            None | Some("mean") => Fill::Mean,
            Some(v) => Fill::Value(v.parse().map_err(|_| {
                format!("metadata {FILL_KEY} = `{v}` is neither `mean` nor a number")
            })?),
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
    Ok((Model::new(norm, mlp).map_err(|e| e.to_string())?, notes))
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
        Model::new(norm, Mlp::new(d, params).unwrap()).unwrap()
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
        assert_eq!((i.inputs, i.hidden, i.outputs), (3, 4, 2));
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

    #[test]
    fn safetensors_errors_are_messages() {
        assert!(
            from_safetensors(b"garbage")
                .unwrap_err()
                .contains("not a valid safetensors")
        );
    }
}
