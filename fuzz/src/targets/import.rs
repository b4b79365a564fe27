//! Model import (`mlprobe::interop::safetensors::read`, then `model_io::from_network`): no panic
//! on any bytes; a network that reads converts or is refused with a message; a model that
//! imports exports (`to_network`, `interop::safetensors::write`) to a file that imports to the
//! same model bit for bit, and converts to an mlprobe model file that parses to it too.
use mlprobe::interop::safetensors::{ReadOptions, read, write};
use mlprobe::model_io::{from_bytes, from_network, to_bytes, to_network};

use super::common::same;

/// One execution of the `import` target.
pub fn run(bytes: &[u8]) {
    let Ok(net) = read(bytes, &ReadOptions::default()) else {
        return;
    };
    let Ok(model) = from_network(&net) else {
        return;
    };
    let exported = write(&to_network(&model)).expect("an imported model exports");
    let again = read(&exported, &ReadOptions::default()).expect("an exported model reads");
    assert!(again.notes.is_empty(), "{:?}", again.notes);
    let again = from_network(&again).expect("an exported model imports");
    same(&model, &again);
    let file = to_bytes(&model).expect("an imported model encodes");
    same(&model, &from_bytes(&file).expect("its model file parses"));
}
