//! Unit tests of the C header writer.

use super::*;
use crate::interop::{Dense, Network, QDense, QNetwork};

fn net(hidden: bool) -> Network {
    let dense = |inputs: usize, outputs: usize, seed: f32| Dense {
        inputs,
        outputs,
        weight: (0..inputs * outputs)
            .map(|k| (k as f32 * seed).sin())
            .collect(),
        bias: (0..outputs).map(|k| (k as f32 * 0.3).cos()).collect(),
    };
    Network {
        layers: if hidden {
            vec![dense(3, 4, 0.37), dense(4, 2, 0.91)]
        } else {
            vec![dense(3, 2, 0.37)]
        },
        normalizer: Some((vec![1.0, -2.0, 0.5], vec![0.25, 3.0, 1.0])),
        fill: Fill::Value(-1.5),
        features: Some(vec!["a".into(), "b??=c".into(), "é\"*/".into()]),
        classes: None,
        notes: Vec::new(),
    }
}

/// Every finite float's literal parses back to the same bits (Rust's parser, which rounds
/// correctly as GCC's does), signed zeros and subnormals included.
#[test]
fn float_literals_round_trip() {
    let mut bits = 0u32;
    let special = [
        0.0f32,
        -0.0,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
    ];
    let spread = std::iter::from_fn(|| {
        bits = bits.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        Some(f32::from_bits(bits))
    });
    for v in special.into_iter().chain(spread.take(200_000)) {
        if !v.is_finite() {
            continue;
        }
        let lit = c_float(v);
        let back: f32 = lit.strip_suffix('f').unwrap().parse().unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{lit}");
    }
    assert_eq!(c_float(-0.0), "-0e0f");
    assert_eq!(c_float_macro(-1.5), "(-1.5e0f)");
    assert_eq!(int_macro(-128), "(-128)");
}

#[test]
fn strings_and_comments_cannot_break_out() {
    assert_eq!(c_string("a\"b\\c??=d"), r#""a\"b\\c\?\?=d""#);
    assert_eq!(c_string("é\n"), r#""\303\251\012""#);
    assert_eq!(comment_text("a*/b/*c??/é"), "a*_/b/_*c?_?/_");
}

#[test]
fn a_linear_model_has_no_hidden_buffers_and_a_placeholder_width() {
    let m = model_io::from_network(&net(false)).unwrap();
    let h = write(&m, "lin.mlpb", 7).unwrap();
    assert!(h.contains("#define MLPROBE_MODEL_HIDDEN_LAYERS 0 "), "{h}");
    assert!(h.contains("static const uint16_t mlprobe_model_hidden[] = { 0 };"));
    assert!(!h.contains("h[2]"), "{h}");
    assert!(h.contains("#define MLPROBE_MODEL_CRC 0x00000007u"));
    assert!(h.contains("#define MLPROBE_MODEL_FILL_VALUE (-1.5e0f)"));
    assert!(h.contains(r#"{ "a", "b\?\?=c", "\303\251\"*/" }"#), "{h}");
    assert!(
        h.contains("{ \"0\", \"1\" }"),
        "placeholder class names: {h}"
    );
    assert!(h.contains("mlprobe_model_dense(mlprobe_model_layer0_weight"));
}

#[test]
fn a_hidden_model_ping_pongs_and_is_deterministic() {
    let m = model_io::from_network(&net(true)).unwrap();
    let h = write(&m, "m.mlpb", 1).unwrap();
    assert_eq!(h, write(&m, "m.mlpb", 1).unwrap());
    assert!(h.contains("mlprobe_model_hidden[MLPROBE_MODEL_HIDDEN_LAYERS] = { 4 };"));
    assert!(h.contains("float h[2][MLPROBE_MODEL_MAX_HIDDEN];"));
    assert!(h.contains("x,\n                        MLPROBE_MODEL_INPUTS, 4, 1, h[0]);"));
    assert!(h.contains("h[0],\n                        4, MLPROBE_MODEL_OUTPUTS, 0, logits);"));
}

#[test]
fn int8_models_carry_the_requantization() {
    let float = net(true);
    let q = QNetwork {
        input: QParams {
            scale: 0.031,
            zero_point: -4,
        },
        layers: vec![
            QDense {
                weight: (0..12).map(|k| (k * 23 % 255 - 127) as i8).collect(),
                weight_scale: vec![0.01, 0.02, 0.005, 0.011],
                bias: vec![100, -2000, 0, 7],
                output: QParams {
                    scale: 0.05,
                    zero_point: -128,
                },
            },
            QDense {
                weight: vec![1, -1, 127, -127, 5, 6, 7, 8],
                weight_scale: vec![0.003, 0.004],
                bias: vec![-5, 5],
                output: QParams {
                    scale: 0.1,
                    zero_point: 3,
                },
            },
        ],
        float,
    };
    let m = model_io::from_qnetwork(&q).unwrap();
    let h = write(&m, "q.mlpb", 2).unwrap();
    assert!(h.contains("#define MLPROBE_MODEL_INT8 1 "));
    assert!(h.contains("#define MLPROBE_MODEL_INPUT_ZERO_POINT (-4)"));
    assert!(h.contains("#define MLPROBE_MODEL_OUTPUT_SCALE 1e-1f"));
    assert!(h.contains("static MLPROBE_MODEL_CONST int32_t mlprobe_model_layer0_bias[4] = {\n    100, -2000, 0, 7,\n};"), "{h}");
    assert!(h.contains("static const float mlprobe_model_layer1_weight_scale[2] = {"));
    let (m0, s0) = quant::quantize_multiplier(quant::effective_scale(0.031, 0.01, 0.05));
    assert!(h.contains(&format!(
        "mlprobe_model_layer0_multiplier[4] = {{\n    {m0},"
    )));
    assert!(h.contains(&format!("mlprobe_model_layer0_shift[4] = {{\n    {s0},")));
    // The ReLU of the hidden layer is the clamp at its zero point; the logits' is none.
    assert!(
        h.contains(
            "4, MLPROBE_MODEL_LAYER0_OUTPUT_ZERO_POINT,\n                         \
             MLPROBE_MODEL_LAYER0_OUTPUT_ZERO_POINT, h[0]);"
        ),
        "{h}"
    );
    assert!(
        h.contains("MLPROBE_MODEL_LAYER1_OUTPUT_ZERO_POINT,\n                         -128, out);")
    );
}

#[test]
fn non_finite_values_are_refused() {
    let mut m = model_io::from_network(&net(true)).unwrap();
    m.mlp.params_mut()[5] = f32::NAN;
    let e = write(&m, "m.mlpb", 0).unwrap_err();
    assert!(e.contains("layer 0 weight 5 is NaN"), "{e}");
}
