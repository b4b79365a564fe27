//! The Cortex-M4 int8 kernel: `mlprobe_core::quant`'s integer inference as two naked
//! functions of straight-line assembly that `build/dsp.rs` generates per model (`dsp` in the
//! generated `model.rs`), with the tables they stream through in the order they read them. It
//! gives the same bits as `core` on every input; the argument is below, and `device validate`
//! of the int8 wine, digits and breast_cancer models in QEMU checks it on every bundled row
//! and on rows with missing, infinite and huge values (`tests/tests/device.rs`).
//!
//! `dsp::quantize(raw, words)`: the standardisation and `QUANTIZE`, four inputs at a time.
//! - `(x − mean) / std / scale` with the FPU's `VSUB` and two `VDIV`s, as `core` computes it
//!   (and TFLite's `SUB`, `DIV`, `QUANTIZE`): the same IEEE operations in the same order.
//! - Rounding half away from zero without a compare: `VCVT.S16.F32 #1` gives `a = trunc(2v)`,
//!   and `round(v) = (a + [a ≥ 0]) >> 1` (for `a ≥ 0`, `a = 2t + [frac ≥ ½]`; for `a < 0`,
//!   `a >> 1` rounds the other way). Two inputs share a word: `SADD16` sets each half's `GE`
//!   flag when `a ≥ 0`, `SEL` picks `1 + 2·zp` or `2·zp`, `SHADD16` halves the sum (adding the
//!   zero point on the way) and `SSAT16` clamps to int8.
//! - That is exact when `|2v| < 2^15`. A value that is not (or is NaN or infinite, or
//!   overflows on the way) sets the FPU's Invalid Operation flag, cleared on entry; the
//!   function then returns 1 and the firmware quantizes the row with `core`'s
//!   `Standardizer::transform` (which fills missing values) and `QParams::quantize`
//!   ([`quantize_input`]).
//!
//! `dsp::layers(words, logits)`: every dense layer, two multiply-adds per `SMLAD`.
//! - Activations are 16-bit halves of 32-bit words, two per word: the input's `q`, and after
//!   each ReLU layer `u = q + 128` (`q − zp`: TFLite's `input + input_offset`). The weights are
//!   stored widened the same way. The first layer's bias is `core`'s (the input offset folded
//!   in); the later layers take the file's bias, since their inputs carry the offset: the same
//!   `i32` sums as `core`'s.
//! - A layer whose input fits in registers (at most 7 words) loads it once, then streams each
//!   channel's bias, weights, multiplier and rounding constant with two `LDM`s; wider layers
//!   keep four accumulators in registers and stream the input in chunks.
//! - Weights and biases are stored doubled, so the accumulator is `2·acc`, and
//!   `SMMULR(2·acc, M) = ⌊(2·acc·M + 2^31) / 2^32⌋ = ⌊(acc·M + 2^30) / 2^31⌋`: gemmlowp's
//!   rounding doubling high multiply (`acc·M + 2^30` floored is its nudge and truncation, for
//!   either sign). build.rs checks that no accumulator reaches 2^30.
//! - After a ReLU layer: `SMMLAR` adds `2^(r−1)`, and `USAT #8, ASR #r` gives
//!   `clamp(⌊(h + 2^(r−1)) / 2^r⌋, 0, 255)`: the rounding right shift for `h ≥ 0`; for `h < 0`
//!   both that and TFLite's are `≤ 0`, and the ReLU (output zero point −128) clamps both to 0.
//! - The last layer: TFLite's rounding right shift for either sign is
//!   `⌊(h + 2^(r−1) − [h < 0]) / 2^r⌋`: `ADD h, h, h ASR #31`, then adding
//!   `2^(r−1) + zp·2^r` (the zero point, shifted in exactly), then `SSAT #8, ASR #r`. Then
//!   `DEQUANTIZE` as `core`: `scale · (q − zp)` in `f32`.
//! - build.rs uses the kernel only when every ReLU layer's output zero point is −128, every
//!   channel shifts right (the last layer's by at most 22 bits, so the constant fits), and no
//!   accumulator can reach 2^30; otherwise the firmware runs `core`'s loop.

use mlprobe_core::quant::QParams;

/// Quantizes a standardised row as `core`'s `QParams::quantize` does, `clamp(round(v / scale)
/// + zp, −128, 127)`, two values per word (the last padded with 0): the kernel's input when
/// `dsp::quantize` leaves the row to `core` (a value not finite, or too large for its 16 bits).
#[inline(always)]
pub fn quantize_input<const I: usize, const P: usize>(
    x: &[f32; I],
    scale: f32,
    zp: i32,
    out: &mut [u32; P],
) {
    let q = QParams {
        scale,
        zero_point: zp,
    };
    for (j, o) in out.iter_mut().enumerate() {
        let a = q.quantize(x[2 * j]);
        let b = if 2 * j + 1 < I {
            q.quantize(x[2 * j + 1])
        } else {
            0
        };
        *o = (a as u16 as u32) | ((b as u16 as u32) << 16);
    }
}
