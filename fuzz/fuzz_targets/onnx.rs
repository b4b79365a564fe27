//! The `onnx` target: see `mlprobe_fuzz::targets::onnx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlprobe_fuzz::targets::onnx::run(data));
