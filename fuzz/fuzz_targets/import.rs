//! The `import` target: see `mlprobe_fuzz::targets::import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::import::run(data));
