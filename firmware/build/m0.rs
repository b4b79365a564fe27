//! The Cortex-M0 int8 kernel's generator (`src/int8.rs` says what it computes and why it gives
//! `core`'s bits): one naked function of straight-line ARMv6-M assembly per model, the dense
//! layers from the quantized input to the last layer's accumulators, and the table it streams
//! through with `LDM`. The input's quantization and the last layer's requantization and
//! `DEQUANTIZE` stay `core`'s functions, called from Rust.

use mlprobe_core::model::ModelFile;
use mlprobe_core::quant;
use std::fmt::Write as _;

/// Writes the `m0` module, or returns why the model is outside what the kernel handles: a
/// ReLU layer whose output zero point is not −128 or with a channel that does not shift
/// right, an accumulator that could reach 2^30, hidden layers beyond `STR`'s stack offsets,
/// or more than 31 classes.
pub fn module(
    src: &mut String,
    model: &ModelFile<'_>,
    channels: &[i32],
    act: &[quant::QParams],
) -> Result<(), String> {
    let d = model.dims();
    let layers = d.layers();
    let hidden: usize = (1..layers).map(|k| d.width(k)).sum();
    if 4 * hidden > 508 || d.outputs() > 31 {
        return Err("the layers are too wide for the kernel's offsets".into());
    }
    let mut table: Vec<u32> = Vec::new();
    let mut asm: Vec<String> = Vec::new();
    let mut op = |s: String| asm.push(s);
    // Save r4–r11; r9 the layer's input, r10 the accumulators' array, r11 = 2^14.
    for s in [
        "push {{r4-r7, lr}}",
        "mov r4, r8",
        "mov r5, r9",
        "mov r6, r10",
        "mov r7, r11",
        "push {{r4-r7}}",
        "mov r9, r0",
        "mov r10, r1",
        "mov r1, r2",
        "movs r4, #1",
        "lsls r4, r4, #14",
        "mov r11, r4",
    ] {
        op(s.to_string());
    }
    if hidden > 0 {
        op(format!("sub sp, #{}", 4 * hidden));
    }
    let (mut at, mut off, mut prev) = (0, 0, 0);
    for k in 0..layers {
        let (m, n) = (d.width(k), d.width(k + 1));
        let relu = k + 1 < layers;
        let ch = &channels[at..at + quant::CHANNEL_INTS * n];
        at += quant::CHANNEL_INTS * n;
        let layer = model.qlayer(k).expect("an int8 layer");
        let w: Vec<i32> = layer.weights().map(i32::from).collect();
        // The first layer reads q (the folded bias of `core`'s table); later ones u = q + 128.
        let b: Vec<i32> = if k == 0 {
            ch.chunks_exact(3).map(|c| c[0]).collect()
        } else {
            layer.biases().collect()
        };
        if relu && act[k + 1].zero_point != -128 {
            return Err(format!(
                "layer {k}'s ReLU output has zero point {}",
                act[k + 1].zero_point
            ));
        }
        let xmax = if k == 0 { 128 } else { 255 };
        for (o, c) in ch.chunks_exact(3).enumerate() {
            let s: i64 = w[o * m..(o + 1) * m]
                .iter()
                .map(|&v| i64::from(v).abs())
                .sum();
            if i64::from(b[o]).abs() + xmax * s >= 1 << 30 {
                return Err(format!("layer {k}'s channel {o} could reach 2^30"));
            }
            if relu && (c[1] <= 0 || !(-31..=-1).contains(&c[2])) {
                return Err(format!("layer {k}'s channel {o} has shift {}", c[2]));
            }
        }
        if k > 0 {
            op(format!("add r0, sp, #{}", 4 * prev));
            op("mov r9, r0".into());
        }
        for o in 0..n {
            table.push(b[o] as u32);
            op("ldm r1!, {{r2}}".into());
            op("mov r8, r2".into());
            op("mov r0, r9".into());
            let mut i = 0;
            while i < m {
                let c = (m - i).min(3);
                let wr = ["r2", "r3", "r4"];
                let xr = ["r5", "r6", "r7"];
                op(format!("ldm r1!, {{{{{}}}}}", wr[..c].join(", ")));
                op(format!("ldm r0!, {{{{{}}}}}", xr[..c].join(", ")));
                for t in 0..c {
                    table.push(w[o * m + i + t] as u32);
                    op(format!("muls {0}, {1}, {0}", wr[t], xr[t]));
                }
                for r in &wr[..c] {
                    op(format!("add r8, {r}"));
                }
                i += c;
            }
            if !relu {
                op("mov r2, r8".into());
                op("mov r0, r10".into());
                op(format!("str r2, [r0, #{}]", 4 * o));
                continue;
            }
            // u = clamp((h + 2^(r−1)) >> r, 0, 255), h = (acc·M + 2^30) >> 31 from four
            // 16 × 16-bit products (acc < 2^30, M < 2^31); 0 when acc ≤ 0.
            let (mm, r) = (ch[3 * o + 1], -ch[3 * o + 2]);
            table.extend([mm as u32, 1u32 << (r - 1)]);
            for s in [
                "mov r2, r8".to_string(),
                "ldm r1!, {{r3, r7}}".into(),
                "cmp r2, #0".into(),
                "bgt 4f".into(),
                "movs r3, #0".into(),
                "b 2f".into(),
                "4:".into(),
                "uxth r4, r2".into(),
                "lsrs r2, r2, #16".into(),
                "uxth r5, r3".into(),
                "lsrs r3, r3, #16".into(),
                "movs r6, r4".into(),
                "muls r6, r5, r6".into(),
                "muls r5, r2, r5".into(),
                "muls r4, r3, r4".into(),
                "muls r3, r2, r3".into(),
                "adds r4, r4, r5".into(),
                "add r4, r11".into(),
                "lsls r5, r4, #16".into(),
                "lsrs r4, r4, #16".into(),
                "adds r6, r6, r5".into(),
                "adcs r3, r4".into(),
                "lsls r3, r3, #1".into(),
                "lsrs r6, r6, #31".into(),
                "orrs r3, r6".into(),
                "adds r3, r3, r7".into(),
                format!("lsrs r3, r3, #{r}"),
                "cmp r3, #255".into(),
                "bls 2f".into(),
                "movs r3, #255".into(),
                "2:".into(),
                format!("str r3, [sp, #{}]", 4 * (off + o)),
            ] {
                op(s);
            }
        }
        if relu {
            prev = off;
            off += n;
        }
    }
    if hidden > 0 {
        op(format!("add sp, #{}", 4 * hidden));
    }
    for s in [
        "pop {{r4-r7}}",
        "mov r8, r4",
        "mov r9, r5",
        "mov r10, r6",
        "mov r11, r7",
        "pop {{r4-r7, pc}}",
    ] {
        op(s.to_string());
    }
    let last = d.layers() - 1;
    let ch = &channels[channels.len() - quant::CHANNEL_INTS * d.outputs()..];
    let (ms, ss): (Vec<i32>, Vec<i32>) = ch.chunks_exact(3).map(|c| (c[1], c[2])).unzip();
    writeln!(
        src,
        "/// The Cortex-M0 kernel (`src/int8.rs`, generated by `build/m0.rs`).\n\
         #[cfg(m0)]\n#[allow(clippy::unreadable_literal)]\npub mod m0 {{\n\
         /// The input's quantization.\npub const INPUT: mlprobe_core::quant::QParams = mlprobe_core::quant::QParams {{ scale: f32::from_bits(0x{:08x}), zero_point: {} }};\n\
         /// The logits' quantization.\npub const OUTPUT: mlprobe_core::quant::QParams = mlprobe_core::quant::QParams {{ scale: f32::from_bits(0x{:08x}), zero_point: {} }};\n\
         /// The last layer's multipliers and shifts.\npub static REQ: [(i32, i32); {}] = {:?};\n\
         /// Biases, weights, multipliers and rounding constants, in the order the kernel reads them.\n\
         pub static T: [u32; {}] = {:?};\n\
         /// The dense layers of the quantized input `x`, the last layer's accumulators into `acc`.\n\
         /// # Safety\n/// `x` holds `INPUTS` values, `acc` `OUTPUTS`, `t` is `T`.\n\
         #[unsafe(naked)]\npub unsafe extern \"C\" fn layers(x: *const i32, acc: *mut i32, t: *const u32) {{\n    core::arch::naked_asm!(",
        act[0].scale.to_bits(),
        act[0].zero_point,
        act[last + 1].scale.to_bits(),
        act[last + 1].zero_point,
        ms.len(),
        ms.iter().zip(&ss).map(|(&m, &s)| (m, s)).collect::<Vec<_>>(),
        table.len(),
        table
    )
    .unwrap();
    for line in &asm {
        writeln!(src, "        \"{line}\",").unwrap();
    }
    src.push_str("    )\n}\n}\n");
    Ok(())
}
