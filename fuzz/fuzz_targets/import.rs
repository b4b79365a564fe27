//! Model import (`mlprobe::model_io::from_safetensors`, the only import format): no panic on any
//! bytes; a model that imports exports (`to_safetensors`) to a file that imports to the same
//! model bit for bit, and converts to an mlprobe model file that parses to it too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlprobe::model_io::{HostModel, from_bytes, from_safetensors, to_bytes, to_safetensors};
use mlprobe_core::transform::Fill;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn same(a: &HostModel, b: &HostModel) {
    assert_eq!(a.dims(), b.dims());
    assert_eq!(bits(a.norm.mean()), bits(b.norm.mean()));
    assert_eq!(bits(a.norm.std()), bits(b.norm.std()));
    assert_eq!(bits(a.mlp.params()), bits(b.mlp.params()));
    match (a.norm.fill(), b.norm.fill()) {
        (Fill::Mean, Fill::Mean) => {}
        (Fill::Value(x), Fill::Value(y)) => assert_eq!(x.to_bits(), y.to_bits()),
        (x, y) => panic!("fill {x:?} became {y:?}"),
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok((model, _notes)) = from_safetensors(bytes) else {
        return;
    };
    let exported = to_safetensors(&model).expect("an imported model exports");
    let (again, notes) = from_safetensors(&exported).expect("an exported model imports");
    assert!(notes.warnings.is_empty(), "{:?}", notes.warnings);
    same(&model, &again);
    let file = to_bytes(&model).expect("an imported model encodes");
    same(&model, &from_bytes(&file).expect("its model file parses"));
});
