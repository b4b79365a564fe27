//! The `server` target: see `mlprobe_fuzz::targets::server`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::server::run(data));
