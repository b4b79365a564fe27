//! Cost of the wine network (13-32-3, standardisation included), f32 and int8, on both emulated
//! boards: instructions per inference under QEMU `-icount shift=0`, flash and RAM.
//!
//! `cargo bench -p mlprobe --bench device` (needs qemu-system-arm and the thumbv7em-none-eabihf
//! and thumbv6m-none-eabi targets). The int8 model is `mlprobe quantize` of the bundled one,
//! calibrated on data/wine.csv (per-channel weights).
//!
//! - `qemu` (mps2-an386, Cortex-M4F, hardware float). f32: issue 6's targets, ≤ 1,200
//!   instructions per inference, ≤ 32 KiB flash, ≤ 8 KiB RAM including the stack (emlearn's C
//!   MLP: about 4,400 instructions for the same network on the same emulated board, `-O2`).
//!   int8: issue 17's, ≤ 800 instructions, ≤ 16 KiB flash, ≤ 4 KiB RAM including the stack.
//! - `microbit` (nRF51822, Cortex-M0, soft-float: every `f32` operation is a call into
//!   compiler-builtins): the chip's 256 KiB flash and 16 KiB RAM; issue 17's target is int8 at
//!   least 10 times cheaper than f32 on this board.

use mlprobe::device::{Endpoint, SessionOptions, ValidateOptions, validate};
use mlprobe::firmware::Board;
use mlprobe::quantize::{QuantizeOptions, quantize};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let f32_model = root.join("firmware/models/wine.mlpb");
    let data = root.join("data/wine.csv");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let int8_model = dir.path().join("wine.int8.mlpb");
    quantize(&QuantizeOptions::new(&f32_model, &data, &int8_model))
        .unwrap_or_else(|e| panic!("quantize: {e}"));
    let microbit = Board::new("microbit").unwrap_or_else(|e| panic!("{e}"));
    let runs = [
        (
            Board::qemu(),
            "f32",
            &f32_model,
            "≤ 1200",
            32 * 1024,
            8 * 1024,
        ),
        (
            Board::qemu(),
            "int8",
            &int8_model,
            "≤ 800",
            16 * 1024,
            4 * 1024,
        ),
        (microbit, "f32", &f32_model, "none", 256 * 1024, 16 * 1024),
        (
            microbit,
            "int8",
            &int8_model,
            "10× below f32",
            256 * 1024,
            16 * 1024,
        ),
    ];
    let mut microbit_p50 = Vec::new();
    for (board, kind, model, target, flash_budget, ram_budget) in runs {
        let mut session = SessionOptions::new(Endpoint::Qemu { port: None });
        session.board = board;
        let opts = ValidateOptions {
            model: model.clone(),
            data: data.clone(),
            label: "label".into(),
            session,
            tolerance: mlprobe::device::Tolerance::EXACT,
        };
        let report = validate(&opts).unwrap_or_else(|e| panic!("{board} {kind}: {e}"));
        let (flash, ram) = (
            report.flash_bytes.unwrap_or(0),
            report.ram_bytes.unwrap_or(0),
        );
        let cost = report
            .instructions_per_inference
            .unwrap_or_else(|| panic!("QEMU reports instructions"));
        if board == microbit {
            microbit_p50.push(cost.p50);
        }
        println!(
            "wine 13-32-3 {kind} on {} (--board {board}; {} rows, bit-exact: {})",
            report.board, report.n, report.bit_exact
        );
        println!(
            "instructions per inference  p50 {:>6}  max {:>6}   (target {target})",
            cost.p50, cost.max
        );
        println!("flash                       {flash:>6} bytes (budget ≤ {flash_budget})");
        println!(
            "RAM                         {:>6} bytes static + {} bytes stack peak (budget ≤ \
             {ram_budget} in all)",
            ram, report.stack_peak_bytes
        );
    }
    if let [f, q] = microbit_p50[..] {
        println!(
            "microbit: int8 takes {:.1}× fewer instructions than f32 (target ≥ 10×)",
            f64::from(f) / f64::from(q.max(1))
        );
    }
}
