//! Cost of the wine network (13-32-3, f32, standardisation included) on the emulated
//! Cortex-M4F: instructions per inference under QEMU `-icount shift=0`, flash and RAM.
//!
//! `cargo bench -p mlprobe --bench device` (needs qemu-system-arm and the
//! thumbv7em-none-eabihf target). Targets (issue 6): ≤ 1,200 instructions per inference,
//! ≤ 32 KiB flash, ≤ 8 KiB RAM including the stack. For comparison: emlearn's C MLP needs
//! about 4,400 instructions for the same network on the same emulated board (`-O2`).

use mlprobe::commands::device::validate;
use mlprobe::firmware::{Board, build_firmware, elf_sizes, firmware_dir};
use mlprobe::link::Client;
use mlprobe::qemu::Qemu;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("firmware/models/wine.mlpb");
    let data = root.join("data/wine.csv");
    let elf = build_firmware(Some(&model), Board::qemu(), &firmware_dir(None))
        .unwrap_or_else(|e| panic!("building the firmware: {e}"));
    let sizes = elf_sizes(&elf).unwrap_or_else(|e| panic!("{e}"));
    let (qemu, link) = Qemu::start(&elf, false).unwrap_or_else(|e| panic!("{e}"));
    let mut client = Client::new(link);
    let (report, _) =
        validate(&mut client, &model, &data, "label").unwrap_or_else(|e| panic!("{e}"));
    drop(client);
    qemu.stop();
    let cost = report
        .instructions_per_inference
        .unwrap_or_else(|| panic!("QEMU reports instructions"));
    println!(
        "wine 13-32-3 f32 on {} ({} rows, bit-exact: {})",
        report.board, report.n, report.bit_exact
    );
    println!(
        "instructions per inference  p50 {:>6}  max {:>6}   (target ≤ 1200; SysTick resolution 40)",
        cost.p50, cost.max
    );
    println!(
        "flash                       {:>6} bytes (target ≤ 32768)",
        sizes.flash_bytes
    );
    println!(
        "RAM                         {:>6} bytes static + {} bytes stack peak (target ≤ 8192 in all)",
        sizes.ram_bytes, report.stack_peak_bytes
    );
}
