//! The `frame` target: see `mlprobe_fuzz::targets::frame`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::frame::run(data));
