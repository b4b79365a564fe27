//! The model-file parser (`mlprobe_core::model::ModelFile::parse`) and the host's decoding of it
//! (`mlprobe::model_io::from_bytes`): no panic on any bytes; a file that parses runs one inference
//! and survives a write → parse round trip with every value bit for bit.
use mlprobe::model_io::{from_bytes, to_bytes};
use mlprobe_core::model::ModelFile;
use mlprobe_core::transform::Fill;

use super::common::same;

/// One execution of the `model` target.
pub fn run(bytes: &[u8]) {
    let parsed = ModelFile::parse(bytes);
    let host = from_bytes(bytes);
    assert_eq!(
        parsed.is_ok(),
        host.is_ok(),
        "core and host disagree: {host:?}"
    );
    let Ok(model) = host else { return };
    let file = parsed.unwrap();
    assert_eq!(file.dims(), model.dims());

    // One inference on a row of missing values and one on zeros: no panic, finite logits.
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    for x in [f32::NAN, 0.0] {
        let row = vec![x; d.inputs()];
        let logits = model
            .infer(&row, &mut scratch)
            .expect("inference on a parsed model");
        assert_eq!(logits.len(), d.outputs());
    }

    // Write → parse gives the same model; with a constant fill the bytes of a version 2 file
    // are the same too (with `Fill::Mean` the header's fill slot is ignored on reading, so it
    // may differ; a version 1 file is written as version 2).
    let written = to_bytes(&model).expect("a parsed model encodes");
    let again = from_bytes(&written).expect("an encoded model parses");
    same(&model, &again);
    if let (Fill::Value(_), 2) = (model.norm.fill(), file.version()) {
        assert_eq!(written, bytes);
    }
}
