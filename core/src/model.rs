//! The model file: a versioned, checksummed, little-endian binary, parsed without copying.
//!
//! Layout of version 1 (all integers and floats little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"MLPB"` |
//! | 4 | 2 | format version, `1` |
//! | 6 | 2 | flags: bit 0 set = missing values filled with the mean; other bits must be 0 |
//! | 8 | 2 | inputs |
//! | 10 | 2 | hidden units |
//! | 12 | 2 | outputs (classes) |
//! | 14 | 2 | reserved, 0 |
//! | 16 | 4 | fill value (`f32`, used when bit 0 of flags is clear) |
//! | 20 | 4·I | normalizer means |
//! | … | 4·I | normalizer standard deviations |
//! | … | 4·P | parameters in [`crate::mlp`] order (`fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias`) |
//! | end − 4 | 4 | CRC-32 ([`crate::crc`]) of every byte before it |
//!
//! [`ModelFile::parse`] checks everything (length, magic, version, flags, dimensions, checksum,
//! a finite fill value, finite means, finite positive standard deviations, finite parameters) and keeps borrowed byte slices; values are decoded when read, so a model
//! in flash needs no RAM copy. [`encode`] writes the same layout.

use crate::crc::Crc32;
use crate::mlp::Dims;
use crate::transform::{Fill, Standardizer};
use core::fmt;

/// The four magic bytes.
pub const MAGIC: [u8; 4] = *b"MLPB";
/// The format version this crate writes and reads.
pub const VERSION: u16 = 1;
/// Bytes before the normalizer.
pub const HEADER_LEN: usize = 20;
const FLAG_FILL_MEAN: u16 = 1;

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
    /// The dimensions in the header are out of range.
    BadDims {
        /// Inputs in the header.
        inputs: u16,
        /// Hidden units in the header.
        hidden: u16,
        /// Outputs in the header.
        outputs: u16,
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
            Self::UnsupportedVersion { version } => {
                write!(
                    f,
                    "model format version {version} is not supported (this build reads version {VERSION})"
                )
            }
            Self::BadFlags { flags } => {
                write!(f, "unknown flags {flags:#06x} or non-zero reserved field")
            }
            Self::BadDims {
                inputs,
                hidden,
                outputs,
            } => {
                write!(f, "dimensions {inputs}-{hidden}-{outputs} are out of range")
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
            Self::BufferLength { expected, found } => {
                write!(f, "buffer of {found} values, expected {expected}")
            }
        }
    }
}

impl core::error::Error for ModelError {}

/// Length in bytes of a model file with these dimensions.
pub const fn encoded_len(dims: &Dims) -> usize {
    HEADER_LEN + 8 * dims.inputs + 4 * dims.param_count() + 4
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn f32s(bytes: &[u8]) -> impl ExactSizeIterator<Item = f32> + '_ {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// A parsed, checked model file borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct ModelFile<'a> {
    dims: Dims,
    fill: Fill,
    mean: &'a [u8],
    std: &'a [u8],
    params: &'a [u8],
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
        if version != VERSION {
            return Err(ModelError::UnsupportedVersion { version });
        }
        let flags = read_u16(bytes, 6);
        if flags & !FLAG_FILL_MEAN != 0 || read_u16(bytes, 14) != 0 {
            return Err(ModelError::BadFlags { flags });
        }
        let (inputs, hidden, outputs) =
            (read_u16(bytes, 8), read_u16(bytes, 10), read_u16(bytes, 12));
        let dims = Dims::new(inputs.into(), hidden.into(), outputs.into()).map_err(|_| {
            ModelError::BadDims {
                inputs,
                hidden,
                outputs,
            }
        })?;
        let expected = encoded_len(&dims);
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
        let fill_value = f32::from_le_bytes([body[16], body[17], body[18], body[19]]);
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
        let n = 4 * dims.inputs;
        let (mean, rest) = body[HEADER_LEN..].split_at(n);
        let (std, params) = rest.split_at(n);
        for (feature, (m, s)) in f32s(mean).zip(f32s(std)).enumerate() {
            if !m.is_finite() || !s.is_finite() || s <= 0.0 {
                return Err(ModelError::BadNormalizer { feature });
            }
        }
        if let Some(index) = f32s(params).position(|p| !p.is_finite()) {
            return Err(ModelError::NonFiniteParameter { index });
        }
        Ok(Self {
            dims,
            fill,
            mean,
            std,
            params,
        })
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The missing-value policy.
    pub fn fill(&self) -> Fill {
        self.fill
    }

    /// The normalizer means, decoded on the fly.
    pub fn mean(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.mean)
    }

    /// The normalizer standard deviations, decoded on the fly.
    pub fn std(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.std)
    }

    /// The flat parameters, decoded on the fly.
    pub fn params(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        f32s(self.params)
    }

    /// Decodes the normalizer and parameters into caller buffers of exactly
    /// `inputs`, `inputs` and `param_count` values.
    pub fn copy_into(
        &self,
        mean: &mut [f32],
        std: &mut [f32],
        params: &mut [f32],
    ) -> Result<(), ModelError> {
        for (buf, expected) in [
            (mean.len(), self.dims.inputs),
            (std.len(), self.dims.inputs),
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
        params
            .iter_mut()
            .zip(self.params())
            .for_each(|(d, s)| *d = s);
        Ok(())
    }
}

/// Writes a model file into `out` (exactly [`encoded_len`] bytes) and returns its length.
pub fn encode<F: AsRef<[f32]>>(
    norm: &Standardizer<F>,
    dims: &Dims,
    params: &[f32],
    out: &mut [u8],
) -> Result<usize, ModelError> {
    let len = encoded_len(dims);
    if out.len() != len {
        return Err(ModelError::BufferLength {
            expected: len,
            found: out.len(),
        });
    }
    if norm.len() != dims.inputs {
        return Err(ModelError::BufferLength {
            expected: dims.inputs,
            found: norm.len(),
        });
    }
    if params.len() != dims.param_count() {
        return Err(ModelError::BufferLength {
            expected: dims.param_count(),
            found: params.len(),
        });
    }
    let dim16 = |v: usize| {
        u16::try_from(v).map_err(|_| ModelError::BadDims {
            inputs: u16::MAX,
            hidden: u16::MAX,
            outputs: u16::MAX,
        })
    };
    let (flags, fill_value) = match norm.fill() {
        Fill::Mean => (FLAG_FILL_MEAN, 0.0f32),
        Fill::Value(v) => (0, v),
    };
    let mut w = 0;
    let mut put = |bytes: &[u8]| {
        out[w..w + bytes.len()].copy_from_slice(bytes);
        w += bytes.len();
    };
    put(&MAGIC);
    put(&VERSION.to_le_bytes());
    put(&flags.to_le_bytes());
    put(&dim16(dims.inputs)?.to_le_bytes());
    put(&dim16(dims.hidden)?.to_le_bytes());
    put(&dim16(dims.outputs)?.to_le_bytes());
    put(&0u16.to_le_bytes());
    put(&fill_value.to_le_bytes());
    for v in norm.mean().iter().chain(norm.std()).chain(params) {
        put(&v.to_le_bytes());
    }
    let crc = crate::crc::crc32(&out[..len - 4]);
    out[len - 4..].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec as Vec;

    fn sample() -> Vec<u8> {
        let dims = Dims::new(2, 2, 2).unwrap();
        let norm = Standardizer::new([1.0f32, 2.0], [0.5f32, 4.0], Fill::Mean).unwrap();
        let params: Vec<f32> = (0..dims.param_count())
            .map(|k| k as f32 * 0.25 - 1.0)
            .collect();
        let mut out = vec![0u8; encoded_len(&dims)];
        encode(&norm, &dims, &params, &mut out).unwrap();
        out
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
        assert_eq!(m.dims(), Dims::new(2, 2, 2).unwrap());
        assert_eq!(m.fill(), Fill::Mean);
        assert_eq!(m.mean().collect::<Vec<_>>(), [1.0, 2.0]);
        assert_eq!(m.std().collect::<Vec<_>>(), [0.5, 4.0]);
        let p: Vec<f32> = m.params().collect();
        assert_eq!(p.len(), 12);
        assert_eq!(p[0], -1.0);
        assert_eq!(p[11], 1.75);
    }

    #[test]
    fn golden_header_bytes() {
        let b = sample();
        // magic, version 1, flags 1 (mean fill), dims 2/2/2, reserved 0, fill 0.0
        assert_eq!(
            &b[..20],
            &[
                b'M', b'L', b'P', b'B', 1, 0, 1, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(b.len(), 20 + 16 + 48 + 4);
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
        v[4] = 2;
        reseal(&mut v);
        assert_eq!(
            ModelFile::parse(&v).unwrap_err(),
            ModelError::UnsupportedVersion { version: 2 }
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
        assert!(matches!(
            ModelFile::parse(&d).unwrap_err(),
            ModelError::BadDims { inputs: 0, .. }
        ));

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

        for at in [20, 40, good.len() - 5, good.len() - 1] {
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
        s[28..32].copy_from_slice(&0.0f32.to_le_bytes()); // std[0] = 0
        reseal(&mut s);
        assert_eq!(
            ModelFile::parse(&s).unwrap_err(),
            ModelError::BadNormalizer { feature: 0 }
        );

        for fill in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            for flags in [0u8, 1] {
                let mut v = good.clone();
                v[6] = flags; // constant fill, or mean fill with a stray fill value
                v[16..20].copy_from_slice(&fill.to_le_bytes());
                reseal(&mut v);
                assert_eq!(
                    ModelFile::parse(&v).unwrap_err(),
                    ModelError::NonFiniteFill,
                    "fill {fill}, flags {flags}"
                );
            }
        }

        let mut p = good.clone();
        p[36..40].copy_from_slice(&f32::NAN.to_le_bytes()); // first parameter
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
}
