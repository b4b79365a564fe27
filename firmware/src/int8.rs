//! The Cortex-M4 int8 kernel: `mlprobe_core::quant`'s integer inference, computed with the
//! DSP extension's dual 16-bit multiply-accumulate (`SMLAD`) in straight-line assembly that
//! build.rs generates per layer (`dsp` in the generated `model.rs`), and a fused
//! requantization. It gives the same bits as `core` on every input (the argument is below;
//! `device validate` of the int8 wine, digits and breast_cancer models in QEMU checks it on
//! every bundled row).
//!
//! What differs from `core`'s loop, and why the result is the same:
//! - Activations are kept minus their zero point (`u = q − zp`, TFLite's `input +
//!   input_offset`) as 16-bit halves of 32-bit words, two inputs per word, and the weights are
//!   stored widened the same way, so one `SMLAD` does two multiply-adds; four channels share
//!   each load of two input words (`LDRD`). `core` folds the offset into the bias instead: the
//!   `i32` sums are the same integers.
//! - A ReLU layer's weights and biases are stored doubled, so the accumulator is `2·acc`, and
//!   `SMMULR(2·acc, M) = ⌊(2·acc·M + 2^31) / 2^32⌋ = ⌊(acc·M + 2^30) / 2^31⌋`: gemmlowp's
//!   rounding doubling high multiply for `acc ≥ 0`. Then `(h + 2^(r−1)) >> r` is the rounding
//!   right shift for `h ≥ 0`. For `acc < 0` both the reference result and this one are `≤ 0`
//!   (`acc·M ≤ −2^30`), and the ReLU clamps every such value to the zero point, −128: `u =
//!   clamp(y, 0, 255)`, one `USAT`. build.rs uses the kernel only when every ReLU layer's output
//!   zero point is −128 and every channel shifts right (`r ≥ 1`), and when no accumulator can
//!   reach 2^30; otherwise the firmware runs `core`'s loop.
//! - The last layer (no ReLU) requantizes with `core`'s own function.

use mlprobe_core::quant::{multiply_by_quantized_multiplier, round_half_away};

/// Quantizes a standardised row as `core`'s `QParams::quantize` does, minus the zero point:
/// `clamp(round(v / scale) + zp, −128, 127) − zp`, two values per word (the last padded with
/// 0).
#[inline(always)]
pub fn quantize_input<const I: usize, const P: usize>(
    x: &[f32; I],
    scale: f32,
    zp: i32,
    out: &mut [u32; P],
) {
    let q = |v: f32| {
        round_half_away(v / scale)
            .saturating_add(zp)
            .clamp(-128, 127)
            - zp
    };
    for (j, o) in out.iter_mut().enumerate() {
        let a = q(x[2 * j]);
        let b = if 2 * j + 1 < I { q(x[2 * j + 1]) } else { 0 };
        *o = (a as u32 & 0xffff) | ((b as u32) << 16);
    }
}

/// The last layer's requantization (`core`'s function) and `DEQUANTIZE` into `logits`.
#[inline(always)]
pub fn requantize_out(acc: &[i32], m: &[i32], s: &[i32], zp: i32, scale: f32, logits: &mut [f32]) {
    for (((l, &a), &m), &s) in logits.iter_mut().zip(acc).zip(m).zip(s) {
        let q = multiply_by_quantized_multiplier(a, m, s)
            .wrapping_add(zp)
            .clamp(-128, 127);
        *l = scale * (q - zp) as f32;
    }
}
