//! The `tflite` target: see `mlprobe_fuzz::targets::tflite`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::tflite::run(data));
