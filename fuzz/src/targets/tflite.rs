//! TFLite import (`mlprobe::interop::tflite::read`, then `model_io::from_network` or
//! `from_qnetwork`): no panic on any bytes (the flatbuffers verifier runs first); a model that
//! reads converts or is refused with a message; a model that imports exports (`write`, or
//! `write_int8` for an int8 one, as `mlprobe export --format tflite`) to a file that imports to
//! the same model, the same model file byte for byte (or, with names a model file cannot hold,
//! no file either).
use mlprobe::interop::tflite::{Model, read, write, write_int8};
use mlprobe::model_io::{
    HostModel, from_network, from_qnetwork, to_bytes, to_network, to_qnetwork,
};

use super::common::same;

fn convert(m: &Model) -> Result<HostModel, String> {
    match m {
        Model::Float(net) => from_network(net),
        Model::Int8(q) => from_qnetwork(q),
    }
}

/// One execution of the `tflite` target.
pub fn run(bytes: &[u8]) {
    let Ok(read_model) = read(bytes) else {
        return;
    };
    let Ok(model) = convert(&read_model) else {
        return;
    };
    let exported = match to_qnetwork(&model) {
        Some(q) => write_int8(&q),
        None => write(&to_network(&model)),
    }
    .expect("an imported model exports");
    let again = read(&exported).expect("an exported model reads");
    let again = convert(&again).expect("an exported model imports");
    same(&model, &again);
    // Names are checked when a model is saved (`import --features` may replace them first):
    // one the model file cannot hold is refused with a message, here and after the round trip.
    match to_bytes(&model) {
        Ok(file) => assert_eq!(file, to_bytes(&again).expect("a re-imported model encodes")),
        Err(_) => assert!(to_bytes(&again).is_err()),
    }
}
