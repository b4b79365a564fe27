//! The model file: a versioned, checksummed, little-endian binary, parsed without copying.
//!
//! Layout of version 2, which this crate writes (all integers and floats little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"MLPB"` |
//! | 4 | 2 | format version, `2` |
//! | 6 | 2 | flags: bit 0 set = missing values filled with the mean; other bits must be 0 |
//! | 8 | 2 | inputs |
//! | 10 | 2 | dense layers `L`, 1 to [`MAX_LAYERS`] |
//! | 12 | 4 | fill value (`f32`, used when bit 0 of flags is clear) |
//! | 16 | 2·L | units of each dense layer, the last one's being the classes |
//! | … | 2 | feature names: 0, or one per input |
//! | … | 2 | class names: 0, or one per class |
//! | … | 4 | `N`, bytes of the names |
//! | … | N | the names, features first: each a 2-byte length and that many bytes of UTF-8 |
//! | … | 4·I | normalizer means |
//! | … | 4·I | normalizer standard deviations |
//! | … | 4·P | parameters in [`crate::mlp`] order (`fc1.weight`, `fc1.bias`, `fc2.weight`, …) |
//! | end − 4 | 4 | CRC-32 ([`crate::crc`]) of every byte before it |
//!
//! An int8 model ([`crate::quant`]) sets flag bit 1 (and bit 2 when its weights have one scale
//! per layer rather than one per output channel); its parameters section is instead:
//!
//! | size | field |
//! |---|---|
//! | 4 + 4 | the input's scale (`f32`) and zero point (`i32`) |
//! | per layer `k` of `n` units and `m` inputs: | |
//! | 4 + 4 | the output's scale and zero point |
//! | 4·c | weight scales (`f32`), `c` = `n`, or 1 with flag bit 2 |
//! | 4·n | biases (`i32`, at scale input × weight) |
//! | n·m | weights (`i8`, row-major `[n × m]`) |
//!
//! Limits ([`crate::mlp`]): at most [`MAX_INPUTS`] inputs, [`MAX_LAYERS`] dense layers,
//! [`MAX_HIDDEN`] units per hidden layer, [`MAX_CLASSES`] classes; a name is 1 to
//! [`MAX_NAME`] bytes of UTF-8 without control characters, and no two feature names (or two
//! class names) are the same.
//!
//! Version 1 (still read; the seed's shape, no names) has the same header up to offset 8,
//! then inputs, hidden units and outputs (2 bytes each), 2 reserved bytes (0), the fill value
//! at offset 16, and from offset 20 the normalizer, the parameters and the checksum as above.
//!
//! [`ModelFile::parse`] checks everything (length, magic, version, flags, dimensions, names,
//! checksum, a finite fill value, finite means, finite positive standard deviations, finite
//! parameters) and keeps borrowed byte slices; values and names are decoded when read, so a
//! model in flash needs no RAM copy. [`encode`] writes version 2.

use crate::crc::Crc32;
use crate::mlp::{Dims, MAX_CLASSES, MAX_HIDDEN, MAX_INPUTS, MAX_LAYERS};
use crate::quant::{QLayer, QParams, QuantError};
use crate::transform::{Fill, Standardizer};
use core::fmt;

/// The four magic bytes.
pub const MAGIC: [u8; 4] = *b"MLPB";
/// The format version this crate writes.
pub const VERSION: u16 = 2;
/// The oldest format version this crate reads.
pub const OLDEST_VERSION: u16 = 1;
/// Bytes of a version 1 header (before the normalizer).
pub const HEADER_LEN: usize = 20;
/// Longest name, in bytes.
pub const MAX_NAME: usize = 256;
const FLAG_FILL_MEAN: u16 = 1;
/// Flag bit 1: an int8 model ([`crate::quant`]); the parameters section is the int8 section.
const FLAG_INT8: u16 = 2;
/// Flag bit 2 (int8 only): one weight scale per layer rather than one per output channel.
const FLAG_PER_TENSOR: u16 = 4;

/// What is wrong with a name in a model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NameProblem {
    /// It is empty.
    Empty,
    /// It is longer than [`MAX_NAME`] bytes.
    TooLong,
    /// It is not UTF-8, or holds a control character.
    NotText,
    /// An earlier name of the same kind is the same.
    Duplicate,
}

/// Errors of a malformed model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ModelError {
    /// The file is shorter than a header and a checksum.
    TooShort {
        /// Bytes present.
        len: usize,
    },
    /// The file does not start with the magic bytes `MLPB`: not an mlprobe model.
    BadMagic,
    /// The format version is not supported by this build.
    UnsupportedVersion {
        /// The version in the file.
        version: u16,
    },
    /// Unknown flag bits or a non-zero reserved field.
    BadFlags {
        /// The flags in the file.
        flags: u16,
    },
    /// The number of dense layers is 0 or above [`MAX_LAYERS`].
    BadLayerCount {
        /// The count in the file.
        layers: u16,
    },
    /// A width in the header is out of range: `widths[0]` inputs, then each layer's units.
    BadDims {
        /// The widths in the header (0 beyond `count`).
        widths: [u16; MAX_LAYERS + 1],
        /// How many of them there are (layers + 1).
        count: u8,
    },
    /// A name count is neither 0 nor the number of inputs (classes).
    BadNameCount {
        /// `true` for the class names, `false` for the feature names.
        classes: bool,
        /// The count in the file.
        found: u16,
        /// The number it must be when not 0.
        expected: u16,
    },
    /// A feature or class name is malformed.
    BadName {
        /// `true` for a class name, `false` for a feature name.
        class: bool,
        /// Its index among the feature (class) names, from 0.
        index: usize,
        /// What is wrong with it.
        problem: NameProblem,
    },
    /// The file length does not match its dimensions (truncated or with trailing bytes).
    LengthMismatch {
        /// The length the header implies.
        expected: usize,
        /// The actual length.
        found: usize,
    },
    /// The checksum does not match the contents: the file is corrupted.
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u32,
        /// The checksum of the contents.
        computed: u32,
    },
    /// A normalizer value is invalid (non-finite mean, non-positive or non-finite std).
    BadNormalizer {
        /// The feature.
        feature: usize,
    },
    /// The fill value for missing cells is `NaN` or infinite.
    NonFiniteFill,
    /// A parameter is not finite.
    NonFiniteParameter {
        /// Its index in the flat parameter buffer.
        index: usize,
    },
    /// An int8 model's scale or zero point is out of range.
    Quant(QuantError),
    /// An output buffer has the wrong length.
    BufferLength {
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(f, "file of {len} bytes is too short to be a model"),
            Self::BadMagic => {
                f.write_str("not an mlprobe model (the magic bytes `MLPB` are missing)")
            }
            Self::UnsupportedVersion { version } => write!(
                f,
                "model format version {version} is not supported (this build reads versions \
                 {OLDEST_VERSION} to {VERSION})"
            ),
            Self::BadFlags { flags } => {
                write!(f, "unknown flags {flags:#06x} or non-zero reserved field")
            }
            Self::BadLayerCount { layers } => {
                write!(f, "{layers} dense layers: a model has 1 to {MAX_LAYERS}")
            }
            Self::BadDims { widths, count } => {
                f.write_str("dimensions ")?;
                for (k, w) in widths[..usize::from(count).min(MAX_LAYERS + 1)]
                    .iter()
                    .enumerate()
                {
                    if k > 0 {
                        f.write_str("-")?;
                    }
                    write!(f, "{w}")?;
                }
                write!(
                    f,
                    " are out of range (1 to {MAX_INPUTS} inputs, 1 to {MAX_HIDDEN} units per \
                     hidden layer, 1 to {MAX_CLASSES} classes)"
                )
            }
            Self::BadNameCount {
                classes,
                found,
                expected,
            } => write!(
                f,
                "{found} {} names; there must be none or {expected}",
                if classes { "class" } else { "feature" }
            ),
            Self::BadName {
                class,
                index,
                problem,
            } => {
                let kind = if class { "class" } else { "feature" };
                let what = match problem {
                    NameProblem::Empty => "is empty",
                    NameProblem::TooLong => "is longer than 256 bytes",
                    NameProblem::NotText => "is not UTF-8 text without control characters",
                    NameProblem::Duplicate => "repeats an earlier name",
                };
                write!(f, "{kind} name {} {what}", index + 1)
            }
            Self::LengthMismatch { expected, found } => write!(
                f,
                "file is {found} bytes but its header implies {expected}: truncated or trailing data"
            ),
            Self::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupted"
            ),
            Self::BadNormalizer { feature } => {
                write!(f, "invalid normalizer value for feature {feature}")
            }
            Self::NonFiniteFill => {
                f.write_str("the fill value for missing cells is not a finite number")
            }
            Self::NonFiniteParameter { index } => write!(f, "parameter {index} is not finite"),
            Self::Quant(e) => write!(f, "int8 section: {e}"),
            Self::BufferLength { expected, found } => {
                write!(f, "buffer of {found} values, expected {expected}")
            }
        }
    }
}

impl core::error::Error for ModelError {}

/// Bytes of the names section's entries (without its 8-byte counts and length).
pub fn names_len<S: AsRef<str>>(features: &[S], classes: &[S]) -> usize {
    features
        .iter()
        .chain(classes)
        .map(|n| 2 + n.as_ref().len())
        .sum()
}

/// Length in bytes of a version 2 model file with these dimensions and `names` bytes of
/// names ([`names_len`]).
pub const fn encoded_len(dims: &Dims, names: usize) -> usize {
    16 + 2 * dims.layers() + 8 + names + 8 * dims.inputs() + 4 * dims.param_count() + 4
}

/// Bytes of an int8 model's parameters section (see the module docs).
pub const fn quant_len(dims: &Dims, per_tensor: bool) -> usize {
    let mut n = 8;
    let mut k = 1;
    while k <= dims.layers() {
        let (units, inputs) = (dims.width(k), dims.width(k - 1));
        n += 8 + 4 * (if per_tensor { 1 } else { units }) + 4 * units + units * inputs;
        k += 1;
    }
    n
}

/// Length in bytes of an int8 model file ([`encode_int8`]).
pub const fn encoded_len_int8(dims: &Dims, names: usize, per_tensor: bool) -> usize {
    16 + 2 * dims.layers() + 8 + names + 8 * dims.inputs() + quant_len(dims, per_tensor) + 4
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn f32s(bytes: &[u8]) -> impl ExactSizeIterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn i32s(bytes: &[u8]) -> impl ExactSizeIterator<Item = i32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

fn qparams(b: &[u8]) -> QParams {
    QParams {
        scale: f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        zero_point: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
    }
}

/// One layer of an int8 model file, decoded on the fly ([`ModelFile::qlayer`]).
#[derive(Clone, Copy, Debug)]
pub struct QLayerFile<'a> {
    /// The output's scale and zero point.
    pub output: QParams,
    scales: &'a [u8],
    bias: &'a [u8],
    weight: &'a [u8],
}

impl<'a> QLayerFile<'a> {
    /// The weight scales: one per output channel, or one.
    pub fn weight_scales(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.scales)
    }

    /// The `i32` biases.
    pub fn biases(&self) -> impl ExactSizeIterator<Item = i32> + 'a {
        i32s(self.bias)
    }

    /// The `i8` weights, row-major `[units × inputs]`.
    pub fn weights(&self) -> impl ExactSizeIterator<Item = i8> + 'a {
        self.weight.iter().map(|&b| b as i8)
    }
}

/// Splits layer `k` (of `dims`) off the front of an int8 section's layer bytes.
fn split_qlayer<'a>(
    dims: &Dims,
    k: usize,
    per_tensor: bool,
    b: &'a [u8],
) -> (QLayerFile<'a>, &'a [u8]) {
    let (n, m) = (dims.width(k + 1), dims.width(k));
    let c = if per_tensor { 1 } else { n };
    let (head, rest) = b.split_at(8);
    let (scales, rest) = rest.split_at(4 * c);
    let (bias, rest) = rest.split_at(4 * n);
    let (weight, rest) = rest.split_at(n * m);
    (
        QLayerFile {
            output: qparams(head),
            scales,
            bias,
            weight,
        },
        rest,
    )
}

/// Checks an int8 section's scales and zero points (its length is already right).
fn check_quant(dims: &Dims, per_tensor: bool, q: &[u8]) -> Result<(), QuantError> {
    let check = |p: QParams, tensor: usize| {
        if !(p.scale.is_finite() && p.scale > 0.0) {
            return Err(QuantError::BadScale { tensor, channel: 0 });
        }
        if !(-128..=127).contains(&p.zero_point) {
            return Err(QuantError::BadZeroPoint { tensor });
        }
        Ok(())
    };
    check(qparams(q), 0)?;
    let mut rest = &q[8..];
    for k in 0..dims.layers() {
        let (layer, tail) = split_qlayer(dims, k, per_tensor, rest);
        check(layer.output, k + 1)?;
        if let Some(channel) = layer
            .weight_scales()
            .position(|s| !(s.is_finite() && s > 0.0))
        {
            return Err(QuantError::BadScale {
                tensor: k + 1,
                channel,
            });
        }
        rest = tail;
    }
    Ok(())
}

/// Names stored in a model file, decoded on the fly: a 2-byte length and the UTF-8 bytes,
/// repeated (already checked by [`ModelFile::parse`]).
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> Names<'a> {
    /// How many names there are (0 when the file has none).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file has none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The names in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut rest = self.bytes;
        (0..self.count).map(move |_| {
            let n = usize::from(read_u16(rest, 0));
            let (name, tail) = rest[2..].split_at(n);
            rest = tail;
            // Checked by `parse`.
            core::str::from_utf8(name).unwrap_or("")
        })
    }
}

/// Walks `count` names from the start of `bytes`, checking each; returns the bytes they
/// take. Duplicates are found by comparing with every earlier name: quadratic, but names are
/// few (at most 4,096 features) and this runs once per load.
fn check_names(bytes: &[u8], count: usize, class: bool) -> Result<usize, ModelError> {
    let mut at = 0;
    for index in 0..count {
        let bad = |problem| ModelError::BadName {
            class,
            index,
            problem,
        };
        if at + 2 > bytes.len() {
            return Err(ModelError::LengthMismatch {
                expected: at + 2,
                found: bytes.len(),
            });
        }
        let n = usize::from(read_u16(bytes, at));
        let name = bytes
            .get(at + 2..at + 2 + n)
            .ok_or(ModelError::LengthMismatch {
                expected: at + 2 + n,
                found: bytes.len(),
            })?;
        if n == 0 {
            return Err(bad(NameProblem::Empty));
        }
        if n > MAX_NAME {
            return Err(bad(NameProblem::TooLong));
        }
        let text = core::str::from_utf8(name).map_err(|_| bad(NameProblem::NotText))?;
        if text.chars().any(char::is_control) {
            return Err(bad(NameProblem::NotText));
        }
        let earlier = Names {
            bytes: &bytes[..at],
            count: index,
        };
        if earlier.iter().any(|e| e == text) {
            return Err(bad(NameProblem::Duplicate));
        }
        at += 2 + n;
    }
    Ok(at)
}

/// A parsed, checked model file borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct ModelFile<'a> {
    version: u16,
    dims: Dims,
    fill: Fill,
    features: Names<'a>,
    classes: Names<'a>,
    mean: &'a [u8],
    std: &'a [u8],
    params: &'a [u8],
    /// `Some(per_tensor)` for an int8 model, whose `params` is the int8 section.
    int8: Option<bool>,
}

/// The header of either version: dims, where the names start and how many, and where the
/// normalizer starts.
struct Header {
    dims: Dims,
    names_at: usize,
    features: usize,
    classes: usize,
    names_len: usize,
}

fn bad_dims(widths: &[u16]) -> ModelError {
    let mut w = [0u16; MAX_LAYERS + 1];
    let count = widths.len().min(MAX_LAYERS + 1);
    w[..count].copy_from_slice(&widths[..count]);
    ModelError::BadDims {
        widths: w,
        count: count as u8,
    }
}

fn dims_of(widths: &[u16]) -> Result<Dims, ModelError> {
    let (inputs, rest) = widths.split_first().ok_or(bad_dims(widths))?;
    let (outputs, hidden) = rest.split_last().ok_or(bad_dims(widths))?;
    let mut h = [0usize; MAX_LAYERS];
    for (d, &s) in h.iter_mut().zip(hidden) {
        *d = s.into();
    }
    Dims::deep((*inputs).into(), &h[..hidden.len()], (*outputs).into())
        .map_err(|_| bad_dims(widths))
}

fn header_v1(bytes: &[u8]) -> Result<Header, ModelError> {
    if read_u16(bytes, 14) != 0 {
        return Err(ModelError::BadFlags {
            flags: read_u16(bytes, 6),
        });
    }
    let widths = [read_u16(bytes, 8), read_u16(bytes, 10), read_u16(bytes, 12)];
    Ok(Header {
        dims: dims_of(&widths)?,
        names_at: HEADER_LEN,
        features: 0,
        classes: 0,
        names_len: 0,
    })
}

fn header_v2(bytes: &[u8]) -> Result<Header, ModelError> {
    let layers = read_u16(bytes, 10);
    if layers == 0 || usize::from(layers) > MAX_LAYERS {
        return Err(ModelError::BadLayerCount { layers });
    }
    let l = usize::from(layers);
    let counts_at = 16 + 2 * l;
    if bytes.len() < counts_at + 8 + 4 {
        return Err(ModelError::TooShort { len: bytes.len() });
    }
    let mut widths = [0u16; MAX_LAYERS + 1];
    widths[0] = read_u16(bytes, 8);
    for k in 0..l {
        widths[k + 1] = read_u16(bytes, 16 + 2 * k);
    }
    let dims = dims_of(&widths[..=l])?;
    let (features, classes) = (read_u16(bytes, counts_at), read_u16(bytes, counts_at + 2));
    for (is_classes, found, want) in [
        (false, features, dims.inputs()),
        (true, classes, dims.outputs()),
    ] {
        if found != 0 && usize::from(found) != want {
            return Err(ModelError::BadNameCount {
                classes: is_classes,
                found,
                expected: want as u16,
            });
        }
    }
    let at = counts_at + 4;
    let names_len =
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    Ok(Header {
        dims,
        names_at: at + 4,
        features: features.into(),
        classes: classes.into(),
        names_len,
    })
}

impl<'a> ModelFile<'a> {
    /// Checks a model file and returns a view of it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        if bytes.len() < HEADER_LEN + 4 {
            if bytes.len() >= 4 && bytes[..4] != MAGIC {
                return Err(ModelError::BadMagic);
            }
            return Err(ModelError::TooShort { len: bytes.len() });
        }
        if bytes[..4] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let version = read_u16(bytes, 4);
        let flags = read_u16(bytes, 6);
        let header = match version {
            1 => header_v1(bytes),
            2 => header_v2(bytes),
            _ => return Err(ModelError::UnsupportedVersion { version }),
        };
        let known = if version == 1 {
            FLAG_FILL_MEAN
        } else {
            FLAG_FILL_MEAN | FLAG_INT8 | FLAG_PER_TENSOR
        };
        if flags & !known != 0 || flags & (FLAG_INT8 | FLAG_PER_TENSOR) == FLAG_PER_TENSOR {
            return Err(ModelError::BadFlags { flags });
        }
        let int8 = (flags & FLAG_INT8 != 0).then_some(flags & FLAG_PER_TENSOR != 0);
        let h = header?;
        let dims = h.dims;
        let params_len = match int8 {
            Some(per_tensor) => quant_len(&dims, per_tensor),
            None => 4 * dims.param_count(),
        };
        let expected = h
            .names_at
            .saturating_add(h.names_len)
            .saturating_add(8 * dims.inputs() + params_len + 4);
        if bytes.len() != expected {
            return Err(ModelError::LengthMismatch {
                expected,
                found: bytes.len(),
            });
        }
        let (body, tail) = bytes.split_at(expected - 4);
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let mut crc = Crc32::new();
        crc.update(body);
        let computed = crc.finish();
        if stored != computed {
            return Err(ModelError::ChecksumMismatch { stored, computed });
        }
        let fill_at = if version == 1 { 16 } else { 12 };
        let fill_value = f32::from_le_bytes([
            body[fill_at],
            body[fill_at + 1],
            body[fill_at + 2],
            body[fill_at + 3],
        ]);
        let fill = if flags & FLAG_FILL_MEAN != 0 {
            Fill::Mean
        } else {
            Fill::Value(fill_value)
        };
        // Checked whatever the flags say: a file is either right or rejected (issue 15: a fill
        // of `+inf` made every row with a missing cell predict class 0 with no warning).
        if !fill_value.is_finite() {
            return Err(ModelError::NonFiniteFill);
        }
        let names = &body[h.names_at..h.names_at + h.names_len];
        let f_len = check_names(names, h.features, false)?;
        let c_len = check_names(&names[f_len..], h.classes, true)?;
        if f_len + c_len != names.len() {
            return Err(ModelError::LengthMismatch {
                expected: f_len + c_len,
                found: names.len(),
            });
        }
        let n = 4 * dims.inputs();
        let (mean, rest) = body[h.names_at + h.names_len..].split_at(n);
        let (std, params) = rest.split_at(n);
        for (feature, (m, s)) in f32s(mean).zip(f32s(std)).enumerate() {
            if !m.is_finite() || !s.is_finite() || s <= 0.0 {
                return Err(ModelError::BadNormalizer { feature });
            }
        }
        match int8 {
            Some(per_tensor) => {
                check_quant(&dims, per_tensor, params).map_err(ModelError::Quant)?
            }
            None => {
                if let Some(index) = f32s(params).position(|p| !p.is_finite()) {
                    return Err(ModelError::NonFiniteParameter { index });
                }
            }
        }
        Ok(Self {
            version,
            dims,
            fill,
            features: Names {
                bytes: &names[..f_len],
                count: h.features,
            },
            classes: Names {
                bytes: &names[f_len..],
                count: h.classes,
            },
            mean,
            std,
            params,
            int8,
        })
    }

    /// Whether this is an int8 model ([`crate::quant`]).
    pub fn is_int8(&self) -> bool {
        self.int8.is_some()
    }

    /// Whether an int8 model has one weight scale per layer (rather than per channel).
    pub fn per_tensor(&self) -> bool {
        self.int8 == Some(true)
    }

    /// An int8 model's input scale and zero point; `None` for a float model.
    pub fn input_q(&self) -> Option<QParams> {
        self.int8.map(|_| qparams(self.params))
    }

    /// Layer `k` of an int8 model; `None` for a float model or `k` out of range.
    pub fn qlayer(&self, k: usize) -> Option<QLayerFile<'a>> {
        let per_tensor = self.int8?;
        if k >= self.dims.layers() {
            return None;
        }
        let mut rest = &self.params[8..];
        for j in 0..k {
            rest = split_qlayer(&self.dims, j, per_tensor, rest).1;
        }
        Some(split_qlayer(&self.dims, k, per_tensor, rest).0)
    }

    /// The format version of the file (1 or 2).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The missing-value policy.
    pub fn fill(&self) -> Fill {
        self.fill
    }

    /// The feature names: one per input, or none (a version 1 file, or a model imported
    /// without them).
    pub fn feature_names(&self) -> Names<'a> {
        self.features
    }

    /// The class names: one per class, or none.
    pub fn class_names(&self) -> Names<'a> {
        self.classes
    }

    /// The normalizer means, decoded on the fly.
    pub fn mean(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.mean)
    }

    /// The normalizer standard deviations, decoded on the fly.
    pub fn std(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.std)
    }

    /// A float model's flat parameters, decoded on the fly; `None` for an int8 model (whose
    /// float view [`copy_into`](Self::copy_into) gives).
    pub fn float_params(&self) -> Option<impl ExactSizeIterator<Item = f32> + 'a> {
        self.int8.is_none().then(|| f32s(self.params))
    }

    /// Decodes the normalizer and parameters into caller buffers of exactly
    /// `inputs`, `inputs` and `param_count` values. An int8 model's parameters are its
    /// dequantized values: each weight times its scale, each bias times input scale × weight
    /// scale (in `f32`), an approximation of the int8 model for the float paths.
    pub fn copy_into(
        &self,
        mean: &mut [f32],
        std: &mut [f32],
        params: &mut [f32],
    ) -> Result<(), ModelError> {
        for (buf, expected) in [
            (mean.len(), self.dims.inputs()),
            (std.len(), self.dims.inputs()),
            (params.len(), self.dims.param_count()),
        ] {
            if buf != expected {
                return Err(ModelError::BufferLength {
                    expected,
                    found: buf,
                });
            }
        }
        mean.iter_mut().zip(self.mean()).for_each(|(d, s)| *d = s);
        std.iter_mut().zip(self.std()).for_each(|(d, s)| *d = s);
        let Some(mut input) = self.input_q() else {
            params
                .iter_mut()
                .zip(f32s(self.params))
                .for_each(|(d, s)| *d = s);
            return Ok(());
        };
        let mut at = 0;
        for k in 0..self.dims.layers() {
            // Checked by `parse`.
            let Some(layer) = self.qlayer(k) else { break };
            let (n, m) = (self.dims.width(k + 1), self.dims.width(k));
            let scales = layer.scales;
            let scale = |o: usize| {
                let c = if scales.len() == 4 { 0 } else { o };
                f32s(&scales[4 * c..4 * c + 4]).next().unwrap_or(1.0)
            };
            for (j, w) in layer.weights().enumerate() {
                params[at + j] = f32::from(w) * scale(j / m);
            }
            at += n * m;
            for (o, b) in layer.biases().enumerate() {
                params[at + o] = b as f32 * (input.scale * scale(o));
            }
            at += n;
            input = layer.output;
        }
        Ok(())
    }
}

/// Writes a version 2 model file into `out` (exactly [`encoded_len`] bytes, with
/// [`names_len`] of the names) and returns its length. `features` and `classes` are empty or
/// one name per input (class). The bytes written are then parsed, so a file this returns is
/// one that [`ModelFile::parse`] accepts (a bad name is its typed error).
pub fn encode<F: AsRef<[f32]>, S: AsRef<str>>(
    norm: &Standardizer<F>,
    dims: &Dims,
    params: &[f32],
    features: &[S],
    classes: &[S],
    out: &mut [u8],
) -> Result<usize, ModelError> {
    if params.len() != dims.param_count() {
        return Err(ModelError::BufferLength {
            expected: dims.param_count(),
            found: params.len(),
        });
    }
    let len = encoded_len(dims, names_len(features, classes));
    encode_with(norm, dims, 0, len, features, classes, out, |put| {
        for v in params {
            put(&v.to_le_bytes());
        }
    })
}

/// Writes an int8 model file into `out` (exactly [`encoded_len_int8`] bytes) and returns its
/// length: the standardiser, the input's parameters, and one [`QLayer`] per dense layer of
/// `dims` (every layer's weight scales one per channel, or every layer's one). Parsed after
/// writing, as [`encode`]'s.
#[allow(clippy::too_many_arguments)]
pub fn encode_int8<F: AsRef<[f32]>, S: AsRef<str>>(
    norm: &Standardizer<F>,
    dims: &Dims,
    input: QParams,
    layers: &[QLayer<'_>],
    features: &[S],
    classes: &[S],
    out: &mut [u8],
) -> Result<usize, ModelError> {
    let per_tensor = layers.first().is_some_and(|l| l.weight_scale.len() == 1);
    if layers.len() != dims.layers() {
        return Err(ModelError::BufferLength {
            expected: dims.layers(),
            found: layers.len(),
        });
    }
    for (k, l) in layers.iter().enumerate() {
        let (n, m) = (dims.width(k + 1), dims.width(k));
        let c = if per_tensor { 1 } else { n };
        for (expected, found) in [
            (c, l.weight_scale.len()),
            (n, l.bias.len()),
            (n * m, l.weight.len()),
        ] {
            if expected != found {
                return Err(ModelError::BufferLength { expected, found });
            }
        }
    }
    let len = encoded_len_int8(dims, names_len(features, classes), per_tensor);
    let flags = FLAG_INT8 | if per_tensor { FLAG_PER_TENSOR } else { 0 };
    encode_with(norm, dims, flags, len, features, classes, out, |put| {
        put(&input.scale.to_le_bytes());
        put(&input.zero_point.to_le_bytes());
        for l in layers {
            put(&l.output.scale.to_le_bytes());
            put(&l.output.zero_point.to_le_bytes());
            for v in l.weight_scale {
                put(&v.to_le_bytes());
            }
            for v in l.bias {
                put(&v.to_le_bytes());
            }
            for &v in l.weight {
                put(&[v as u8]);
            }
        }
    })
}

/// The writer of both kinds: header, names and normalizer, then `body` (the parameters
/// section) and the checksum into `out` of exactly `len` bytes; parses the result.
#[allow(clippy::too_many_arguments)]
fn encode_with<F: AsRef<[f32]>, S: AsRef<str>>(
    norm: &Standardizer<F>,
    dims: &Dims,
    kind_flags: u16,
    len: usize,
    features: &[S],
    classes: &[S],
    out: &mut [u8],
    body: impl FnOnce(&mut dyn FnMut(&[u8])),
) -> Result<usize, ModelError> {
    let names = names_len(features, classes);
    if out.len() != len {
        return Err(ModelError::BufferLength {
            expected: len,
            found: out.len(),
        });
    }
    if norm.len() != dims.inputs() {
        return Err(ModelError::BufferLength {
            expected: dims.inputs(),
            found: norm.len(),
        });
    }
    for (classes, list, want) in [
        (false, features, dims.inputs()),
        (true, classes, dims.outputs()),
    ] {
        if !list.is_empty() && list.len() != want {
            return Err(ModelError::BadNameCount {
                classes,
                found: list.len().min(usize::from(u16::MAX)) as u16,
                expected: want as u16,
            });
        }
    }
    if let Some(index) = features
        .iter()
        .chain(classes)
        .position(|n| n.as_ref().len() > MAX_NAME)
    {
        let class = index >= features.len();
        return Err(ModelError::BadName {
            class,
            index: if class { index - features.len() } else { index },
            problem: NameProblem::TooLong,
        });
    }
    let (flags, fill_value) = match norm.fill() {
        Fill::Mean => (FLAG_FILL_MEAN, 0.0f32),
        Fill::Value(v) => (0, v),
    };
    let flags = flags | kind_flags;
    let mut w = 0;
    let mut put = |bytes: &[u8]| {
        out[w..w + bytes.len()].copy_from_slice(bytes);
        w += bytes.len();
    };
    // Every width, count and name length fits 16 bits: `Dims` and the checks above bound them.
    put(&MAGIC);
    put(&VERSION.to_le_bytes());
    put(&flags.to_le_bytes());
    put(&(dims.inputs() as u16).to_le_bytes());
    put(&(dims.layers() as u16).to_le_bytes());
    put(&fill_value.to_le_bytes());
    for k in 1..=dims.layers() {
        put(&(dims.width(k) as u16).to_le_bytes());
    }
    put(&(features.len() as u16).to_le_bytes());
    put(&(classes.len() as u16).to_le_bytes());
    put(&(names as u32).to_le_bytes());
    for name in features.iter().chain(classes) {
        let name = name.as_ref().as_bytes();
        put(&(name.len() as u16).to_le_bytes());
        put(name);
    }
    for v in norm.mean().iter().chain(norm.std()) {
        put(&v.to_le_bytes());
    }
    body(&mut put);
    let crc = crate::crc::crc32(&out[..len - 4]);
    out[len - 4..].copy_from_slice(&crc.to_le_bytes());
    ModelFile::parse(out)?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec as Vec;

    fn params_of(dims: &Dims) -> Vec<f32> {
        (0..dims.param_count())
            .map(|k| k as f32 * 0.25 - 1.0)
            .collect()
    }

    fn encode_vec(dims: &Dims, features: &[&str], classes: &[&str]) -> Vec<u8> {
        let norm = Standardizer::new(
            (0..dims.inputs())
                .map(|k| k as f32 + 1.0)
                .collect::<Vec<_>>(),
            (0..dims.inputs())
                .map(|k| 0.5 + k as f32)
                .collect::<Vec<_>>(),
            Fill::Mean,
        )
        .unwrap();
        let mut out = vec![0u8; encoded_len(dims, names_len(features, classes))];
        encode(&norm, dims, &params_of(dims), features, classes, &mut out).unwrap();
        out
    }

    fn sample() -> Vec<u8> {
        encode_vec(&Dims::new(2, 2, 2).unwrap(), &[], &[])
    }

    /// A version 1 file, assembled field by field as the version 1 writer did (the layout in
    /// the module docs): the files written before version 2 must keep loading.
    fn sample_v1() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(b"MLPB");
        for v in [1u16, 1, 2, 2, 2, 0] {
            b.extend(v.to_le_bytes());
        }
        b.extend(0.0f32.to_le_bytes());
        for v in [1.0f32, 2.0, 0.5, 1.5]
            .into_iter()
            .chain(params_of(&Dims::new(2, 2, 2).unwrap()))
        {
            b.extend(v.to_le_bytes());
        }
        let crc = crate::crc::crc32(&b);
        b.extend(crc.to_le_bytes());
        b
    }

    /// Rewrites the checksum after a deliberate edit, so the check under test is reached.
    fn reseal(b: &mut [u8]) {
        let n = b.len();
        let crc = crate::crc::crc32(&b[..n - 4]);
        b[n - 4..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        assert_eq!(&bytes[..4], b"MLPB");
        let m = ModelFile::parse(&bytes).unwrap();
        assert_eq!(m.version(), 2);
        assert_eq!(m.dims(), Dims::new(2, 2, 2).unwrap());
        assert_eq!(m.fill(), Fill::Mean);
        assert_eq!(m.mean().collect::<Vec<_>>(), [1.0, 2.0]);
        assert_eq!(m.std().collect::<Vec<_>>(), [0.5, 1.5]);
        let p: Vec<f32> = m.float_params().unwrap().collect();
        assert_eq!(p.len(), 12);
        assert_eq!(p[0], -1.0);
        assert_eq!(p[11], 1.75);
        assert!(m.feature_names().is_empty() && m.class_names().is_empty());
    }

    #[test]
    fn deep_models_and_names_round_trip() {
        let d = Dims::deep(3, &[5, 4, 6], 2).unwrap();
        let features = ["alcohol", "ash ", "色"];
        let b = encode_vec(&d, &features, &["bad", "good"]);
        let m = ModelFile::parse(&b).unwrap();
        assert_eq!(m.dims(), d);
        assert_eq!(m.feature_names().len(), 3);
        assert_eq!(m.feature_names().iter().collect::<Vec<_>>(), features);
        assert_eq!(m.class_names().iter().collect::<Vec<_>>(), ["bad", "good"]);
        assert_eq!(m.float_params().unwrap().collect::<Vec<_>>(), params_of(&d));
        // Features only; a linear classifier (one layer) and the largest shape.
        let b = encode_vec(&Dims::deep(3, &[], 2).unwrap(), &["a", "b", "c"], &[]);
        let m = ModelFile::parse(&b).unwrap();
        assert_eq!((m.feature_names().len(), m.class_names().len()), (3, 0));
        let big = Dims::deep(2, &[MAX_HIDDEN; MAX_LAYERS - 1], 2).unwrap();
        assert_eq!(
            ModelFile::parse(&encode_vec(&big, &[], &[]))
                .unwrap()
                .dims(),
            big
        );
    }

    #[test]
    fn version_1_files_still_load() {
        let b = sample_v1();
        let m = ModelFile::parse(&b).unwrap();
        assert_eq!(m.version(), 1);
        assert_eq!(m.dims(), Dims::new(2, 2, 2).unwrap());
        assert_eq!(m.fill(), Fill::Mean);
        assert_eq!(m.std().collect::<Vec<_>>(), [0.5, 1.5]);
        assert_eq!(
            m.float_params().unwrap().collect::<Vec<_>>(),
            params_of(&m.dims())
        );
        assert!(m.feature_names().is_empty());
        let mut r = b.clone();
        r[14] = 1; // the reserved field of version 1
        reseal(&mut r);
        assert!(matches!(
            ModelFile::parse(&r).unwrap_err(),
            ModelError::BadFlags { .. }
        ));
    }

    #[test]
    fn golden_header_bytes() {
        let b = sample();
        // magic, version 2, flags 1 (mean fill), 2 inputs, 2 layers, fill 0.0, widths 2 and 2,
        // no feature names, no class names, 0 bytes of names
        assert_eq!(
            &b[..28],
            &[
                b'M', b'L', b'P', b'B', 2, 0, 1, 0, 2, 0, 2, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0, 0,
                0, 0, 0, 0
            ]
        );
        assert_eq!(b.len(), 28 + 16 + 48 + 4);
        let named = encode_vec(&Dims::new(2, 2, 2).unwrap(), &["x", "yz"], &[]);
        // two names: counts 2 and 0, 7 bytes, then [1, 0, 'x', 2, 0, 'y', 'z']
        assert_eq!(
            &named[20..35],
            &[2, 0, 0, 0, 7, 0, 0, 0, 1, 0, b'x', 2, 0, b'y', b'z']
        );
    }

    #[test]
    fn bad_names_are_typed_errors() {
        let d = Dims::new(2, 2, 2).unwrap();
        let norm = Standardizer::new([0.0f32; 2], [1.0f32; 2], Fill::Mean).unwrap();
        let p = params_of(&d);
        let try_names = |f: &[&str], c: &[&str]| {
            let mut out = vec![0u8; encoded_len(&d, names_len(f, c))];
            encode(&norm, &d, &p, f, c, &mut out)
        };
        let bad = |class, index, problem| {
            Err(ModelError::BadName {
                class,
                index,
                problem,
            })
        };
        assert_eq!(
            try_names(&["a", "a"], &[]),
            bad(false, 1, NameProblem::Duplicate)
        );
        assert_eq!(
            try_names(&["a", ""], &[]),
            bad(false, 1, NameProblem::Empty)
        );
        assert_eq!(
            try_names(&[], &["x", "y\n"]),
            bad(true, 1, NameProblem::NotText)
        );
        let long = "x".repeat(MAX_NAME + 1);
        assert_eq!(
            try_names(&["a", &long], &[]),
            bad(false, 1, NameProblem::TooLong)
        );
        assert!(matches!(
            try_names(&["a"], &[]),
            Err(ModelError::BadNameCount {
                classes: false,
                found: 1,
                expected: 2
            })
        ));
        // The same class name as a feature name is fine: different kinds.
        assert!(try_names(&["a", "b"], &["a", "b"]).is_ok());
        // Not UTF-8 in a file: edit a name's byte and reseal.
        let mut b = encode_vec(&d, &["ab", "cd"], &[]);
        b[30] = 0xff;
        reseal(&mut b);
        assert_eq!(
            ModelFile::parse(&b).unwrap_err(),
            ModelError::BadName {
                class: false,
                index: 0,
                problem: NameProblem::NotText
            }
        );
        // A name length running past the names section.
        let mut b = encode_vec(&d, &["ab", "cd"], &[]);
        b[28] = 200;
        reseal(&mut b);
        assert!(matches!(
            ModelFile::parse(&b).unwrap_err(),
            ModelError::LengthMismatch { .. }
        ));
    }

    #[test]
    fn every_malformed_input_is_a_typed_error() {
        let good = sample();
        assert_eq!(
            ModelFile::parse(&[]).unwrap_err(),
            ModelError::TooShort { len: 0 }
        );
        assert_eq!(
            ModelFile::parse(b"MLPB").unwrap_err(),
            ModelError::TooShort { len: 4 }
        );
        assert_eq!(
            ModelFile::parse(b"PK\x03\x04 not a model at all, a zip").unwrap_err(),
            ModelError::BadMagic
        );

        let mut v = good.clone();
        v[4] = 3;
        reseal(&mut v);
        assert_eq!(
            ModelFile::parse(&v).unwrap_err(),
            ModelError::UnsupportedVersion { version: 3 }
        );

        let mut f = good.clone();
        f[6] = 0x80;
        reseal(&mut f);
        assert!(matches!(
            ModelFile::parse(&f).unwrap_err(),
            ModelError::BadFlags { .. }
        ));

        let mut d = good.clone();
        d[8] = 0;
        reseal(&mut d);
        let e = ModelFile::parse(&d).unwrap_err();
        assert!(
            matches!(e, ModelError::BadDims { count: 3, widths } if widths[..3] == [0, 2, 2]),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("dimensions 0-2-2 are out of range")
        );
        for layers in [0u8, 9] {
            let mut l = good.clone();
            l[10] = layers;
            reseal(&mut l);
            assert_eq!(
                ModelFile::parse(&l).unwrap_err(),
                ModelError::BadLayerCount {
                    layers: layers.into()
                }
            );
        }

        let truncated = &good[..good.len() - 5];
        assert!(matches!(
            ModelFile::parse(truncated).unwrap_err(),
            ModelError::LengthMismatch { .. }
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            ModelFile::parse(&long).unwrap_err(),
            ModelError::LengthMismatch { .. }
        ));

        for at in [12, 28, 40, good.len() - 5, good.len() - 1] {
            let mut c = good.clone();
            c[at] ^= 0x10;
            assert!(
                matches!(
                    ModelFile::parse(&c).unwrap_err(),
                    ModelError::ChecksumMismatch { .. }
                ),
                "byte {at}"
            );
        }

        let mut s = good.clone();
        s[36..40].copy_from_slice(&0.0f32.to_le_bytes()); // std[0] = 0
        reseal(&mut s);
        assert_eq!(
            ModelFile::parse(&s).unwrap_err(),
            ModelError::BadNormalizer { feature: 0 }
        );

        for fill in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            for flags in [0u8, 1] {
                let mut v = good.clone();
                v[6] = flags; // constant fill, or mean fill with a stray fill value
                v[12..16].copy_from_slice(&fill.to_le_bytes());
                reseal(&mut v);
                assert_eq!(
                    ModelFile::parse(&v).unwrap_err(),
                    ModelError::NonFiniteFill,
                    "fill {fill}, flags {flags}"
                );
            }
        }

        let mut p = good.clone();
        p[44..48].copy_from_slice(&f32::NAN.to_le_bytes()); // first parameter
        reseal(&mut p);
        assert_eq!(
            ModelFile::parse(&p).unwrap_err(),
            ModelError::NonFiniteParameter { index: 0 }
        );
    }

    #[test]
    fn copy_into_checks_lengths() {
        let b = sample();
        let m = ModelFile::parse(&b).unwrap();
        let (mut mean, mut std, mut params) = ([0.0; 2], [0.0; 2], [0.0; 12]);
        m.copy_into(&mut mean, &mut std, &mut params).unwrap();
        assert_eq!(mean, [1.0, 2.0]);
        assert!(m.copy_into(&mut mean, &mut std, &mut [0.0; 11]).is_err());
    }

    /// An int8 file: written, parsed, its layers read back; its float view dequantizes; a bad
    /// scale, a bad zero point and the per-tensor flag without int8 are typed errors.
    #[test]
    fn int8_round_trip_and_errors() {
        let dims = Dims::new(2, 3, 2).unwrap();
        let norm = Standardizer::new(vec![0.5f32, 1.0], vec![2.0f32, 4.0], Fill::Mean).unwrap();
        let (w1, b1, s1) = (
            [1i8, -2, 3, -4, 127, -127],
            [10i32, -20, 30],
            [0.5f32, 0.25, 0.125],
        );
        let (w2, b2, s2) = ([5i8, 6, 7, 8, 9, 10], [-1i32, 2], [0.01f32, 0.02]);
        let out1 = QParams {
            scale: 0.1,
            zero_point: -128,
        };
        let out2 = QParams {
            scale: 0.2,
            zero_point: 3,
        };
        let layers = [
            QLayer {
                output: out1,
                weight_scale: &s1,
                bias: &b1,
                weight: &w1,
            },
            QLayer {
                output: out2,
                weight_scale: &s2,
                bias: &b2,
                weight: &w2,
            },
        ];
        let input = QParams {
            scale: 0.05,
            zero_point: -2,
        };
        let mut out =
            vec![0u8; encoded_len_int8(&dims, names_len(&["a", "b"], &["x", "y"]), false)];
        encode_int8(
            &norm,
            &dims,
            input,
            &layers,
            &["a", "b"],
            &["x", "y"],
            &mut out,
        )
        .unwrap();
        let f = ModelFile::parse(&out).unwrap();
        assert!(f.is_int8() && !f.per_tensor() && f.float_params().is_none());
        assert_eq!(f.input_q(), Some(input));
        let l = f.qlayer(1).unwrap();
        assert_eq!(l.output, out2);
        assert_eq!(l.weights().collect::<Vec<_>>(), w2);
        assert_eq!(l.biases().collect::<Vec<_>>(), b2);
        assert_eq!(l.weight_scales().collect::<Vec<_>>(), s2);
        assert!(f.qlayer(2).is_none());
        let (mut m, mut sd, mut p) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; dims.param_count()]);
        f.copy_into(&mut m, &mut sd, &mut p).unwrap();
        // fc1.weight row 1 is [3, -4] at scale 0.25; fc1.bias[1] = -20 at 0.05 · 0.25.
        assert_eq!(&p[2..4], &[0.75, -1.0]);
        assert_eq!(p[7], -20.0 * (0.05f32 * 0.25));
        // fc2.bias[0] = -1 at out1's scale 0.1 times 0.01.
        assert_eq!(p[9 + 6], -(0.1f32 * 0.01));

        // Per tensor: one scale per layer, flag bit 2.
        let pt = [
            QLayer {
                weight_scale: &s1[..1],
                ..layers[0]
            },
            QLayer {
                weight_scale: &s2[..1],
                ..layers[1]
            },
        ];
        let mut out_pt = vec![0u8; encoded_len_int8(&dims, 0, true)];
        encode_int8::<_, &str>(&norm, &dims, input, &pt, &[], &[], &mut out_pt).unwrap();
        assert!(ModelFile::parse(&out_pt).unwrap().per_tensor());

        // Layer 1's second weight scale (offset: header 16 + 2·2, counts 8, names 4·3, norm
        // 16, input 8, layer output 8, then the scales) set to 0.
        let mut bad = out.clone();
        let at = 16 + 4 + 8 + 12 + 16 + 8 + 8 + 4;
        bad[at..at + 4].copy_from_slice(&0.0f32.to_le_bytes());
        reseal(&mut bad);
        assert_eq!(
            ModelFile::parse(&bad).unwrap_err(),
            ModelError::Quant(QuantError::BadScale {
                tensor: 1,
                channel: 1
            })
        );
        let mut bad = out.clone();
        let at = 16 + 4 + 8 + 12 + 16 + 4;
        bad[at..at + 4].copy_from_slice(&200i32.to_le_bytes());
        reseal(&mut bad);
        assert_eq!(
            ModelFile::parse(&bad).unwrap_err(),
            ModelError::Quant(QuantError::BadZeroPoint { tensor: 0 })
        );
        let mut bad = sample();
        bad[6] = 4; // per tensor without int8
        reseal(&mut bad);
        assert_eq!(
            ModelFile::parse(&bad).unwrap_err(),
            ModelError::BadFlags { flags: 4 }
        );
    }
}
