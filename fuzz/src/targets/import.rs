//! Model import (`mlprobe::model_io::from_safetensors`, the only import format): no panic on any
//! bytes; a model that imports exports (`to_safetensors`) to a file that imports to the same
//! model bit for bit, and converts to an mlprobe model file that parses to it too.
use mlprobe::model_io::{from_bytes, from_safetensors, to_bytes, to_safetensors};

use super::common::same;

/// One execution of the `import` target.
pub fn run(bytes: &[u8]) {
    let Ok((model, _notes)) = from_safetensors(bytes) else {
        return;
    };
    let exported = to_safetensors(&model).expect("an imported model exports");
    let (again, notes) = from_safetensors(&exported).expect("an exported model imports");
    assert!(notes.warnings.is_empty(), "{:?}", notes.warnings);
    same(&model, &again);
    let file = to_bytes(&model).expect("an imported model encodes");
    same(&model, &from_bytes(&file).expect("its model file parses"));
}
