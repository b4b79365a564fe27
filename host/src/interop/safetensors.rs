//! safetensors with PyTorch `state_dict` names, in ([`read`]) and out ([`write()`]).
//!
//! A PyTorch MLP's `state_dict` names its `nn.Linear` layers by their place in the module: an
//! `nn.Sequential` gives `0.weight`, `0.bias`, `2.weight`, … (the ReLUs between them hold no
//! tensors, hence the gaps), a module with attributes gives `fc1.weight`, `fc2.weight`, …, a
//! `ModuleList` or a `Sequential` attribute gives `layers.0.weight` or `net.0.weight`. [`read`]
//! takes the layers of one such scheme in numeric index order (`fc10` after `fc9`); for any
//! other name, [`ReadOptions::prefix`] gives the text in front of the index. A ReLU is assumed
//! between consecutive layers: activations have no tensors, so a file cannot tell a `Tanh` from
//! a `ReLU`. Every tensor of the file must be used: one left out (a BatchNorm's
//! `running_mean`, a weight without its bias, a second network) would silently make another
//! model, so it is an error that names it.
//!
//! [`write()`] gives the same network back as `fc1`, `fc2`, … with deterministic bytes.
//!
//! ```
//! use mlprobe::interop::safetensors::{ReadOptions, read, write};
//! use mlprobe::interop::{Dense, Network};
//! use mlprobe_core::transform::Fill;
//!
//! let net = Network {
//!     layers: vec![Dense { inputs: 2, outputs: 1, weight: vec![0.5, -1.0], bias: vec![0.25] }],
//!     normalizer: Some((vec![0.0, 1.0], vec![1.0, 2.0])),
//!     fill: Fill::Mean,
//!     features: Some(vec!["a".into(), "b".into()]),
//!     classes: None,
//!     notes: Vec::new(),
//! };
//! let bytes = write(&net).unwrap();
//! assert_eq!(read(&bytes, &ReadOptions::default()).unwrap(), net);
//! ```

use super::{Dense, Network};
use ::safetensors::{Dtype, SafeTensors};
use mlprobe_core::transform::Fill;
use std::collections::{BTreeMap, HashMap};

/// Metadata key holding the missing-value policy (`mean` or a finite number).
pub const FILL_KEY: &str = "mlprobe.fill";
/// Metadata key holding the feature (input column) names, comma-separated.
pub const FEATURES_KEY: &str = "mlprobe.features";
/// Metadata key holding the class names, comma-separated.
pub const CLASSES_KEY: &str = "mlprobe.classes";
/// The normaliser's tensors, `[inputs]` each.
pub const MEAN: &str = "normalizer.mean";
/// See [`MEAN`].
pub const STD: &str = "normalizer.std";

/// The key schemes [`read`] recognises without a prefix: the text in front of the layer index,
/// and how the help and messages show it.
pub const SCHEMES: [(&str, &str); 4] = [
    ("", "N.weight (nn.Sequential)"),
    ("fc", "fcK.weight"),
    ("layers.", "layers.N.weight"),
    ("net.", "net.N.weight"),
];

/// How [`read`] finds the layers and names the inputs.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// The text in front of the layer index, taken literally: the layers are the tensors
    /// `<prefix><index>.weight` and `<prefix><index>.bias` (`encoder.` for `encoder.0.weight`,
    /// `linear` for `linear1.weight`). `None`: the one scheme of [`SCHEMES`] the file uses.
    pub prefix: Option<String>,
    /// Feature names, one per input; they win over the file's metadata [`FEATURES_KEY`].
    pub features: Option<Vec<String>>,
}

/// At most 64 characters of a name or value from a file, for a message.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// `` `a`, `b` `` for up to 8 names, then `and N more`.
fn listed(names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(8)
        .map(|n| format!("`{}`", excerpt(n)))
        .collect();
    match names.len() {
        n if n > 8 => format!("{} and {} more", shown.join(", "), n - 8),
        _ => shown.join(", "),
    }
}

/// The layer index and parameter (`weight` / `bias`) of `name` under `prefix`: `<prefix><index>.
/// <param>` with a decimal index without leading zeros.
fn layer_key<'a>(name: &'a str, prefix: &str) -> Option<(u64, &'a str)> {
    let rest = name.strip_prefix(prefix)?;
    let (index, param) = rest.split_once('.')?;
    let canonical = !index.is_empty()
        && index.bytes().all(|b| b.is_ascii_digit())
        && (index == "0" || !index.starts_with('0'));
    if !canonical || !matches!(param, "weight" | "bias") {
        return None;
    }
    Some((index.parse().ok()?, param))
}

/// A tensor's shape and values as f32, or a message naming it.
fn values(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
    let view = st
        .tensor(name)
        .map_err(|e| format!("tensor `{}`: {e}", excerpt(name)))?;
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
                "tensor `{}` has dtype {other:?}; F32 or F64 is needed (convert with tensor.float())",
                excerpt(name)
            ));
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "tensor `{}` holds a non-finite value at flat index {i} (or one beyond f32's range)",
            excerpt(name)
        ));
    }
    Ok((view.shape().to_vec(), values))
}

/// Names from `what`, checked: `want` of them (the network's `unit`, as `tensor` shows), none
/// empty, no two equal.
fn names(
    list: &[String],
    what: &str,
    want: usize,
    unit: &str,
    tensor: &str,
) -> Result<Vec<String>, String> {
    if list.len() != want {
        return Err(format!(
            "{what} gives {} names but the network has {want} {unit} ({tensor})",
            list.len()
        ));
    }
    if list.iter().any(|n| n.is_empty()) {
        return Err(format!("{what} has an empty name"));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = list.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!("{what} names `{}` twice", excerpt(dup)));
    }
    Ok(list.to_vec())
}

fn split(list: &str) -> Vec<String> {
    list.split(',').map(|n| n.trim().to_string()).collect()
}

/// The scheme prefix and its layer tensors `index → (weight, bias)`: the given prefix, or the
/// one scheme of [`SCHEMES`] that has tensors.
type Layers<'a> = BTreeMap<u64, (Option<&'a str>, Option<&'a str>)>;

fn layers_of<'a>(all: &[&'a str], prefix: &str) -> Layers<'a> {
    let mut layers = Layers::new();
    for &name in all {
        if let Some((index, param)) = layer_key(name, prefix) {
            let slot = layers.entry(index).or_default();
            match param {
                "weight" => slot.0 = Some(name),
                _ => slot.1 = Some(name),
            }
        }
    }
    layers
}

fn find_layers<'a>(all: &[&'a str], opts: &ReadOptions) -> Result<(String, Layers<'a>), String> {
    if let Some(prefix) = &opts.prefix {
        let layers = layers_of(all, prefix);
        if layers.is_empty() {
            let dotted = format!("{prefix}.");
            let hint = match all.iter().any(|n| layer_key(n, &dotted).is_some()) {
                true => {
                    format!(" (the prefix is taken literally: did you mean --prefix {dotted}?)")
                }
                false => String::new(),
            };
            return Err(format!(
                "no tensor `{}<index>.weight` or `.bias` for --prefix {}{hint}",
                excerpt(prefix),
                excerpt(prefix)
            ));
        }
        return Ok((prefix.clone(), layers));
    }
    let found: Vec<(&str, &str, Layers<'a>)> = SCHEMES
        .iter()
        .map(|&(prefix, shown)| (prefix, shown, layers_of(all, prefix)))
        .filter(|(_, _, l)| !l.is_empty())
        .collect();
    match &found[..] {
        [] => Err(format!(
            "no dense layers: expected PyTorch state_dict keys {} (with their .bias), or \
             --prefix P for keys P<index>.weight; the file has {}",
            SCHEMES.map(|s| s.1).join(", "),
            match all.is_empty() {
                true => "no tensors".to_string(),
                false => listed(all),
            }
        )),
        [(prefix, _, layers)] => Ok((prefix.to_string(), layers.clone())),
        [(_, a, la), (_, b, lb), ..] => {
            let first = |l: &Layers<'a>| {
                let (w, b) = l.values().next().copied().unwrap_or_default();
                w.or(b).unwrap_or_default().to_string()
            };
            Err(format!(
                "tensors of two key schemes: `{}` ({a}) and `{}` ({b}); one network per file: \
                 choose its layers with --prefix",
                excerpt(&first(la)),
                excerpt(&first(lb))
            ))
        }
    }
}

/// Reads a network from safetensors bytes: the layers of one key scheme (see the module docs)
/// in index order, `normalizer.mean` / `normalizer.std` when present (identity and a note when
/// absent), the fill policy from metadata [`FILL_KEY`], feature names from
/// [`ReadOptions::features`] or metadata [`FEATURES_KEY`], class names from [`CLASSES_KEY`].
///
/// Errors are messages naming the tensor at fault (for the caller to prefix with the file): a
/// tensor not used, a weight that is not 2-D, shapes that do not chain, a dtype other than F32
/// or F64, a non-finite value; names whose count is not the inputs' (or classes').
pub fn read(bytes: &[u8], opts: &ReadOptions) -> Result<Network, String> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let metadata: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    let mut all: Vec<&str> = st.names();
    all.sort_unstable();
    let (prefix, found) = find_layers(&all, opts)?;

    // A tensor this network has no place for is refused, not dropped: leaving out `fc3.weight`
    // or a BatchNorm's `running_mean` would silently make another model (issue 15).
    let mut used: Vec<&str> = found
        .values()
        .flat_map(|(w, b)| [*w, *b])
        .flatten()
        .collect();
    used.extend([MEAN, STD].into_iter().filter(|n| all.contains(n)));
    let extra: Vec<&str> = all.iter().copied().filter(|n| !used.contains(n)).collect();
    if !extra.is_empty() {
        return Err(format!(
            "unexpected tensor{} {}: an MLP is read from Linear layers `{}<index>.weight` / \
             `.bias` (ReLU between them) and an optional normalizer.mean / normalizer.std, and \
             nothing is left out silently, since that would change the model",
            if extra.len() == 1 { "" } else { "s" },
            listed(&extra),
            excerpt(&prefix)
        ));
    }

    let mut layers: Vec<Dense> = Vec::with_capacity(found.len());
    let mut previous: Option<(String, Vec<usize>)> = None;
    for (index, (weight, bias)) in &found {
        let key = |param: &str| format!("{prefix}{index}.{param}");
        let (Some(weight), Some(bias)) = (weight, bias) else {
            let (has, lacks) = match weight {
                Some(_) => (key("weight"), key("bias")),
                None => (key("bias"), key("weight")),
            };
            return Err(format!(
                "tensor `{}` has no `{}`: every Linear layer needs both (a layer without bias: \
                 save a zero bias)",
                excerpt(&has),
                excerpt(&lacks)
            ));
        };
        let (w_shape, w) = values(&st, weight)?;
        let (b_shape, b) = values(&st, bias)?;
        let [outputs, inputs] = w_shape[..] else {
            return Err(format!(
                "tensor `{}` has shape {w_shape:?}; a Linear weight is 2-D [outputs, inputs]",
                excerpt(weight)
            ));
        };
        if outputs == 0 || inputs == 0 {
            return Err(format!(
                "tensor `{}` has shape {w_shape:?}: a layer needs at least one input and output",
                excerpt(weight)
            ));
        }
        if b_shape != [outputs] {
            return Err(format!(
                "tensor `{}` has shape {b_shape:?} but `{}` {w_shape:?} has {outputs} outputs",
                excerpt(bias),
                excerpt(weight)
            ));
        }
        if let Some((name, shape)) = &previous
            && shape[0] != inputs
        {
            return Err(format!(
                "shapes do not chain: `{}` {shape:?} gives {} outputs but the next layer's `{}` \
                 {w_shape:?} takes {inputs} inputs",
                excerpt(name),
                shape[0],
                excerpt(weight)
            ));
        }
        previous = Some((weight.to_string(), w_shape.clone()));
        layers.push(Dense {
            inputs,
            outputs,
            weight: w,
            bias: b,
        });
    }
    // A layer's weight as messages show it: `fc1.weight` [32, 13].
    let shown = |k: usize| {
        let (w, _) = found.values().nth(k).copied().unwrap_or_default();
        let d = &layers[k];
        format!(
            "`{}` [{}, {}]",
            excerpt(w.unwrap_or_default()),
            d.outputs,
            d.inputs
        )
    };
    let first = shown(0);
    let last = shown(layers.len() - 1);
    let inputs = layers[0].inputs;
    let outputs = layers[layers.len() - 1].outputs;

    let mut notes = Vec::new();
    let normalizer = match (all.contains(&MEAN), all.contains(&STD)) {
        (true, true) => {
            let (sm, m) = values(&st, MEAN)?;
            let (ss, s) = values(&st, STD)?;
            for (name, shape) in [(MEAN, &sm), (STD, &ss)] {
                if shape[..] != [inputs] {
                    return Err(format!(
                        "tensor `{name}` has shape {shape:?} but the network takes {inputs} \
                         inputs ({first})"
                    ));
                }
            }
            Some((m, s))
        }
        (false, false) => {
            notes.push(
                "no normalizer.mean / normalizer.std tensors: inputs are used as they are (mean 0, \
                 std 1); add the training set's mean and std if the model was trained on \
                 standardised features"
                    .into(),
            );
            None
        }
        (has_mean, _) => {
            let (has, lacks) = match has_mean {
                true => (MEAN, STD),
                false => (STD, MEAN),
            };
            return Err(format!(
                "tensor `{has}` has no `{lacks}`: the normaliser needs both"
            ));
        }
    };

    let fill = match metadata.get(FILL_KEY).map(String::as_str) {
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
    let features = match (&opts.features, metadata.get(FEATURES_KEY)) {
        (Some(list), _) => Some(names(list, "--features", inputs, "inputs", &first)?),
        (None, Some(list)) => {
            let what = format!("metadata {FEATURES_KEY}");
            Some(names(&split(list), &what, inputs, "inputs", &first)?)
        }
        (None, None) => None,
    };
    let classes = match metadata.get(CLASSES_KEY) {
        Some(list) => {
            let what = format!("metadata {CLASSES_KEY}");
            Some(names(&split(list), &what, outputs, "outputs", &last)?)
        }
        None => None,
    };
    Ok(Network {
        layers,
        normalizer,
        fill,
        features,
        classes,
        notes,
    })
}

fn le_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A comma-separated metadata list, refusing names it cannot hold.
fn joined(names: &[String], what: &str) -> Result<String, String> {
    match names
        .iter()
        .find(|n| n.contains(',') || n.trim() != n.as_str() || n.is_empty())
    {
        Some(bad) => Err(format!(
            "{what} name `{}` cannot go in a comma-separated metadata list (a comma, an empty \
             name or spaces around it); rename it",
            excerpt(bad)
        )),
        None => Ok(names.join(",")),
    }
}

/// Encodes a network as safetensors with PyTorch `state_dict` names: `fc1.weight`
/// `[outputs, inputs]`, `fc1.bias`, `fc2.weight`, … for every layer, `normalizer.mean` and
/// `normalizer.std` when it has one (all `F32`); metadata `format` = `pt`, [`FILL_KEY`], and
/// [`FEATURES_KEY`] / [`CLASSES_KEY`] when it has names.
///
/// The bytes depend on the network only: the header is written here with its keys sorted
/// (`__metadata__` first, then the tensors by name, their data in the same order), where
/// `safetensors::serialize` takes the metadata as a `HashMap` and writes it in a different
/// order from one run to the next (issue 15). The layout is the format's (an 8-byte
/// little-endian header length, the JSON header padded with spaces to a multiple of 8, the
/// data), so every safetensors reader reads it.
///
/// Errors: a layer whose vectors do not have its shape's lengths, a name that a
/// comma-separated list cannot hold.
pub fn write(net: &Network) -> Result<Vec<u8>, String> {
    let mut tensors: BTreeMap<String, (Vec<usize>, &[f32])> = BTreeMap::new();
    for (k, l) in net.layers.iter().enumerate() {
        let k = k + 1;
        if l.weight.len() != l.inputs * l.outputs || l.bias.len() != l.outputs {
            return Err(format!(
                "layer {k}: {} weights and {} biases for {} inputs and {} outputs",
                l.weight.len(),
                l.bias.len(),
                l.inputs,
                l.outputs
            ));
        }
        tensors.insert(
            format!("fc{k}.weight"),
            (vec![l.outputs, l.inputs], &l.weight),
        );
        tensors.insert(format!("fc{k}.bias"), (vec![l.outputs], &l.bias));
    }
    if let Some((mean, std)) = &net.normalizer {
        tensors.insert(MEAN.into(), (vec![mean.len()], mean));
        tensors.insert(STD.into(), (vec![std.len()], std));
    }
    let fill = match net.fill {
        Fill::Mean => "mean".to_string(),
        Fill::Value(v) => format!("{v:?}"),
    };
    let mut metadata = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (FILL_KEY.to_string(), fill),
    ]);
    if let Some(features) = &net.features {
        metadata.insert(FEATURES_KEY.into(), joined(features, "feature")?);
    }
    if let Some(classes) = &net.classes {
        metadata.insert(CLASSES_KEY.into(), joined(classes, "class")?);
    }
    let json_err = |e: serde_json::Error| format!("writing safetensors: {e}");
    let mut header = serde_json::Map::new();
    header.insert(
        "__metadata__".into(),
        serde_json::to_value(&metadata).map_err(json_err)?,
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
    let mut json = serde_json::to_vec(&sorted).map_err(json_err)?;
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + data.len());
    out.extend((json.len() as u64).to_le_bytes());
    out.extend(json);
    out.extend(data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::safetensors::tensor::TensorView;

    /// A network of the given widths (`[inputs, hidden…, outputs]`), values from a sine so
    /// that every weight differs.
    fn net(widths: &[usize]) -> Network {
        let mut k = 0.0f32;
        let mut next = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    k += 1.0;
                    (k * 0.37).sin()
                })
                .collect()
        };
        let layers = widths
            .windows(2)
            .map(|w| Dense {
                inputs: w[0],
                outputs: w[1],
                weight: next(w[0] * w[1]),
                bias: next(w[1]),
            })
            .collect();
        let inputs = widths[0];
        Network {
            layers,
            normalizer: Some((next(inputs), next(inputs).iter().map(|s| 1.5 + s).collect())),
            fill: Fill::Value(-1.0),
            features: Some((0..inputs).map(|i| format!("f{i}")).collect()),
            classes: None,
            notes: Vec::new(),
        }
    }

    /// The reference forward pass, in f64: standardise, then each layer, ReLU between them.
    fn forward(net: &Network, x: &[f64]) -> Vec<f64> {
        let mut h: Vec<f64> = match &net.normalizer {
            Some((m, s)) => x
                .iter()
                .zip(m.iter().zip(s))
                .map(|(x, (m, s))| (x - f64::from(*m)) / f64::from(*s))
                .collect(),
            None => x.to_vec(),
        };
        for (k, l) in net.layers.iter().enumerate() {
            h = (0..l.outputs)
                .map(|o| {
                    let w = &l.weight[o * l.inputs..(o + 1) * l.inputs];
                    let z = f64::from(l.bias[o])
                        + w.iter()
                            .zip(&h)
                            .map(|(w, h)| f64::from(*w) * h)
                            .sum::<f64>();
                    if k + 1 < net.layers.len() {
                        z.max(0.0)
                    } else {
                        z
                    }
                })
                .collect();
        }
        h
    }

    /// The tensor name of layer `k` (0-based) and a parameter (`weight`, `bias`).
    type Names = dyn Fn(usize, &str) -> String;

    /// A tensor to write with another writer: name, dtype, shape, little-endian bytes.
    type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

    fn f32s(name: &str, shape: Vec<usize>, v: &[f32]) -> Raw {
        (name.into(), Dtype::F32, shape, le_bytes(v))
    }

    /// The tensors of `net` under `names(k, param)` for layer `k` (0-based), with or without
    /// its normaliser.
    fn raw(net: &Network, names: impl Fn(usize, &str) -> String, norm: bool) -> Vec<Raw> {
        let mut out = Vec::new();
        for (k, l) in net.layers.iter().enumerate() {
            out.push(f32s(
                &names(k, "weight"),
                vec![l.outputs, l.inputs],
                &l.weight,
            ));
            out.push(f32s(&names(k, "bias"), vec![l.outputs], &l.bias));
        }
        if let (true, Some((m, s))) = (norm, &net.normalizer) {
            out.push(f32s(MEAN, vec![m.len()], m));
            out.push(f32s(STD, vec![s.len()], s));
        }
        out
    }

    /// Serialises through the `safetensors` crate, as another writer (PyTorch) would.
    fn serialize(tensors: &[Raw], meta: &[(&str, &str)]) -> Vec<u8> {
        let views: Vec<(&str, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, d, s, b)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        let meta: HashMap<String, String> = meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ::safetensors::serialize(views, (!meta.is_empty()).then_some(meta)).unwrap()
    }

    fn opts(prefix: Option<&str>, features: Option<&[&str]>) -> ReadOptions {
        ReadOptions {
            prefix: prefix.map(str::to_string),
            features: features.map(|f| f.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn err(bytes: &[u8], o: &ReadOptions) -> String {
        read(bytes, o).unwrap_err()
    }

    #[test]
    fn any_depth_round_trips_bit_for_bit() {
        for widths in [
            &[3, 2][..],
            &[4, 8, 6, 3],
            &[5, 7, 6, 4, 3],
            &[2, 3, 3, 3, 3, 3, 3, 3, 2],
        ] {
            let n = net(widths);
            let bytes = write(&n).unwrap();
            let back = read(&bytes, &ReadOptions::default()).unwrap();
            assert_eq!(back, n, "{widths:?}");
            assert_eq!(write(&back).unwrap(), bytes, "{widths:?}");
        }
    }

    /// Every key scheme, in numeric index order, gives the same network and so the same
    /// logits as the reference forward pass of the layers as built.
    #[test]
    fn every_key_scheme_reads_in_index_order() {
        let x = [0.5, -1.25, 2.0, 0.75];
        for widths in [&[4, 3][..], &[4, 8, 6, 3], &[4, 5, 7, 6, 3]] {
            let mut n = net(widths);
            n.features = None;
            n.fill = Fill::Mean;
            let want = forward(&n, &x);
            let schemes: [(&str, Option<&str>, Box<Names>); 6] = [
                (
                    "Sequential 0, 2, 4",
                    None,
                    Box::new(|k, p| format!("{}.{p}", 2 * k)),
                ),
                (
                    "fc1, fc2",
                    None,
                    Box::new(|k, p| format!("fc{}.{p}", k + 1)),
                ),
                ("layers.0", None, Box::new(|k, p| format!("layers.{k}.{p}"))),
                ("net.0", None, Box::new(|k, p| format!("net.{k}.{p}"))),
                (
                    "--prefix encoder.",
                    Some("encoder."),
                    Box::new(|k, p| format!("encoder.{}.{p}", 3 * k)),
                ),
                (
                    "--prefix linear",
                    Some("linear"),
                    Box::new(|k, p| format!("linear{}.{p}", k + 1)),
                ),
            ];
            for (what, prefix, names) in schemes {
                let bytes = serialize(&raw(&n, names, true), &[]);
                let back = read(&bytes, &opts(prefix, None)).unwrap();
                assert_eq!(back, n, "{what} {widths:?}");
                let got = forward(&back, &x);
                assert_eq!(got, want, "{what} {widths:?}");
            }
        }
    }

    /// Numeric order, not string order: `fc10` comes after `fc9`, `10.weight` after `8.weight`.
    #[test]
    fn indices_are_ordered_as_numbers() {
        let widths: Vec<usize> = (0..12).map(|k| 2 + k % 3).collect();
        let n = net(&widths);
        for names in [
            Box::new(|k: usize, p: &str| format!("fc{}.{p}", k + 1)) as Box<Names>,
            Box::new(|k: usize, p: &str| format!("{}.{p}", 2 * k)),
        ] {
            let back = read(
                &serialize(&raw(&n, names, true), &[]),
                &ReadOptions::default(),
            );
            assert_eq!(back.unwrap().layers, n.layers);
        }
    }

    #[test]
    fn f64_tensors_are_read_and_the_normaliser_is_optional() {
        let n = net(&[3, 4, 2]);
        let f64s = |name: &str, shape: Vec<usize>, v: &[f32]| -> Raw {
            let b = v.iter().flat_map(|x| f64::from(*x).to_le_bytes()).collect();
            (name.into(), Dtype::F64, shape, b)
        };
        let t: Vec<Raw> = raw(&n, |k, p| format!("{}.{p}", 2 * k), false)
            .into_iter()
            .map(|(name, _, shape, b)| {
                let v: Vec<f32> = b
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                    .collect();
                f64s(&name, shape, &v)
            })
            .collect();
        let back = read(&serialize(&t, &[]), &ReadOptions::default()).unwrap();
        assert_eq!(back.layers, n.layers);
        assert_eq!(back.normalizer, None);
        assert_eq!(back.fill, Fill::Mean);
        assert_eq!(back.features, None);
        assert!(
            back.notes[0].contains("no normalizer.mean"),
            "{:?}",
            back.notes
        );
    }

    #[test]
    fn names_come_from_metadata_or_the_flag_which_wins() {
        let n = net(&[3, 4, 2]);
        let t = raw(&n, |k, p| format!("fc{}.{p}", k + 1), true);
        let bytes = serialize(&t, &[(FEATURES_KEY, "a, b,c"), (CLASSES_KEY, "no,yes")]);
        let back = read(&bytes, &ReadOptions::default()).unwrap();
        assert_eq!(back.features.unwrap(), ["a", "b", "c"]);
        assert_eq!(back.classes.unwrap(), ["no", "yes"]);
        let back = read(&bytes, &opts(None, Some(&["x", "y", "z"]))).unwrap();
        assert_eq!(back.features.unwrap(), ["x", "y", "z"]);
        // The flag wins even over metadata of the wrong count.
        let bad = serialize(&t, &[(FEATURES_KEY, "a,b")]);
        assert!(read(&bad, &opts(None, Some(&["x", "y", "z"]))).is_ok());
        let e = err(&bad, &ReadOptions::default());
        assert!(e.contains("metadata mlprobe.features gives 2 names but the network has 3 inputs (`fc1.weight` [4, 3])"), "{e}");
        let e = err(&bytes, &opts(None, Some(&["x", "y"])));
        assert!(
            e.contains("--features gives 2 names but the network has 3 inputs"),
            "{e}"
        );
        let e = err(&bytes, &opts(None, Some(&["x", "", "z"])));
        assert!(e.contains("--features has an empty name"), "{e}");
        let e = err(&bytes, &opts(None, Some(&["x", "y", "x"])));
        assert!(e.contains("--features names `x` twice"), "{e}");
        let e = err(
            &serialize(&t, &[(CLASSES_KEY, "a,b,c")]),
            &ReadOptions::default(),
        );
        assert!(e.contains("metadata mlprobe.classes gives 3 names but the network has 2 outputs (`fc2.weight` [2, 4])"), "{e}");
    }

    /// Every tensor of the file is used, or the read fails naming those left over.
    #[test]
    fn a_tensor_not_used_is_named() {
        let n = net(&[3, 4, 2]);
        let seq = |k: usize, p: &str| format!("{}.{p}", 2 * k);
        let with = |extra: &[(&str, Vec<usize>)], names: &Names| {
            let mut t = raw(&n, names, true);
            for (name, shape) in extra {
                let v = vec![0.5; shape.iter().product()];
                t.push(f32s(name, shape.clone(), &v));
            }
            serialize(&t, &[])
        };
        let fc = |k: usize, p: &str| format!("fc{}.{p}", k + 1);
        let e = err(
            &with(&[("fc3.weight", vec![2, 2])], &fc),
            &ReadOptions::default(),
        );
        assert!(e.contains("tensor `fc3.weight` has no `fc3.bias`"), "{e}");
        let e = err(
            &with(&[("1.running_mean", vec![4])], &seq),
            &ReadOptions::default(),
        );
        assert!(e.contains("unexpected tensor `1.running_mean`"), "{e}");
        assert!(e.contains("would change the model"), "{e}");
        let e = err(
            &with(&[("fc1.weight", vec![4, 3])], &seq),
            &ReadOptions::default(),
        );
        assert!(
            e.contains("two key schemes: `0.weight`") && e.contains("`fc1.weight`"),
            "{e}"
        );
        // With --prefix the other scheme's tensors are left over.
        let e = err(
            &with(&[("fc1.weight", vec![4, 3])], &seq),
            &opts(Some(""), None),
        );
        assert!(e.contains("unexpected tensor `fc1.weight`"), "{e}");
        let many: Vec<(String, Vec<usize>)> =
            (0..12).map(|i| (format!("x{i:02}"), vec![2])).collect();
        let many: Vec<(&str, Vec<usize>)> =
            many.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
        let e = err(&with(&many, &seq), &ReadOptions::default());
        assert!(
            e.contains("unexpected tensors `x00`") && e.contains("`x07` and 4 more"),
            "{e}"
        );
        // Leading zeros are not an index of the scheme.
        let e = err(
            &with(&[("fc01.weight", vec![4, 3])], &fc),
            &ReadOptions::default(),
        );
        assert!(e.contains("unexpected tensor `fc01.weight`"), "{e}");
    }

    #[test]
    fn shapes_dtypes_and_values_are_checked_naming_the_tensor() {
        let n = net(&[3, 4, 2]);
        let fc = |k: usize, p: &str| format!("fc{}.{p}", k + 1);
        let edit = |f: &dyn Fn(&mut Vec<Raw>)| {
            let mut t = raw(&n, fc, true);
            f(&mut t);
            err(&serialize(&t, &[]), &ReadOptions::default())
        };
        let at = |t: &mut Vec<Raw>, name: &str| t.iter().position(|r| r.0 == name).unwrap();
        // fc2.weight [2, 5] after fc1.weight [4, 3].
        let e = edit(&|t| {
            let i = at(t, "fc2.weight");
            t[i] = f32s("fc2.weight", vec![2, 5], &[0.5; 10]);
        });
        assert!(e.contains("shapes do not chain: `fc1.weight` [4, 3] gives 4 outputs but the next layer's `fc2.weight` [2, 5] takes 5 inputs"), "{e}");
        let e = edit(&|t| {
            let i = at(t, "fc1.weight");
            t[i] = f32s("fc1.weight", vec![12], &[0.5; 12]);
        });
        assert!(
            e.contains("tensor `fc1.weight` has shape [12]; a Linear weight is 2-D"),
            "{e}"
        );
        let e = edit(&|t| {
            let i = at(t, "fc1.bias");
            t[i] = f32s("fc1.bias", vec![3], &[0.5; 3]);
        });
        assert!(
            e.contains("tensor `fc1.bias` has shape [3] but `fc1.weight` [4, 3] has 4 outputs"),
            "{e}"
        );
        let e = edit(&|t| {
            let i = at(t, "fc2.bias");
            t[i] = ("fc2.bias".into(), Dtype::F16, vec![2], vec![0; 4]);
        });
        assert!(
            e.contains("tensor `fc2.bias` has dtype F16; F32 or F64 is needed"),
            "{e}"
        );
        let e = edit(&|t| {
            let i = at(t, "fc1.weight");
            t[i] = ("fc1.weight".into(), Dtype::I64, vec![4, 3], vec![0; 96]);
        });
        assert!(e.contains("tensor `fc1.weight` has dtype I64"), "{e}");
        let e = edit(&|t| {
            let i = at(t, "fc2.weight");
            let mut v = vec![0.5; 8];
            v[5] = f32::NAN;
            t[i] = f32s("fc2.weight", vec![2, 4], &v);
        });
        assert!(
            e.contains("tensor `fc2.weight` holds a non-finite value at flat index 5"),
            "{e}"
        );
        let e = edit(&|t| {
            let i = at(t, "fc1.weight");
            t[i] = f32s("fc1.weight", vec![0, 3], &[]);
        });
        assert!(e.contains("tensor `fc1.weight` has shape [0, 3]"), "{e}");
        let e = edit(&|t| {
            let i = at(t, MEAN);
            t[i] = f32s(MEAN, vec![4], &[0.0; 4]);
        });
        assert!(e.contains("tensor `normalizer.mean` has shape [4] but the network takes 3 inputs (`fc1.weight` [4, 3])"), "{e}");
        let e = edit(&|t| t.retain(|r| r.0 != STD));
        assert!(
            e.contains("tensor `normalizer.mean` has no `normalizer.std`"),
            "{e}"
        );
    }

    #[test]
    fn no_layers_a_literal_prefix_and_garbage_are_messages() {
        let e = err(b"garbage", &ReadOptions::default());
        assert!(e.contains("not a valid safetensors"), "{e}");
        let e = err(&serialize(&[], &[]), &ReadOptions::default());
        assert!(
            e.contains("no dense layers") && e.contains("no tensors"),
            "{e}"
        );
        let n = net(&[3, 2]);
        let bytes = serialize(&raw(&n, |k, p| format!("enc.{k}.{p}"), false), &[]);
        let e = err(&bytes, &ReadOptions::default());
        assert!(
            e.contains("no dense layers") && e.contains("`enc.0.bias`"),
            "{e}"
        );
        let e = err(&bytes, &opts(Some("enc"), None));
        assert!(e.contains("did you mean --prefix enc.?"), "{e}");
        assert!(read(&bytes, &opts(Some("enc."), None)).is_ok());
    }

    #[test]
    fn fill_metadata_must_be_mean_or_finite() {
        let n = net(&[3, 4, 2]);
        let t = raw(&n, |k, p| format!("fc{}.{p}", k + 1), true);
        for fill in ["inf", "-inf", "1e400", "NaN"] {
            let e = err(&serialize(&t, &[(FILL_KEY, fill)]), &ReadOptions::default());
            assert!(e.contains("not a finite number"), "{fill}: {e}");
        }
        let e = err(
            &serialize(&t, &[(FILL_KEY, "median")]),
            &ReadOptions::default(),
        );
        assert!(e.contains("neither `mean` nor a number"), "{e}");
        let back = read(
            &serialize(&t, &[(FILL_KEY, "2.5")]),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(back.fill, Fill::Value(2.5));
    }

    /// The networks made outside mlprobe by tests/reference/make_safetensors.py (numpy weights,
    /// `nn.Sequential` names, the `safetensors` package's numpy API), read and run by the f64
    /// reference forward here: numpy's logits for tests/fixtures/safetensors/inputs.csv to
    /// 1e-12 (the same f64 arithmetic on the same f32 values), at any depth.
    #[test]
    fn numpy_made_sequential_networks_give_numpys_logits() {
        let csv = |text: &str| -> Vec<Vec<f64>> {
            text.lines()
                .skip(1)
                .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
                .collect()
        };
        let inputs = csv(include_str!(
            "../../../tests/fixtures/safetensors/inputs.csv"
        ));
        let cases: [(&[u8], &str, &[usize]); 2] = [
            (
                include_bytes!("../../../tests/fixtures/safetensors/mlp2.safetensors"),
                include_str!("../../../tests/fixtures/safetensors/mlp2.logits.csv"),
                &[4, 8, 3],
            ),
            (
                include_bytes!("../../../tests/fixtures/safetensors/mlp3.safetensors"),
                include_str!("../../../tests/fixtures/safetensors/mlp3.logits.csv"),
                &[4, 8, 6, 3],
            ),
        ];
        for (bytes, logits, widths) in cases {
            let n = read(bytes, &ReadOptions::default()).unwrap();
            let got: Vec<usize> = std::iter::once(n.layers[0].inputs)
                .chain(n.layers.iter().map(|l| l.outputs))
                .collect();
            assert_eq!(got, widths);
            assert_eq!(
                n.features.as_ref().unwrap(),
                &["alpha", "beta", "gamma", "delta"]
            );
            assert!(n.notes.is_empty(), "{:?}", n.notes);
            for (x, want) in inputs.iter().zip(csv(logits)) {
                let got = forward(&n, x);
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                        "{got:?} vs {want:?}"
                    );
                }
            }
        }
    }

    /// Issue 15: `__metadata__` came from a `HashMap`, in a different order from run to run.
    #[test]
    fn write_is_deterministic_and_sorted() {
        let mut n = net(&[3, 4, 2]);
        n.classes = Some(vec!["a".into(), "b".into()]);
        let first = write(&n).unwrap();
        for _ in 0..16 {
            assert!(write(&n).unwrap() == first);
        }
        let len = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
        assert_eq!(len % 8, 0);
        let header = std::str::from_utf8(&first[8..8 + len]).unwrap();
        assert!(
            header.starts_with(
                r#"{"__metadata__":{"format":"pt","mlprobe.classes":"a,b","mlprobe.features":"f0,f1,f2","mlprobe.fill":"-1.0"},"fc1.bias":{"#
            ),
            "{header}"
        );
        n.features = Some(vec!["a,b".into(), "c".into(), "d".into()]);
        assert!(write(&n).unwrap_err().contains("feature name `a,b`"));
        n.features = None;
        n.layers[1].bias.pop();
        assert!(
            write(&n)
                .unwrap_err()
                .contains("layer 2: 8 weights and 1 biases")
        );
    }
}
