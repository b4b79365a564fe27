//! ONNX import (`mlprobe::interop::onnx::read`, then `model_io::from_network`): no panic on any
//! bytes; a network that reads converts or is refused with a message; a model that imports
//! exports (`to_network`, `interop::onnx::write`) to a file that imports to the same model, the
//! same model file byte for byte (or, with names a model file cannot hold, no file either).
use mlprobe::interop::onnx::{read, write};
use mlprobe::model_io::{from_network, to_bytes, to_network};

use super::common::same;

/// One execution of the `onnx` target.
pub fn run(bytes: &[u8]) {
    let Ok(net) = read(bytes) else {
        return;
    };
    let Ok(model) = from_network(&net) else {
        return;
    };
    let exported = write(&to_network(&model)).expect("an imported model exports");
    let again = read(&exported).expect("an exported model reads");
    let again = from_network(&again).expect("an exported model imports");
    same(&model, &again);
    // Names are checked when a model is saved (`import --features` may replace them first):
    // one the model file cannot hold is refused with a message, here and after the round trip.
    match to_bytes(&model) {
        Ok(file) => assert_eq!(file, to_bytes(&again).expect("a re-imported model encodes")),
        Err(_) => assert!(to_bytes(&again).is_err()),
    }
}
