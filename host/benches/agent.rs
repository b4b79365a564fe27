//! What mlprobe's device agent adds to a firmware: flash and static RAM of each example
//! (`examples/c-firmware`, `examples/rust-firmware`) built for the wine model with the agent
//! and without it (`NO_AGENT=1`, `--features no-agent`: the same UART, clock and model
//! answering raw bytes), against the budget of 4 KiB of flash and 1 KiB of RAM.
//!
//! `cargo bench -p mlprobe --bench agent`: needs arm-none-eabi-gcc and make
//! (`./scripts/setup.sh`). Sizes are exact, so one build of each is enough.

use mlprobe::firmware::elf_sizes;
use mlprobe_tests::{examples, root};
use std::path::Path;

const FLASH_BUDGET: u64 = 4096;
const RAM_BUDGET: u64 = 1024;

fn row(name: &str, with: &Path, without: &Path) {
    let (a, b) = (elf_sizes(with).unwrap(), elf_sizes(without).unwrap());
    let flash = a.flash_bytes as i64 - b.flash_bytes as i64;
    let ram = a.ram_bytes as i64 - b.ram_bytes as i64;
    let verdict = |v: i64, budget: u64| if v <= budget as i64 { "met" } else { "NOT met" };
    println!(
        "{name:<16} {:>8} {:>8} {:>8}   {:>6} {:>6} {:>6}   flash {} ({flash:+} of {FLASH_BUDGET}), RAM {} ({ram:+} of {RAM_BUDGET})",
        a.flash_bytes,
        b.flash_bytes,
        flash,
        a.ram_bytes,
        b.ram_bytes,
        ram,
        verdict(flash, FLASH_BUDGET),
        verdict(ram, RAM_BUDGET),
    );
}

fn main() {
    if !mlprobe_tests::arm_gcc() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("firmware/models/wine.mlpb");
    let header = dir.path().join("wine_model.h");
    examples::export_c(&model, &header);
    let library = examples::agent_c_library();
    let c = |name: &str, vars: &[&str]| {
        examples::c_firmware(&header, &library, &dir.path().join(name), vars)
    };
    let (c_with, c_without) = (c("c", &[]), c("c-baseline", &["NO_AGENT=1"]));
    let rust = |features: &[&str], name: &str| {
        examples::rust_firmware(&model, features, &dir.path().join(name))
    };
    let (r_with, r_without) = (
        rust(&[], "rust.elf"),
        rust(&["no-agent"], "rust-baseline.elf"),
    );
    println!(
        "what the agent adds to a firmware (wine 13-32-3, bytes: flash = loaded segments, RAM = static)"
    );
    println!(
        "{:<16} {:>8} {:>8} {:>8}   {:>6} {:>6} {:>6}",
        "example", "flash", "without", "added", "RAM", "without", "added"
    );
    row("C (agent/c)", &c_with, &c_without);
    row("Rust (agent/)", &r_with, &r_without);
}
