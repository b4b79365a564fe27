//! The Cortex-M4 int8 kernel's generator (`src/int8.rs` says what the kernel computes and why
//! it gives `core`'s bits): two naked functions of straight-line assembly per model, and the
//! tables they stream through with `LDM`.
//!
//! - `quantize(raw, words) -> status`: standardise, divide by the input scale, round half away
//!   from zero and clamp, two inputs per word. Status 1 (the Invalid Operation flag: a value
//!   that is not finite, or whose doubled quotient leaves the 16-bit range) sends the row to
//!   `core`'s functions instead.
//! - `layers(words, logits)`: every dense layer with `SMLAD`, the requantizations, and the last
//!   layer's `DEQUANTIZE`.

use mlprobe_core::model::ModelFile;
use mlprobe_core::quant;
use std::fmt::Write as _;

/// Words of `n` 16-bit values.
pub fn pairs(n: usize) -> usize {
    n.div_ceil(2)
}

/// Assembly lines and the table they read, in the order they read it.
#[derive(Default)]
struct Gen {
    asm: Vec<String>,
    table: Vec<u32>,
}

fn reg_no(r: &str) -> u32 {
    match r {
        "lr" => 14,
        _ => r[1..].parse().unwrap(),
    }
}

impl Gen {
    fn op(&mut self, s: impl Into<String>) {
        self.asm.push(s.into());
    }

    /// Loads `(register, word)` pairs from the table with one `LDM r1!` (`LDM` fills registers
    /// in ascending order from ascending addresses, so the words are laid out in that order).
    fn load(&mut self, mut items: Vec<(&'static str, u32)>) {
        items.sort_by_key(|&(r, _)| reg_no(r));
        if let [(r, w)] = items[..] {
            self.op(format!("ldr {r}, [r1], #4"));
            self.table.push(w);
            return;
        }
        let regs: Vec<&str> = items.iter().map(|&(r, _)| r).collect();
        self.op(format!("ldm r1!, {{{{{}}}}}", regs.join(", ")));
        self.table.extend(items.iter().map(|&(_, w)| w));
    }

    /// The Rust source of a naked function running these lines.
    fn function(&self, doc: &str, signature: &str, table: &str) -> String {
        let mut s = format!(
            "{doc}\n#[unsafe(naked)]\npub unsafe extern \"C\" fn {signature} {{\n    core::arch::naked_asm!(\n"
        );
        for line in &self.asm {
            writeln!(s, "        \"{line}\",").unwrap();
        }
        writeln!(s, "        t = sym {table},\n    )\n}}").unwrap();
        s
    }
}

/// The registers a layer may use besides `r0` (its input pointer) and `r1` (the table).
const POOL: [&str; 12] = [
    "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "lr",
];

/// One layer as the kernel computes it.
struct Layer {
    m: usize,
    n: usize,
    relu: bool,
    /// Weights doubled, row-major `n × m`.
    w: Vec<i32>,
    /// Biases doubled (with the input offset folded in for the first layer).
    b: Vec<i32>,
    /// Per channel: multiplier and right shift.
    req: Vec<(i32, u32)>,
}

impl Layer {
    fn word(&self, o: usize, j: usize) -> u32 {
        let at = |i: usize| {
            if i < self.m {
                self.w[o * self.m + i]
            } else {
                0
            }
        };
        (at(2 * j) as u32 & 0xffff) | ((at(2 * j + 1) as u32) << 16)
    }
}

/// Writes the `dsp` module. Returns why not (and writes nothing) when the model is outside
/// what the kernel handles: a ReLU layer whose output zero point is not −128, a channel that
/// does not shift right (or, in the last layer, by more than 22 bits), an accumulator that
/// could reach 2^30, or a stack frame beyond `STRH`'s offsets.
pub fn module(
    src: &mut String,
    model: &ModelFile<'_>,
    channels: &[i32],
    act: &[quant::QParams],
) -> Result<(), String> {
    let d = model.dims();
    let layers_n = d.layers();
    let mut layers = Vec::new();
    let mut at = 0;
    for k in 0..layers_n {
        let (m, n) = (d.width(k), d.width(k + 1));
        let relu = k + 1 < layers_n;
        let ch = &channels[at..at + quant::CHANNEL_INTS * n];
        at += quant::CHANNEL_INTS * n;
        let layer = model.qlayer(k).expect("an int8 layer");
        let w: Vec<i32> = layer.weights().map(|v| 2 * i32::from(v)).collect();
        // The first layer reads q (the folded bias of `core`'s table); later ones u = q + 128.
        let b: Vec<i64> = if k == 0 {
            ch.chunks_exact(3).map(|c| 2 * i64::from(c[0])).collect()
        } else {
            layer.biases().map(|v| 2 * i64::from(v)).collect()
        };
        let mut req = Vec::with_capacity(n);
        for c in ch.chunks_exact(3) {
            let (mm, s) = (c[1], c[2]);
            if mm <= 0 || s > -1 || (!relu && s < -22) {
                return Err(format!(
                    "layer {k} has a channel with multiplier {mm} and shift {s}"
                ));
            }
            req.push((mm, (-s) as u32));
        }
        if relu && act[k + 1].zero_point != -128 {
            return Err(format!(
                "layer {k}'s ReLU output has zero point {}, not -128",
                act[k + 1].zero_point
            ));
        }
        let xmax = if k == 0 { 128 } else { 255 };
        for (o, &bias) in b.iter().enumerate() {
            let s: i64 = w[o * m..(o + 1) * m]
                .iter()
                .map(|&v| i64::from(v).abs())
                .sum();
            if bias.abs() + xmax * s >= 1 << 30 {
                return Err(format!("layer {k}'s channel {o} could reach 2^30"));
            }
        }
        let b = b.into_iter().map(|v| v as i32).collect();
        layers.push(Layer {
            m,
            n,
            relu,
            w,
            b,
            req,
        });
    }
    // The stack frame: each hidden layer's output words, then the logits pointer.
    let mut offs = Vec::new();
    let mut frame = 0;
    for l in &layers[..layers_n - 1] {
        offs.push(frame);
        frame += 4 * pairs(l.n);
    }
    let logits_at = frame;
    frame += 4;
    if frame > 4000 || d.outputs() > 255 {
        return Err("the hidden layers are too wide for the stack frame".into());
    }

    let inputs = d.inputs();
    let q = quantize(model, act[0]);
    let mut g = Gen::default();
    g.op("push {{r4-r11, lr}}");
    g.op(format!("sub sp, sp, #{frame}"));
    g.op(format!("str r1, [sp, #{logits_at}]"));
    g.op("movw r1, :lower16:{t}");
    g.op("movt r1, :upper16:{t}");
    for (k, l) in layers.iter().enumerate() {
        if k > 0 {
            g.op(format!("add r0, sp, #{}", offs[k - 1]));
        }
        if l.relu && pairs(l.m) <= 7 {
            in_registers(&mut g, l, offs[k]);
        } else {
            let dest = if l.relu {
                Dest::Hidden(offs[k])
            } else {
                Dest::Logits {
                    at: logits_at,
                    zp: act[k + 1].zero_point,
                    scale: act[k + 1].scale,
                }
            };
            blocked(&mut g, l, dest);
        }
    }
    g.op(format!("add sp, sp, #{frame}"));
    g.op("pop {{r4-r11, pc}}");

    writeln!(
        src,
        "/// The Cortex-M4 kernel (`src/int8.rs`, generated by `build/dsp.rs`).\n\
         #[cfg(dsp)]\n#[allow(clippy::unreadable_literal)]\npub mod dsp {{\n\
         /// Words of the quantized input.\npub const WORDS: usize = {};\n\
         /// The input's scale and zero point.\npub const INPUT_SCALE: f32 = f32::from_bits(0x{:08x});\n\
         /// The input's zero point.\npub const INPUT_ZP: i32 = {};\n\
         static TQ: [u32; {}] = {:?};\nstatic TL: [u32; {}] = {:?};",
        pairs(inputs),
        act[0].scale.to_bits(),
        act[0].zero_point,
        q.table.len(),
        q.table,
        g.table.len(),
        g.table
    )
    .unwrap();
    src.push_str(&q.function(
        "/// Quantizes `raw` into `words`; 0, or 1 when `core` must do it (`src/int8.rs`).\n\
         /// # Safety\n/// `raw` holds `INPUTS` values and `words` `WORDS`.",
        "quantize(raw: *const f32, words: *mut u32) -> u32",
        "TQ",
    ));
    src.push_str(&g.function(
        "/// The dense layers of the quantized input `words`, dequantized into `logits`.\n\
         /// # Safety\n/// `words` holds `WORDS` values and `logits` `OUTPUTS`.",
        "layers(words: *const u32, logits: *mut f32)",
        "TL",
    ));
    src.push_str("}\n");
    Ok(())
}

/// The input stage: `TQ` is 0, the two rounding constants, the scale, then per group of up to
/// four inputs their means and standard deviations.
fn quantize(model: &ModelFile<'_>, input: quant::QParams) -> Gen {
    let mean: Vec<f32> = model.mean().collect();
    let std: Vec<f32> = model.std().collect();
    let n = mean.len();
    let words = pairs(n);
    let half = |v: i32| (v as u32 & 0xffff) * 0x1_0001;
    let zp = input.zero_point;
    let mut g = Gen::default();
    g.op("push {{r4-r11, lr}}");
    g.op("movw r2, :lower16:{t}");
    g.op("movt r2, :upper16:{t}");
    // Clear the cumulative exception flags: Invalid Operation is read at the end.
    g.op("vmrs r3, fpscr");
    g.op("bic r3, r3, #0x9f");
    g.op("vmsr fpscr, r3");
    g.op("ldm r2!, {{r3, r12, lr}}");
    g.op("vldmia r2!, {{s12}}");
    g.table
        .extend([0, half(1 + 2 * zp), half(2 * zp), input.scale.to_bits()]);
    let in_regs = words <= 7;
    let mut word = 0;
    for start in (0..n).step_by(4) {
        let k = (n - start).min(4);
        if k == 1 {
            g.op("vldmia r0!, {{s0}}");
        } else {
            g.op(format!("vldmia r0!, {{{{s0-s{}}}}}", k - 1));
        }
        g.op(format!("vldmia r2!, {{{{s4-s{}}}}}", 3 + 2 * k));
        g.table
            .extend(mean[start..start + k].iter().map(|v| v.to_bits()));
        g.table
            .extend(std[start..start + k].iter().map(|v| v.to_bits()));
        for j in 0..k {
            g.op(format!("vsub.f32 s{j}, s{j}, s{}", 4 + j));
            g.op(format!("vdiv.f32 s{j}, s{j}, s{}", 4 + k + j));
            g.op(format!("vdiv.f32 s{j}, s{j}, s12"));
            g.op(format!("vcvt.s16.f32 s{j}, s{j}, #1"));
        }
        for j in (0..k).step_by(2) {
            let w = if in_regs {
                format!("r{}", 4 + word)
            } else {
                "r4".to_string()
            };
            if j + 1 < k {
                g.op(format!("vmov {w}, r11, s{j}, s{}", j + 1));
                g.op(format!("pkhbt {w}, {w}, r11, lsl #16"));
            } else {
                g.op(format!("vmov {w}, s{j}"));
            }
            // Per half: a = trunc(2v); round(v) + zp = (a + [a ≥ 0] + 2·zp) >> 1.
            g.op(format!("sadd16 r11, {w}, r3"));
            g.op("sel r11, r12, lr");
            g.op(format!("shadd16 {w}, {w}, r11"));
            g.op(format!("ssat16 {w}, #8, {w}"));
            if !in_regs {
                g.op(format!("str {w}, [r1], #4"));
            }
            word += 1;
        }
    }
    if in_regs {
        g.op(format!("stm r1, {{{{r4-r{}}}}}", 3 + words));
    }
    g.op("vmrs r0, fpscr");
    g.op("and r0, r0, #1");
    g.op("pop {{r4-r11, pc}}");
    g
}

/// A ReLU layer whose input fits in registers (at most 7 words): the words are loaded once,
/// and each channel streams its bias, weights, multiplier and rounding constant.
fn in_registers(g: &mut Gen, l: &Layer, out: usize) {
    let p = pairs(l.m);
    let regs: Vec<&'static str> = std::iter::once("r0").chain(POOL).collect();
    let (x, free) = regs.split_at(p);
    if p == 1 {
        g.op("ldr r0, [r0]");
    } else {
        g.op(format!("ldm r0, {{{{{}}}}}", x.join(", ")));
    }
    let acc = free[0];
    let spare = &free[1..];
    for o in 0..l.n {
        let (mm, r) = l.req[o];
        // The words after the bias, then the multiplier and rounding constant together.
        let mut rest: Vec<u32> = (0..p).map(|j| l.word(o, j)).collect();
        rest.extend([mm as u32, 1 << (r - 1)]);
        let mut first = vec![(acc, l.b[o] as u32)];
        let mut j = 0;
        loop {
            let left = rest.len() - j;
            let room = spare.len();
            // Keep the multiplier and rounding constant in one load.
            let take = if left <= room {
                left
            } else if left - room < 2 {
                left - 2
            } else {
                room
            };
            let take = take.min(left);
            let mut items = std::mem::take(&mut first);
            items.extend((0..take).map(|i| (spare[i], rest[j + i])));
            g.load(items);
            for i in 0..take {
                if j + i < p {
                    g.op(format!("smlad {acc}, {}, {}, {acc}", x[j + i], spare[i]));
                }
            }
            j += take;
            if j == rest.len() {
                let (m_reg, rc_reg) = (spare[take - 2], spare[take - 1]);
                g.op(format!("smmlar {acc}, {acc}, {m_reg}, {rc_reg}"));
                break;
            }
        }
        g.op(format!("usat {acc}, #8, {acc}, asr #{r}"));
        g.op(format!("strh {acc}, [sp, #{}]", out + 2 * o));
    }
}

/// Where a blocked layer's outputs go.
enum Dest {
    /// A hidden layer's words at this stack offset.
    Hidden(usize),
    /// The logits: the pointer saved at `at`, then `DEQUANTIZE` with these parameters.
    Logits { at: usize, zp: i32, scale: f32 },
}

/// Any layer, up to four channels at a time with their accumulators in registers, the input
/// streamed from `r0` in chunks.
fn blocked(g: &mut Gen, l: &Layer, dest: Dest) {
    let p = pairs(l.m);
    if let Dest::Logits { scale, .. } = dest {
        g.op("vldmia r1!, {{s1}}");
        g.table.push(scale.to_bits());
    }
    let mut o0 = 0;
    while o0 < l.n {
        let a = (l.n - o0).min(4);
        let kmax = ((POOL.len() - a) / 2).min(p);
        let (acc, rest) = POOL.split_at(a);
        let (xr, wr) = rest.split_at(kmax);
        g.load((0..a).map(|i| (acc[i], l.b[o0 + i] as u32)).collect());
        let mut j0 = 0;
        while j0 < p {
            let k = (p - j0).min(kmax);
            if k == 1 {
                g.op(format!("ldr {}, [r0], #4", xr[0]));
            } else {
                g.op(format!("ldm r0!, {{{{{}}}}}", xr[..k].join(", ")));
            }
            for (i, ac) in acc.iter().enumerate() {
                g.load((0..k).map(|t| (wr[t], l.word(o0 + i, j0 + t))).collect());
                for t in 0..k {
                    g.op(format!("smlad {ac}, {}, {}, {ac}", xr[t], wr[t]));
                }
            }
            j0 += k;
        }
        if o0 + a < l.n {
            g.op(format!("sub r0, r0, #{}", 4 * p));
        }
        let (mreg, creg) = rest[..2 * a].split_at(a);
        match dest {
            Dest::Hidden(out) => {
                let mut items: Vec<_> = (0..a).map(|i| (mreg[i], l.req[o0 + i].0 as u32)).collect();
                items.extend((0..a).map(|i| (creg[i], 1u32 << (l.req[o0 + i].1 - 1))));
                g.load(items);
                for i in 0..a {
                    let (ac, r) = (acc[i], l.req[o0 + i].1);
                    g.op(format!("smmlar {ac}, {ac}, {}, {}", mreg[i], creg[i]));
                    g.op(format!("usat {ac}, #8, {ac}, asr #{r}"));
                    g.op(format!("strh {ac}, [sp, #{}]", out + 2 * (o0 + i)));
                }
            }
            Dest::Logits { at, zp, .. } => {
                // h = SRDHM(acc, M); q = clamp((h + 2^(r−1) − [h < 0] + zp·2^r) >> r).
                let mut items: Vec<_> = (0..a).map(|i| (mreg[i], l.req[o0 + i].0 as u32)).collect();
                items.extend((0..a).map(|i| {
                    let r = l.req[o0 + i].1;
                    (creg[i], ((1i32 << (r - 1)) + zp * (1i32 << r)) as u32)
                }));
                g.load(items);
                for i in 0..a {
                    let (ac, r) = (acc[i], l.req[o0 + i].1);
                    g.op(format!("smmulr {ac}, {ac}, {}", mreg[i]));
                    g.op(format!("add {ac}, {ac}, {ac}, asr #31"));
                    g.op(format!("add {ac}, {ac}, {}", creg[i]));
                    g.op(format!("ssat {ac}, #8, {ac}, asr #{r}"));
                }
                let lp = mreg[0];
                g.op(format!("ldr {lp}, [sp, #{at}]"));
                for (i, ac) in acc.iter().enumerate() {
                    // DEQUANTIZE: scale · (q − zp).
                    if zp > 0 {
                        g.op(format!("sub {ac}, {ac}, #{zp}"));
                    } else if zp < 0 {
                        g.op(format!("add {ac}, {ac}, #{}", -zp));
                    }
                    g.op(format!("vmov s0, {ac}"));
                    g.op("vcvt.f32.s32 s0, s0");
                    g.op("vmul.f32 s0, s1, s0");
                    g.op(format!("vstr s0, [{lp}, #{}]", 4 * (o0 + i)));
                }
            }
        }
        o0 += a;
    }
}
