//! Cost of the wine network (13-32-3, f32, standardisation included) on both emulated boards:
//! instructions per inference under QEMU `-icount shift=0`, flash and RAM.
//!
//! `cargo bench -p mlprobe --bench device` (needs qemu-system-arm and the thumbv7em-none-eabihf
//! and thumbv6m-none-eabi targets).
//!
//! - `qemu` (mps2-an386, Cortex-M4F, hardware float): targets of issue 6, ≤ 1,200 instructions
//!   per inference, ≤ 32 KiB flash, ≤ 8 KiB RAM including the stack. For comparison: emlearn's
//!   C MLP needs about 4,400 instructions for the same network on the same emulated board
//!   (`-O2`).
//! - `microbit` (nRF51822, Cortex-M0, soft-float: every `f32` operation is a call into
//!   compiler-builtins): no target for f32; the chip has 256 KiB flash and 16 KiB RAM.

use mlprobe::device::{Endpoint, SessionOptions, ValidateOptions, validate};
use mlprobe::firmware::Board;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("firmware/models/wine.mlpb");
    let data = root.join("data/wine.csv");
    let boards = [
        (
            Board::qemu(),
            "target ≤ 1200; SysTick resolution 40",
            32 * 1024,
            8 * 1024,
        ),
        (
            Board::new("microbit").unwrap_or_else(|e| panic!("{e}")),
            "no target for f32; TIMER0 resolution 62.5",
            256 * 1024,
            16 * 1024,
        ),
    ];
    for (board, note, flash_budget, ram_budget) in boards {
        let mut session = SessionOptions::new(Endpoint::Qemu { port: None });
        session.board = board;
        let opts = ValidateOptions {
            model: model.clone(),
            data: data.clone(),
            label: "label".into(),
            session,
        };
        let report = validate(&opts).unwrap_or_else(|e| panic!("{e}"));
        let (flash, ram) = (
            report.flash_bytes.unwrap_or(0),
            report.ram_bytes.unwrap_or(0),
        );
        let cost = report
            .instructions_per_inference
            .unwrap_or_else(|| panic!("QEMU reports instructions"));
        println!(
            "wine 13-32-3 f32 on {} (--board {board}; {} rows, bit-exact: {})",
            report.board, report.n, report.bit_exact
        );
        println!(
            "instructions per inference  p50 {:>6}  max {:>6}   ({note})",
            cost.p50, cost.max
        );
        println!("flash                       {flash:>6} bytes (budget ≤ {flash_budget})");
        println!(
            "RAM                         {:>6} bytes static + {} bytes stack peak (budget ≤ \
             {ram_budget} in all)",
            ram, report.stack_peak_bytes
        );
    }
}
