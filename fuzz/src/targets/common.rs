//! Helpers shared by the fuzz targets: comparing models (`model`, `import`) and framing bodies
//! (`frame`, `server`).

use mlprobe::model_io::HostModel;
use mlprobe_core::crc::crc32;
use mlprobe_core::transform::Fill;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Asserts that two models hold the same dimensions, normaliser, weights (bit for bit) and names.
pub fn same(a: &HostModel, b: &HostModel) {
    assert_eq!(a.dims(), b.dims());
    assert_eq!(bits(a.norm.mean()), bits(b.norm.mean()));
    assert_eq!(bits(a.norm.std()), bits(b.norm.std()));
    assert_eq!(bits(a.mlp.params()), bits(b.mlp.params()));
    assert_eq!((&a.features, &a.classes), (&b.features, &b.classes));
    match (a.norm.fill(), b.norm.fill()) {
        (Fill::Mean, Fill::Mean) => {}
        (Fill::Value(x), Fill::Value(y)) => assert_eq!(x.to_bits(), y.to_bits()),
        (x, y) => panic!("fill {x:?} became {y:?}"),
    }
}

/// A body sent as a valid frame: body ‖ crc32 (LE), COBS, then the 0 delimiter.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut raw = body.to_vec();
    raw.extend_from_slice(&crc32(body).to_le_bytes());
    let mut out = vec![0u8; cobs::max_encoding_length(raw.len()) + 1];
    let n = cobs::encode(&raw, &mut out);
    out.truncate(n);
    out.push(0);
    out
}
