//! # rust-firmware
//!
//! A Rust firmware with its own inference (a hand-written MLP, [`infer`]) made testable by
//! mlprobe: the agent (`mlprobe-agent`) serves that inference over the UART, so that
//! `mlprobe device validate` checks it row by row against the model file it was built from,
//! and measures it.
//!
//! The lines a firmware adds for mlprobe are marked `// mlprobe:`: the dependency, an
//! [`Inference`] implementation (two functions), a [`Clock`] (optional), and the agent's loop.
//! The rest is the firmware it already was: a board ([`board`]: UART, timer) and a model
//! (`build.rs` turns an mlprobe model file into constants).
//!
//! Features (for mlprobe's tests and benchmarks, not for a firmware to copy): `fault` flips
//! one first-layer weight's sign (in `build.rs`), so the validation must fail; `no-agent` is
//! the same firmware without the agent, raw bytes in and out, the size baseline.
#![no_std]
#![no_main]

mod board;

/// The model's constants, from the model file (see `build.rs`).
mod model {
    use super::Layer;
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
// mlprobe: the agent's API.
#[cfg(not(feature = "no-agent"))]
use mlprobe_agent::{Agent, Clock, CostUnit, Dims, Failed, Ident, Inference, NoStack};
use model::{INPUTS, LAYERS, OUTPUTS, WIDEST};

/// A dense layer: `outputs × inputs` weights (row-major: one row per unit) and `outputs`
/// biases.
pub struct Layer {
    inputs: usize,
    outputs: usize,
    weight: &'static [f32],
    bias: &'static [f32],
}

/// The inference: standardise the features, then each dense layer (ReLU after all but the
/// last). `logits` are the last layer's outputs, before any softmax.
///
/// A missing feature (NaN) is replaced as mlprobe's model does (its fill value, or the
/// feature's mean) and an infinite one by `±f32::MAX`, so that such rows agree with the host.
fn infer(features: &[f32; INPUTS], logits: &mut [f32; OUTPUTS]) {
    let (mut a, mut b) = ([0.0f32; WIDEST], [0.0f32; WIDEST]);
    let (mut x, mut y) = (&mut a, &mut b);
    for ((((out, &v), &fill), &mean), &std) in x
        .iter_mut()
        .zip(features)
        .zip(&model::FILL)
        .zip(&model::MEAN)
        .zip(&model::STD)
    {
        let v = if v.is_nan() {
            fill
        } else {
            v.clamp(f32::MIN, f32::MAX)
        };
        *out = (v - mean) / std;
    }
    for (k, layer) in LAYERS.iter().enumerate() {
        let relu = k + 1 < LAYERS.len();
        let input = &x[..layer.inputs];
        for ((out, row), &bias) in y[..layer.outputs]
            .iter_mut()
            .zip(layer.weight.chunks_exact(layer.inputs))
            .zip(layer.bias)
        {
            let mut acc = bias;
            for (&w, &v) in row.iter().zip(input) {
                acc += w * v;
            }
            *out = if relu && acc < 0.0 { 0.0 } else { acc };
        }
        core::mem::swap(&mut x, &mut y);
    }
    logits.copy_from_slice(&x[..OUTPUTS]);
}

// mlprobe: the model's shape, as the host checks it (the model file's widths).
#[cfg(not(feature = "no-agent"))]
const DIMS: Dims = match Dims::deep(INPUTS, &model::HIDDEN, OUTPUTS) {
    Ok(d) => d,
    Err(_) => panic!("the model's widths do not fit the protocol"),
};

// mlprobe: the inference as the agent calls it.
#[cfg(not(feature = "no-agent"))]
struct Mlp;

#[cfg(not(feature = "no-agent"))]
impl Inference for Mlp {
    fn dims(&self) -> Dims {
        DIMS
    }

    fn infer(&mut self, features: &[f32], outputs: &mut [f32]) -> Result<(), Failed> {
        let x = features.try_into().map_err(|_| Failed)?;
        let y = outputs.try_into().map_err(|_| Failed)?;
        infer(x, y);
        Ok(())
    }
}

// mlprobe: the cost of an inference, from SysTick (optional: `NoClock` reports none). Under
// QEMU's `-icount shift=0` an instruction takes 1 ns and a tick of the 25 MHz clock 40 ns: the
// cost is in instructions. On a chip, report `CostUnit::Cycles`, one per tick.
#[cfg(not(feature = "no-agent"))]
impl Clock for board::SysTick {
    #[inline(always)]
    fn now(&mut self) -> u32 {
        board::SysTick::now(self)
    }

    fn cost(&self, start: u32, end: u32) -> u32 {
        board::SysTick::ticks(start, end) * (1_000_000_000 / board::HZ)
    }

    fn unit(&self) -> CostUnit {
        CostUnit::Instructions
    }

    fn hz(&self) -> u32 {
        board::HZ
    }
}

/// `CARGO_PKG_VERSION`'s three numbers.
#[cfg(not(feature = "no-agent"))]
const VERSION: [u16; 3] = {
    const fn parse(s: &str) -> u16 {
        let (b, mut v, mut i) = (s.as_bytes(), 0u16, 0);
        while i < b.len() {
            v = v * 10 + (b[i] - b'0') as u16;
            i += 1;
        }
        v
    }
    [
        parse(env!("CARGO_PKG_VERSION_MAJOR")),
        parse(env!("CARGO_PKG_VERSION_MINOR")),
        parse(env!("CARGO_PKG_VERSION_PATCH")),
    ]
};

#[entry]
fn main() -> ! {
    #[allow(unused_variables)] // `clock`: the agent's
    let (mut uart, clock) = board::init();
    // A line on QEMU's stdout (semihosting: on a chip, only with a debugger attached).
    hprintln!(
        "rust-firmware {}: model with {} inputs, hidden layers {:?}, {} outputs (crc {:#010x}){}",
        env!("CARGO_PKG_VERSION"),
        INPUTS,
        model::HIDDEN,
        OUTPUTS,
        model::MODEL_CRC,
        if cfg!(feature = "no-agent") {
            ", no agent"
        } else {
            ""
        }
    );

    #[cfg(not(feature = "no-agent"))]
    {
        // mlprobe: the agent, serving the model on the UART (instead of the firmware's own
        // main loop, or beside it: `poll` takes one byte at a time).
        let ident = Ident {
            board: "rust-example-mps2-an386", // at most 24 bytes
            firmware: VERSION,
            model_crc: model::MODEL_CRC, // the host checks it is the model it validates
        };
        // mlprobe: fails only with a longer board name or a model too large for the protocol
        // (which build.rs refuses).
        let Ok(mut agent) = Agent::new(Mlp, clock, NoStack, ident) else {
            board::fail()
        };
        loop {
            let _ = agent.poll(&mut uart); // mlprobe: or log the UART's error
        }
    }

    // Without the agent: `4 × INPUTS` bytes in (little-endian f32), `4 × OUTPUTS` out.
    #[cfg(feature = "no-agent")]
    loop {
        use embedded_io::{Read, Write};
        let mut raw = [0u8; 4 * INPUTS];
        let Ok(()) = uart.read_exact(&mut raw) else {
            continue;
        };
        let mut x = [0.0f32; INPUTS];
        for (v, b) in x.iter_mut().zip(raw.chunks_exact(4)) {
            *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        let mut logits = [0.0f32; OUTPUTS];
        infer(&x, &mut logits);
        for v in logits {
            let Ok(()) = uart.write_all(&v.to_le_bytes());
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    board::fail()
}
