//! The `config` target: see `mlprobe_fuzz::targets::config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::config::run(data));
