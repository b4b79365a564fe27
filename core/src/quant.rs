//! int8 inference with TensorFlow Lite's arithmetic: the one integer forward pass of mlprobe,
//! for the host and every device.
//!
//! The scheme is TFLite's post-training full-integer quantization:
//! - a real value `r` is `scale · (q − zero_point)` with `q` an `i8` ([`QParams`]);
//! - activations are asymmetric (any zero point), weights symmetric (zero point 0), with one
//!   scale per output channel or one per layer;
//! - biases are `i32` at scale `input_scale · weight_scale`, zero point 0;
//! - a layer accumulates `bias + Σ (x + input_offset) · w` in `i32` (`input_offset` is minus
//!   the input's zero point), rescales by `input_scale · weight_scale / output_scale` as a Q31
//!   multiplier and a shift ([`quantize_multiplier`], [`multiply_by_quantized_multiplier`]:
//!   the product rounded at 2^-31 with ties toward +∞, then the shift with ties away from
//!   zero, exactly as `tensorflow/lite/kernels/internal/common.h` does when
//!   `TFLITE_SINGLE_ROUNDING` is off, the default), adds the output zero point and clamps to
//!   the activation range (ReLU is the clamp at the output's zero point);
//! - the float input is standardised in `f32` as the float model does, then quantized as
//!   TFLite's `QUANTIZE` reference kernel does (`round(v / scale) + zero_point`, half away
//!   from zero, clamped); the int8 logits are dequantized as `DEQUANTIZE` does.
//!
//! [`QMlp`] holds the weights and, per output channel, the bias with the input offset folded
//! in (`bias − zero_point · Σ w`: the same `i32` TFLite computes, since integer sums are
//! exact), the multiplier and the shift. These are derived from the scales once
//! ([`derive_channels`]), on the host when a model loads and in the firmware's build script,
//! so the device does no floating-point work but the input's quantization.

use crate::mlp::{Dims, MAX_CLASSES, MAX_HIDDEN, MAX_LAYERS, MlpError};
use crate::model::ModelFile;
use crate::transform::Standardizer;
use core::fmt;

/// Scale and zero point of an int8 tensor: `real = scale · (q − zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct QParams {
    /// The real value of one step; finite and positive.
    pub scale: f32,
    /// The `q` that stands for 0.0, in `-128..=127`.
    pub zero_point: i32,
}

impl QParams {
    /// The parameters a placeholder layer uses (scale 1, zero point 0).
    pub const UNIT: QParams = QParams {
        scale: 1.0,
        zero_point: 0,
    };

    /// Asymmetric int8 parameters covering `[min, max]` widened to hold 0, as TFLite's
    /// converter chooses them (`scale = (max − min) / 255`, the zero point the nearest integer
    /// to `−128 − min / scale`, clamped). A range of width 0 gets scale 1 (every value is 0).
    pub fn from_range(min: f32, max: f32) -> Self {
        let (lo, hi) = (min.min(0.0) as f64, max.max(0.0) as f64);
        if !(hi - lo).is_finite() || hi - lo <= 0.0 {
            return Self::UNIT;
        }
        let scale = ((hi - lo) / 255.0) as f32;
        let zp = -128.0 - lo / scale as f64;
        let zero_point = libm::round(zp).clamp(-128.0, 127.0) as i32;
        Self { scale, zero_point }
    }

    /// Quantizes `v` as TFLite's `AffineQuantize` reference kernel does: `round(v / scale)` in
    /// `f32`, half away from zero, plus the zero point, clamped to `i8`.
    #[inline]
    pub fn quantize(&self, v: f32) -> i8 {
        round_half_away(v / self.scale)
            .saturating_add(self.zero_point)
            .clamp(-128, 127) as i8
    }

    /// The real value of `q`, as TFLite's `DEQUANTIZE` computes it (`scale · (q − zp)`: the
    /// product is exact in `f64` and rounded once, as it is here in `f32`).
    #[inline]
    pub fn dequantize(&self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }
}

/// `roundf(v) as i32` (half away from zero; `as` saturating, NaN to 0).
///
/// With an FPU, without a call to `roundf`, which the Cortex-M4's FPU has no instruction for:
/// truncate, then add the truncation of twice the remainder, which is 1 when the remainder is
/// at least one half, −1 when it is at most minus one half, 0 otherwise. The remainder
/// `v − trunc(v)` and its double are exact (`trunc(v)` is `v` with its fraction bits cleared),
/// so this is four FPU instructions and an add, no compare. In soft-float (the Cortex-M0),
/// where every float addition, compare and conversion is a call of 20 to 100 instructions, it
/// is integer work on the bits (`round_by_bits`): `libm::roundf(v) as i32` took an addition
/// and the saturating cast's three compares and a conversion, about 180 instructions more per
/// input on the micro:bit. All three forms are tested equal to `roundf` at every half-integer
/// edge and on a spread of 17 million bit patterns.
#[inline]
pub fn round_half_away(v: f32) -> i32 {
    #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
    return round_by_bits(v);
    #[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
    return round_by_doubling(v);
}

/// The soft-float form of [`round_half_away`]: `v = m · 2^(e − 150)` for the 24-bit significand
/// `m` and biased exponent `e`; below one half it is 0, from 2^31 (and at infinity) it
/// saturates, NaN is 0, and otherwise the magnitude is `m` shifted left, or shifted right by
/// `s` after adding `2^(s − 1)` (half away from zero), then given the sign.
#[inline]
#[cfg_attr(
    not(all(target_arch = "arm", not(target_abi = "eabihf"))),
    allow(dead_code)
)]
fn round_by_bits(v: f32) -> i32 {
    let b = v.to_bits();
    let e = (b >> 23) & 0xff;
    let negative = b >> 31 != 0;
    if e < 126 {
        return 0;
    }
    if e >= 127 + 31 {
        return if e == 255 && b & 0x7f_ffff != 0 {
            0
        } else if negative {
            i32::MIN
        } else {
            i32::MAX
        };
    }
    let m = (b & 0x7f_ffff) | 0x80_0000;
    let r = if e >= 150 {
        m << (e - 150)
    } else {
        let s = 150 - e;
        (m + (1 << (s - 1))) >> s
    } as i32;
    if negative { -r } else { r }
}

/// The FPU form of [`round_half_away`].
#[inline(always)]
#[cfg_attr(all(target_arch = "arm", not(target_abi = "eabihf")), allow(dead_code))]
fn round_by_doubling(v: f32) -> i32 {
    let t = v as i32;
    let f = v - t as f32;
    t.saturating_add((f + f) as i32)
}

/// Errors of quantized parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum QuantError {
    /// A scale is not finite and positive.
    BadScale {
        /// The tensor: 0 the input, `k + 1` the output of layer `k`.
        tensor: usize,
        /// The channel (0 for a per-tensor scale or an activation's).
        channel: usize,
    },
    /// A zero point is outside `-128..=127`.
    BadZeroPoint {
        /// The tensor: 0 the input, `k + 1` the output of layer `k`.
        tensor: usize,
    },
    /// A buffer has the wrong length.
    Length {
        /// The length required.
        expected: usize,
        /// The length given.
        found: usize,
    },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tensor = |f: &mut fmt::Formatter<'_>, t: usize| match t {
            0 => write!(f, "the input"),
            t => write!(f, "the output of layer {t}"),
        };
        match *self {
            Self::BadScale { tensor: t, channel } => {
                write!(f, "a scale of ")?;
                if t == 0 {
                    tensor(f, 0)?;
                } else {
                    write!(f, "layer {t} (channel {channel}) or ")?;
                    tensor(f, t)?;
                }
                write!(f, " is not finite and positive")
            }
            Self::BadZeroPoint { tensor: t } => {
                write!(f, "the zero point of ")?;
                tensor(f, t)?;
                write!(f, " is outside -128..=127")
            }
            Self::Length { expected, found } => {
                write!(f, "buffer of {found} values where {expected} are needed")
            }
        }
    }
}

impl core::error::Error for QuantError {}

/// TFLite's `QuantizeMultiplier`: `real = multiplier · 2^(shift − 31)` with the multiplier in
/// `[2^30, 2^31)` (0 for `real == 0`); `shift > 0` is a left shift. `real` must be finite and
/// non-negative (an effective scale). Computed in `f64` as TFLite does (`frexp`, then
/// `round(q · 2^31)` half away from zero); a `real` below `2^-32` is 0 as in TFLite.
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real == 0.0 || !real.is_finite() {
        return (0, 0);
    }
    let (q, mut shift) = libm::frexp(real);
    let mut fixed = libm::round(q * (1u64 << 31) as f64) as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    // A `real` of 2^31 or more does not fit TFLite's 31-bit left shift either; such an
    // effective scale (input × weight / output) never comes out of a calibration.
    (fixed as i32, shift.min(30))
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `round(a · b / 2^31)`, ties toward +∞
/// (the nudge of `1 − 2^30` for a negative product, then C++'s truncating division), saturated at `i32::MAX` for `i32::MIN · i32::MIN`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // C++'s division truncates toward zero, as Rust's does.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero
/// (`exponent` in `0..=31`).
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier` (double rounding, the reference kernels' default):
/// `x · multiplier · 2^(shift − 31)`, rounded. A left shift wraps as two's complement `int32`
/// arithmetic does on every target TFLite runs on.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left = shift.max(0);
    let right = (-shift).max(0);
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(x.wrapping_mul(1 << left), multiplier),
        right,
    )
}

/// One int8 fully connected layer as stored: its output's parameters, the weight scales (one
/// per output channel, or one), the `i32` biases and the `[outputs × inputs]` row-major
/// weights (PyTorch's `weight` layout, TFLite's `FULLY_CONNECTED` filter).
#[derive(Clone, Copy, Debug)]
pub struct QLayer<'a> {
    /// The output's scale and zero point.
    pub output: QParams,
    /// The weight scales: one per output channel, or one for the layer.
    pub weight_scale: &'a [f32],
    /// The biases, at scale `input_scale · weight_scale`.
    pub bias: &'a [i32],
    /// The weights.
    pub weight: &'a [i8],
}

/// `i32` values per output channel in [`QMlp`]'s channel table: the bias with the input
/// offset folded in, the multiplier and the shift.
pub const CHANNEL_INTS: usize = 3;

/// The effective scale of one channel, `input · weight / output`, in `f64` as TFLite's
/// `GetQuantizedConvolutionMultipler` and `PopulateConvolutionQuantizationParams` compute it.
pub fn effective_scale(input: f32, weight: f32, output: f32) -> f64 {
    f64::from(input) * f64::from(weight) / f64::from(output)
}

/// Fills `out` (`CHANNEL_INTS` per output channel) for `layer` fed by a tensor with `input`'s
/// parameters: the bias plus `−zero_point · Σ w` (TFLite's `input_offset` times the row sum),
/// and the multiplier and shift of the channel's effective scale.
pub fn derive_channels(
    input: QParams,
    layer: &QLayer<'_>,
    out: &mut [i32],
) -> Result<(), QuantError> {
    let n = layer.bias.len();
    if out.len() != CHANNEL_INTS * n {
        return Err(QuantError::Length {
            expected: CHANNEL_INTS * n,
            found: out.len(),
        });
    }
    if n == 0 || !layer.weight.len().is_multiple_of(n) {
        return Err(QuantError::Length {
            expected: n.max(1),
            found: layer.weight.len(),
        });
    }
    if layer.weight_scale.len() != 1 && layer.weight_scale.len() != n {
        return Err(QuantError::Length {
            expected: n,
            found: layer.weight_scale.len(),
        });
    }
    let inputs = layer.weight.len() / n;
    for (o, c) in out.chunks_exact_mut(CHANNEL_INTS).enumerate() {
        let row = &layer.weight[o * inputs..(o + 1) * inputs];
        let sum: i32 = row.iter().map(|&w| i32::from(w)).sum();
        let ws = layer.weight_scale[if layer.weight_scale.len() == 1 { 0 } else { o }];
        let (m, s) = quantize_multiplier(effective_scale(input.scale, ws, layer.output.scale));
        c[0] = layer.bias[o].wrapping_sub(input.zero_point.wrapping_mul(sum));
        c[1] = m;
        c[2] = s;
    }
    Ok(())
}

/// An int8 network: `Dims`, the weights of every layer (row-major `[outputs × inputs]`, layer
/// after layer), the channel table ([`CHANNEL_INTS`] `i32` per output channel, layer after
/// layer: see [`derive_channels`]) and the parameters of every activation (the input's, then
/// each layer's output). Every layer but the last is followed by a ReLU. Storage is generic
/// as [`crate::mlp::Mlp`]'s: arrays in the firmware, vectors on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct QMlp<W, C> {
    dims: Dims,
    weights: W,
    channels: C,
    act: [QParams; MAX_LAYERS + 1],
}

/// Channels of every layer: the sum of the layer widths.
pub const fn channel_count(dims: &Dims) -> usize {
    let mut n = 0;
    let mut k = 1;
    while k <= dims.layers() {
        n += dims.width(k);
        k += 1;
    }
    n
}

/// Weights of every layer.
pub const fn weight_count(dims: &Dims) -> usize {
    let mut n = 0;
    let mut k = 1;
    while k <= dims.layers() {
        n += dims.width(k) * dims.width(k - 1);
        k += 1;
    }
    n
}

/// `i8` values of scratch [`QMlp::forward`] needs: two activation buffers of the widest
/// layer (inputs included).
pub const fn act_len(dims: &Dims) -> usize {
    let mut w = 0;
    let mut k = 0;
    while k <= dims.layers() {
        if dims.width(k) > w {
            w = dims.width(k);
        }
        k += 1;
    }
    2 * w
}

impl<const W: usize, const C: usize> QMlp<[i8; W], [i32; C]> {
    /// Fixed-size parts, checked at compile time when used in a `static` (the firmware's
    /// compiled-in model): the same checks as [`QMlp::new`], as panics.
    pub const fn from_array(
        dims: Dims,
        weights: [i8; W],
        channels: [i32; C],
        act: [QParams; MAX_LAYERS + 1],
    ) -> Self {
        assert!(
            weight_count(&dims) == W,
            "weight array length does not match the dimensions"
        );
        assert!(
            CHANNEL_INTS * channel_count(&dims) == C,
            "channel table length does not match the dimensions"
        );
        let mut t = 0;
        while t <= dims.layers() {
            assert!(
                act[t].scale.is_finite() && act[t].scale > 0.0,
                "scales must be finite and positive"
            );
            assert!(
                act[t].zero_point >= -128 && act[t].zero_point <= 127,
                "zero points must be in -128..=127"
            );
            t += 1;
        }
        Self {
            dims,
            weights,
            channels,
            act,
        }
    }
}

impl<W: AsRef<[i8]>, C: AsRef<[i32]>> QMlp<W, C> {
    /// A network from its parts, checked: lengths, scales finite and positive, zero points in
    /// range. `act` has `dims.layers() + 1` entries.
    pub fn new(dims: Dims, weights: W, channels: C, act: &[QParams]) -> Result<Self, QuantError> {
        for (expected, found) in [
            (weight_count(&dims), weights.as_ref().len()),
            (CHANNEL_INTS * channel_count(&dims), channels.as_ref().len()),
            (dims.layers() + 1, act.len()),
        ] {
            if expected != found {
                return Err(QuantError::Length { expected, found });
            }
        }
        let mut a = [QParams::UNIT; MAX_LAYERS + 1];
        for (tensor, (d, p)) in a.iter_mut().zip(act).enumerate() {
            if !(p.scale.is_finite() && p.scale > 0.0) {
                return Err(QuantError::BadScale { tensor, channel: 0 });
            }
            if !(-128..=127).contains(&p.zero_point) {
                return Err(QuantError::BadZeroPoint { tensor });
            }
            *d = *p;
        }
        Ok(Self {
            dims,
            weights,
            channels,
            act: a,
        })
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.dims
    }

    /// The parameters of tensor `t`: 0 the input, `k + 1` the output of layer `k`.
    pub fn act(&self, t: usize) -> QParams {
        self.act[t]
    }

    /// The weights, every layer's, in order.
    pub fn weights(&self) -> &[i8] {
        self.weights.as_ref()
    }

    /// The channel table.
    pub fn channels(&self) -> &[i32] {
        self.channels.as_ref()
    }

    /// The int8 logits of a quantized input row `x` (`inputs` values). `act` is scratch of
    /// [`act_len`] values; the logits are returned from it.
    pub fn forward<'s>(&self, x: &[i8], act: &'s mut [i8]) -> Result<&'s [i8], MlpError> {
        let d = self.dims;
        let need = act_len(&d);
        if act.len() < need || x.len() != d.inputs() {
            let (expected, found) = if x.len() != d.inputs() {
                (d.inputs(), x.len())
            } else {
                (need, act.len())
            };
            return Err(MlpError::Length { expected, found });
        }
        let (a, b) = act[..need].split_at_mut(need / 2);
        a[..x.len()].copy_from_slice(x);
        Ok(self.forward_in(a, b))
    }

    /// The forward pass over scratch halves `a` (holding the input in its first `inputs`
    /// values) and `b`, each of `act_len / 2` values.
    fn forward_in<'s>(&self, mut a: &'s mut [i8], mut b: &'s mut [i8]) -> &'s [i8] {
        let d = self.dims;
        let (mut w_at, mut c_at) = (0, 0);
        let layers = d.layers();
        for k in 0..layers {
            let (n_in, n_out) = (d.width(k), d.width(k + 1));
            let w = &self.weights.as_ref()[w_at..w_at + n_in * n_out];
            let c = &self.channels.as_ref()[c_at..c_at + CHANNEL_INTS * n_out];
            let out = self.act[k + 1];
            // ReLU is the clamp at the output's zero point (TFLite's
            // `CalculateActivationRangeQuantized`); the last layer is not clamped.
            let lo = if k + 1 < layers {
                out.zero_point.max(-128)
            } else {
                -128
            };
            dense(w, c, &a[..n_in], &mut b[..n_out], out.zero_point, lo);
            w_at += n_in * n_out;
            c_at += CHANNEL_INTS * n_out;
            core::mem::swap(&mut a, &mut b);
        }
        &a[..d.outputs()]
    }
}

/// One int8 fully connected layer: TFLite's `reference_integer_ops::FullyConnected` (per
/// channel: `FullyConnectedPerChannel`) with the input offset folded into the bias.
#[inline]
fn dense(w: &[i8], c: &[i32], x: &[i8], out: &mut [i8], zero_point: i32, lo: i32) {
    let n_in = x.len();
    for ((o, row), ch) in out
        .iter_mut()
        .zip(w.chunks_exact(n_in))
        .zip(c.chunks_exact(CHANNEL_INTS))
    {
        let mut acc = ch[0];
        for (&wi, &xi) in row.iter().zip(x) {
            acc = acc.wrapping_add(i32::from(wi) * i32::from(xi));
        }
        let v = multiply_by_quantized_multiplier(acc, ch[1], ch[2]).wrapping_add(zero_point);
        *o = v.clamp(lo, 127) as i8;
    }
}

/// A standardiser in front of an int8 network: the whole int8 model as it runs on a device.
#[derive(Clone, Debug, PartialEq)]
pub struct QModel<F, W, C> {
    /// Input standardisation, in `f32` as the float model's.
    pub norm: Standardizer<F>,
    /// The int8 network.
    pub mlp: QMlp<W, C>,
}

impl<F: AsRef<[f32]>, W: AsRef<[i8]>, C: AsRef<[i32]>> QModel<F, W, C> {
    /// Joins a standardiser and an int8 network with the same number of inputs.
    pub fn new(norm: Standardizer<F>, mlp: QMlp<W, C>) -> Result<Self, MlpError> {
        if norm.len() != mlp.dims().inputs() {
            return Err(MlpError::Length {
                expected: mlp.dims().inputs(),
                found: norm.len(),
            });
        }
        Ok(Self { norm, mlp })
    }

    /// The dimensions.
    pub fn dims(&self) -> Dims {
        self.mlp.dims()
    }

    /// The int8 logits of one raw row: standardise in `f32` (into `x`, `inputs` values),
    /// quantize, run the integer layers (in `act`, [`act_len`] values).
    pub fn infer_q<'s>(
        &self,
        raw: &[f32],
        x: &mut [f32],
        act: &'s mut [i8],
    ) -> Result<&'s [i8], MlpError> {
        let d = self.dims();
        let need = act_len(&d);
        if act.len() < need {
            return Err(MlpError::Length {
                expected: need,
                found: act.len(),
            });
        }
        self.norm.transform(raw, x)?;
        let input = self.mlp.act(0);
        let (a, b) = act[..need].split_at_mut(need / 2);
        for (q, &v) in a.iter_mut().zip(x.iter()) {
            *q = input.quantize(v);
        }
        Ok(self.mlp.forward_in(a, b))
    }

    /// The dequantized logits of one raw row into `logits` (`outputs` values); `x` and `act`
    /// as for [`infer_q`](Self::infer_q).
    pub fn infer_into(
        &self,
        raw: &[f32],
        x: &mut [f32],
        act: &mut [i8],
        logits: &mut [f32],
    ) -> Result<(), MlpError> {
        let d = self.dims();
        if logits.len() != d.outputs() {
            return Err(MlpError::Length {
                expected: d.outputs(),
                found: logits.len(),
            });
        }
        let out = self.mlp.act(d.layers());
        let q = self.infer_q(raw, x, act)?;
        for (l, &v) in logits.iter_mut().zip(q) {
            *l = out.dequantize(v);
        }
        Ok(())
    }
}

/// Decodes an int8 model file's network: fills `weights` ([`weight_count`] values) and
/// `channels` ([`CHANNEL_INTS`] · [`channel_count`] values, derived by [`derive_channels`]) and
/// returns the activations' parameters (the input's, then each layer's output). `None` for a
/// float model. Runs where the model is loaded: on the host, in the firmware's build script.
pub fn load(
    file: &ModelFile<'_>,
    weights: &mut [i8],
    channels: &mut [i32],
) -> Option<Result<[QParams; MAX_LAYERS + 1], QuantError>> {
    let mut input = file.input_q()?;
    let d = file.dims();
    for (expected, found) in [
        (weight_count(&d), weights.len()),
        (CHANNEL_INTS * channel_count(&d), channels.len()),
    ] {
        if expected != found {
            return Some(Err(QuantError::Length { expected, found }));
        }
    }
    let mut act = [QParams::UNIT; MAX_LAYERS + 1];
    act[0] = input;
    let (mut w_at, mut c_at) = (0, 0);
    // Per-layer staging of the decoded scales and biases (at most MAX_HIDDEN or MAX_CLASSES
    // channels) for `derive_channels`.
    let mut scales = [0f32; MAX_UNITS];
    let mut bias = [0i32; MAX_UNITS];
    for k in 0..d.layers() {
        let layer = file.qlayer(k)?;
        let (n, m) = (d.width(k + 1), d.width(k));
        let w = &mut weights[w_at..w_at + n * m];
        w.iter_mut().zip(layer.weights()).for_each(|(d, s)| *d = s);
        let c = layer.weight_scales().len();
        scales
            .iter_mut()
            .zip(layer.weight_scales())
            .for_each(|(d, s)| *d = s);
        bias.iter_mut()
            .zip(layer.biases())
            .for_each(|(d, s)| *d = s);
        let q = QLayer {
            output: layer.output,
            weight_scale: &scales[..c],
            bias: &bias[..n],
            weight: w,
        };
        if let Err(e) = derive_channels(input, &q, &mut channels[c_at..c_at + CHANNEL_INTS * n]) {
            return Some(Err(e));
        }
        act[k + 1] = layer.output;
        input = layer.output;
        w_at += n * m;
        c_at += CHANNEL_INTS * n;
    }
    Some(Ok(act))
}

/// The most units a layer has: [`MAX_HIDDEN`] or [`MAX_CLASSES`].
const MAX_UNITS: usize = if MAX_HIDDEN > MAX_CLASSES {
    MAX_HIDDEN
} else {
    MAX_CLASSES
};

#[cfg(test)]
mod tests;
