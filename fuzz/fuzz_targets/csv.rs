//! The `csv` target: see `mlprobe_fuzz::targets::csv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::csv::run(data));
