//! The int8 part of a C header: the integer helpers and the layers' arrays, macros and
//! `mlprobe_model_infer`.

use super::*;

/// The integer helpers of an int8 header: mlprobe-core's `quant` in C99 without undefined or
/// implementation-defined behaviour (no signed overflow, no right shift of a negative value, no
/// out-of-range conversion).
const INT8_HELPERS: &str = "\
/* The int32_t whose two's complement bits are u (no implementation-defined conversion). */
static inline int32_t mlprobe_model_wrap(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u
                                    : (int32_t)(u - (uint32_t)INT32_MAX - 1u) - INT32_MAX - 1;
}

/* v converted to int32_t as Rust's `as` does: toward zero, saturating, NaN to 0. */
static inline int32_t mlprobe_model_to_i32(float v)
{
    if (v != v) {
        return 0;
    }
    if (v >= 2147483648.0f) {
        return INT32_MAX;
    }
    if (v < -2147483648.0f) {
        return INT32_MIN;
    }
    return (int32_t)v;
}

/* TFLite's QUANTIZE as mlprobe-core's QParams::quantize: round(v / scale) half away from zero
 * (truncate, then add the truncation of twice the remainder, both exact), plus the zero point,
 * clamped to int8. */
static inline int8_t mlprobe_model_quantize(float v, float scale, int32_t zero_point)
{
    float s = v / scale;
    int32_t t = mlprobe_model_to_i32(s);
    float f = s - (float)t;
    int64_t r = (int64_t)t + mlprobe_model_to_i32(f + f) + zero_point;
    return (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
}

/* TFLite's MultiplyByQuantizedMultiplier (double rounding, its reference kernels' default):
 * acc * multiplier * 2^(shift - 31), by gemmlowp's SaturatingRoundingDoublingHighMul (round at
 * 2^-31, ties toward +inf) and RoundingDivideByPOT (ties away from zero). */
static inline int32_t mlprobe_model_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    uint32_t left = shift > 0 ? (uint32_t)shift : 0u;
    uint32_t right = shift > 0 ? 0u : (uint32_t)-shift;
    int32_t a = mlprobe_model_wrap((uint32_t)acc << left);
    int32_t y, mask, remainder, threshold, q;
    if (a == INT32_MIN && multiplier == INT32_MIN) {
        y = INT32_MAX;
    } else {
        int64_t ab = (int64_t)a * multiplier;
        int64_t n = ab + (ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30));
        /* n / 2^31 truncated toward zero, without a 64-bit division (a libgcc call). */
        y = (int32_t)(n >= 0 ? n >> 31 : -(-n >> 31));
    }
    mask = (int32_t)(((uint32_t)1 << right) - 1u);
    remainder = y & mask;
    threshold = (mask >> 1) + (y < 0);
    q = y >= 0 ? y >> right : ~(~y >> right); /* an arithmetic shift of a negative y */
    return q + (remainder > threshold);
}

/* One int8 dense layer (TFLite's reference FullyConnected, per channel): the int32 sum
 * bias[o] + sum of w[o][i] * (x[i] - in_zero_point) (wrapping, as mlprobe-core's folded-bias sum,
 * to which it is equal modulo 2^32), requantized, plus out_zero_point, clamped to [lo, 127]
 * (lo: the output zero point after a ReLU, else -128). y must not overlap x. */
static inline void mlprobe_model_qdense(const int8_t *w, const int32_t *bias,
                                        const int32_t *multiplier, const int8_t *shift,
                                        const int8_t *x, uint32_t n_in, int32_t in_zero_point,
                                        uint32_t n_out, int32_t out_zero_point, int32_t lo,
                                        int8_t *y)
{
    uint32_t o, i;
    for (o = 0; o < n_out; o++) {
        const int8_t *row = w + o * n_in;
        uint32_t acc = (uint32_t)bias[o];
        int32_t v;
        for (i = 0; i < n_in; i++) {
            acc += (uint32_t)((int32_t)row[i] * ((int32_t)x[i] - in_zero_point));
        }
        v = mlprobe_model_requantize(mlprobe_model_wrap(acc), multiplier[o], shift[o]);
        v = mlprobe_model_wrap((uint32_t)v + (uint32_t)out_zero_point);
        y[o] = (int8_t)(v < lo ? lo : v > 127 ? 127 : v);
    }
}

";

/// The int8 layers' arrays and macros, the integer helpers and `mlprobe_model_infer`.
pub(super) fn int8_layers(h: &mut String, q: &model_io::Int8) -> std::result::Result<(), String> {
    let d = q.model.dims();
    let qparams = |h: &mut String, name: &str, p: QParams, what: &str| {
        finite(p.scale, what).map(|s| {
            define(h, &format!("{name}_SCALE"), &c_float_macro(s), what);
            define(
                h,
                &format!("{name}_ZERO_POINT"),
                &int_macro(p.zero_point),
                "real = scale * (q - zero point)",
            );
        })
    };
    qparams(h, "INPUT", q.input, "the quantized input's scale")?;
    for (k, l) in q.layers.iter().enumerate() {
        qparams(
            h,
            &format!("LAYER{k}_OUTPUT"),
            l.output,
            &format!("the scale of layer {k}'s int8 output"),
        )?;
    }
    let out = q.layers.last().map_or(QParams::UNIT, |l| l.output);
    qparams(
        h,
        "OUTPUT",
        out,
        "the int8 logits' scale (the last layer's)",
    )?;
    h.push('\n');
    let channels = q.model.mlp.channels();
    let (mut w_at, mut c_at) = (0, 0);
    for (k, l) in q.layers.iter().enumerate() {
        let (n, m) = (d.width(k + 1), d.width(k));
        let weight = &q.model.mlp.weights()[w_at..w_at + n * m];
        let table = &channels[c_at..c_at + quant::CHANNEL_INTS * n];
        ints(
            h,
            &format!("Dense layer {k}: int8 weight[{n}][{m}], row-major, zero point 0"),
            &format!("MLPROBE_MODEL_CONST int8_t mlprobe_model_layer{k}_weight[{n} * {m}]"),
            weight.iter().map(|&v| i64::from(v)),
            m,
        );
        ints(
            h,
            &format!("Dense layer {k}: int32 bias[{n}], at scale input scale * weight scale"),
            &format!("MLPROBE_MODEL_CONST int32_t mlprobe_model_layer{k}_bias[{n}]"),
            l.bias.iter().map(|&v| i64::from(v)),
            PER_LINE,
        );
        let scales = l.weight_scale.len();
        floats(
            h,
            &format!(
                "Dense layer {k}: the weight scale{} (for reference: the multipliers below \
                 hold them)",
                if scales == 1 {
                    " (one for the layer)"
                } else {
                    "s, one per output"
                }
            ),
            // Not MLPROBE_MODEL_CONST: nothing computes with them.
            "const",
            &format!("mlprobe_model_layer{k}_weight_scale[{scales}]"),
            &l.weight_scale,
            PER_LINE,
            &format!("layer {k} weight scale"),
        )?;
        ints(
            h,
            &format!(
                "Dense layer {k}: each output's Q31 multiplier of input scale * weight scale / \
                 output scale\n * (TFLite's QuantizeMultiplier, as mlprobe-core's derive_channels)"
            ),
            &format!("const int32_t mlprobe_model_layer{k}_multiplier[{n}]"),
            table
                .chunks_exact(quant::CHANNEL_INTS)
                .map(|c| i64::from(c[1])),
            PER_LINE,
        );
        ints(
            h,
            &format!("Dense layer {k}: each output's shift (> 0: left)"),
            &format!("const int8_t mlprobe_model_layer{k}_shift[{n}]"),
            table
                .chunks_exact(quant::CHANNEL_INTS)
                .map(|c| i64::from(c[2])),
            PER_LINE,
        );
        w_at += n * m;
        c_at += quant::CHANNEL_INTS * n;
    }
    h.push_str(INT8_HELPERS);
    infer_head(h, "int8_t", d.layers() > 1);
    h.push_str(
        "    int8_t in[MLPROBE_MODEL_INPUTS];\n    int8_t out[MLPROBE_MODEL_OUTPUTS];\n    \
         uint32_t i;\n    mlprobe_model_standardize(features, x);\n    \
         for (i = 0; i < MLPROBE_MODEL_INPUTS; i++) {\n        in[i] = \
         mlprobe_model_quantize(x[i], MLPROBE_MODEL_INPUT_SCALE,\n                          \
         \x20            MLPROBE_MODEL_INPUT_ZERO_POINT);\n    }\n",
    );
    let mut from = (
        "in".to_string(),
        "MLPROBE_MODEL_INPUT_ZERO_POINT".to_string(),
    );
    for k in 0..d.layers() {
        let last = k + 1 == d.layers();
        let to = if last {
            "out".to_string()
        } else {
            format!("h[{}]", k % 2)
        };
        let zp = format!("MLPROBE_MODEL_LAYER{k}_OUTPUT_ZERO_POINT");
        let lo = if last { "-128".to_string() } else { zp.clone() };
        let _ = writeln!(
            h,
            "    mlprobe_model_qdense(mlprobe_model_layer{k}_weight, mlprobe_model_layer{k}_bias,\n\
             \x20                        mlprobe_model_layer{k}_multiplier, \
             mlprobe_model_layer{k}_shift,\n\
             \x20                        {}, {}, {},\n\
             \x20                        {}, {zp},\n\
             \x20                        {lo}, {to});",
            from.0,
            width_name(&d, k),
            from.1,
            width_name(&d, k + 1),
        );
        from = (to, zp);
    }
    h.push_str(
        "    for (i = 0; i < MLPROBE_MODEL_OUTPUTS; i++) {\n        logits[i] = \
         MLPROBE_MODEL_OUTPUT_SCALE\n                    * (float)((int32_t)out[i] - \
         MLPROBE_MODEL_OUTPUT_ZERO_POINT);\n    }\n    return 0;\n}\n\n",
    );
    Ok(())
}
