//! The `suite` target: see `mlprobe_fuzz::targets::suite`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::suite::run(data));
