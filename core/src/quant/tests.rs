//! Tests of `quant`. Expected values: TFLite's `QuantizeMultiplier` and gemmlowp's fixed-point
//! functions evaluated by hand from their definitions (quoted in `quant.rs`), exact rational
//! arithmetic (`i128`) for the double rounding, `libm::roundf` for the input rounding, and a
//! literal, unfolded TFLite `FullyConnected` for the forward pass.
use super::*;

#[test]
fn quantize_multiplier_matches_tflite() {
    // 0.5 = 2^30 · 2^(0 − 31): frexp(0.5) = (0.5, 0).
    assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
    // 1.0: frexp = (0.5, 1).
    assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
    // 0.75: frexp = (0.75, 0); 0.75 · 2^31 = 1610612736.
    assert_eq!(quantize_multiplier(0.75), (1_610_612_736, 0));
    // 0.1: frexp = (0.8, -3); round(0.8 · 2^31) = 1717986918.4 → 1717986918.
    assert_eq!(quantize_multiplier(0.1), (1_717_986_918, -3));
    // q just below 1 rounds to 2^31: TFLite halves it and bumps the shift.
    assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
    assert_eq!(quantize_multiplier(0.0), (0, 0));
    assert_eq!(quantize_multiplier(1e-12), (0, 0)); // below 2^-32 (shift < -31)
}

#[test]
fn fixed_point_rounding_matches_gemmlowp() {
    // round(a·b / 2^31), ties toward +∞: (−3·2^30 + 1 − 2^30) / 2^31 truncates to −1.
    assert_eq!(
        saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
        1 << 29
    );
    assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2); // 1.5 → 2
    assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1); // -1.5 → -1
    assert_eq!(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2); // -2.5 → -2
    assert_eq!(saturating_rounding_doubling_high_mul(-7, 1 << 29), -2); // -1.75 → -2
    assert_eq!(saturating_rounding_doubling_high_mul(5, 1 << 29), 1); // 1.25 → 1
    assert_eq!(
        saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
        i32::MAX
    );
    assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
    assert_eq!(rounding_divide_by_pot(-5, 1), -3); // -2.5 → -3
    assert_eq!(rounding_divide_by_pot(-6, 2), -2); // -1.5 → -2
    assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 → 2
    assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25 → 1
    assert_eq!(rounding_divide_by_pot(7, 0), 7);
    // 100 · 0.1 = 10 exactly.
    let (m, s) = quantize_multiplier(0.1);
    assert_eq!(multiply_by_quantized_multiplier(100, m, s), 10);
    assert_eq!(multiply_by_quantized_multiplier(-100, m, s), -10);
    assert_eq!(multiply_by_quantized_multiplier(15, m, s), 2); // 1.5 → 2
    let (m, s) = quantize_multiplier(3.0);
    assert_eq!(multiply_by_quantized_multiplier(7, m, s), 21);
}

/// The double rounding against exact rationals: `x · m · 2^(s−31)` rounded to the
/// nearest at 2^-31 (ties toward +∞), then at 2^s (ties away from zero), for many `x`,
/// `m`, `s`.
#[test]
fn multiply_by_quantized_multiplier_is_double_rounding() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let round_away = |num: i128, den: i128| -> i128 {
        let q = num.abs() / den;
        let r = num.abs() % den;
        let q = if 2 * r >= den { q + 1 } else { q };
        if num < 0 { -q } else { q }
    };
    let round_up = |num: i128, den: i128| -> i128 { (2 * num + den).div_euclid(2 * den) };
    for _ in 0..100_000 {
        let x = (next() as i32) >> (next() % 24);
        let m = ((1u32 << 30) + (next() as u32 >> 2)) as i32;
        let s = -((next() % 20) as i32);
        let high = round_up(i128::from(x) * i128::from(m), 1 << 31);
        let want = round_away(high, 1i128 << (-s));
        assert_eq!(
            i128::from(multiply_by_quantized_multiplier(x, m, s)),
            want,
            "{x} {m} {s}"
        );
    }
}

/// `round_half_away` against `libm::roundf` on edges (every half-integer up to 2^16 and
/// its neighbours, the saturation limits, NaN, infinities) and on 17 million bit patterns
/// spread over all of `f32`.
#[test]
fn round_half_away_is_roundf() {
    let want = |v: f32| libm::roundf(v) as i32;
    let check = |v: f32| {
        assert_eq!(round_half_away(v), want(v), "{v:e}");
        assert_eq!(round_by_doubling(v), want(v), "{v:e}");
        assert_eq!(round_by_bits(v), want(v), "{v:e}");
    };
    let fixed = [
        0.0f32,
        -0.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        2.147_483_6e9,
        -2.147_483_6e9,
        2.147_483_7e9,
        -2.147_483_7e9,
        f32::MAX,
        8_388_609.0,
        -8_388_609.0,
        16_777_217.0,
        0.499_999_97,
        -0.499_999_97,
    ];
    fixed.into_iter().for_each(check);
    for k in 0..(1 << 16) {
        let h = k as f32 + 0.5;
        for v in [
            h,
            h.next_up(),
            h.next_down(),
            -h,
            (-h).next_up(),
            (-h).next_down(),
        ] {
            check(v);
        }
    }
    for bits in (0..u32::MAX).step_by(251) {
        let v = f32::from_bits(bits);
        assert_eq!(round_half_away(v), want(v), "{bits:#x}");
        assert_eq!(round_by_doubling(v), want(v), "{bits:#x}");
        assert_eq!(round_by_bits(v), want(v), "{bits:#x}");
    }
}

#[test]
fn quantize_rounds_half_away_and_clamps() {
    let p = QParams {
        scale: 0.5,
        zero_point: -3,
    };
    assert_eq!(p.quantize(0.25), -2); // 0.5 → 1, + (-3)
    assert_eq!(p.quantize(-0.25), -4); // -0.5 → -1
    assert_eq!(p.quantize(1000.0), 127);
    assert_eq!(p.quantize(-1000.0), -128);
    assert_eq!(p.quantize(f32::NAN), -3);
    assert_eq!(p.dequantize(-2), 0.5);
}

#[test]
fn from_range_widens_to_zero() {
    // [0, 2.55]: scale 0.01, zero point -128 (0.0 is the lowest value).
    let p = QParams::from_range(0.5, 2.55);
    assert_eq!(p.zero_point, -128);
    assert!((p.scale - 0.01).abs() < 1e-9);
    // [-1, 1]: scale 2/255, zero point round(-128 + 127.5) = round(-0.5) = -1 (away).
    let p = QParams::from_range(-1.0, 1.0);
    assert_eq!(p.zero_point, -1);
    assert_eq!(QParams::from_range(0.0, 0.0), QParams::UNIT);
}

/// A two-layer network against the same arithmetic written out literally (TFLite's
/// `FullyConnected` with `input_offset`, no folding).
#[test]
fn forward_matches_unfolded_reference() {
    let dims = Dims::new(3, 2, 2).unwrap();
    let act = [
        QParams {
            scale: 0.05,
            zero_point: 7,
        },
        QParams {
            scale: 0.03,
            zero_point: -128,
        },
        QParams {
            scale: 0.1,
            zero_point: 4,
        },
    ];
    let w1: [i8; 6] = [12, -127, 40, 99, 3, -60];
    let b1 = [300, -1200];
    let w2: [i8; 4] = [-70, 127, 55, -9];
    let b2 = [-40, 77];
    let s1 = [0.004f32, 0.002];
    let s2 = [0.01f32];
    let l1 = QLayer {
        output: act[1],
        weight_scale: &s1,
        bias: &b1,
        weight: &w1,
    };
    let l2 = QLayer {
        output: act[2],
        weight_scale: &s2,
        bias: &b2,
        weight: &w2,
    };
    let mut ch = [0i32; 12];
    derive_channels(act[0], &l1, &mut ch[..6]).unwrap();
    derive_channels(act[1], &l2, &mut ch[6..]).unwrap();
    let mut w = [0i8; 10];
    w[..6].copy_from_slice(&w1);
    w[6..].copy_from_slice(&w2);
    let net = QMlp::new(dims, w, ch, &act).unwrap();
    let reference = |layer: &QLayer, input: QParams, x: &[i8], relu: bool| -> [i8; 2] {
        let mut out = [0i8; 2];
        for (o, v) in out.iter_mut().enumerate() {
            let mut acc = 0i32;
            for (i, &xi) in x.iter().enumerate() {
                acc +=
                    i32::from(layer.weight[o * x.len() + i]) * (i32::from(xi) - input.zero_point);
            }
            acc += layer.bias[o];
            let ws = layer.weight_scale[o.min(layer.weight_scale.len() - 1)];
            let (m, s) =
                quantize_multiplier(input.scale as f64 * ws as f64 / layer.output.scale as f64);
            let r = multiply_by_quantized_multiplier(acc, m, s) + layer.output.zero_point;
            let lo = if relu {
                layer.output.zero_point.max(-128)
            } else {
                -128
            };
            *v = r.clamp(lo, 127) as i8;
        }
        out
    };
    let mut scratch = [0i8; 6];
    for x in [[0i8, 0, 0], [127, -128, 5], [-20, 33, 100], [7, 7, 7]] {
        let h = reference(&l1, act[0], &x, true);
        let want = reference(&l2, act[1], &h, false);
        assert_eq!(net.forward(&x, &mut scratch).unwrap(), &want);
    }
}
