//! The `model` target: see `mlprobe_fuzz::targets::model`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::model::run(data));
