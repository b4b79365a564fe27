//! Helpers shared by the fuzz targets that compare models (`model`, `import`).

use mlprobe::model_io::HostModel;
use mlprobe_core::transform::Fill;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Asserts that two models hold the same dimensions, normaliser and weights, bit for bit.
pub fn same(a: &HostModel, b: &HostModel) {
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
