//! Faults that models meet, as data: bit flips in the weights (single-event upsets), damaged
//! input features, the seeded coin flips of latency and failure injection, and damaged frames
//! on a device link with their accounting ([`link`]). `mlprobe chaos` applies them; this module decides *what* is damaged, from any `rand_core` RNG, so a run is
//! reproducible for a seed on any machine.
//!
//! Bits of an IEEE-754 `f32`: bit 31 is the sign, bits 30–23 the exponent, 22–0 the mantissa.
//! A flipped high exponent bit turns a weight of 0.1 into about 3·10³⁷, which is why exponent
//! upsets dominate the damage; a mantissa flip changes a weight by at most a factor of two.
//!
//! ```
//! use mlprobe_core::chaos::{flip_bit, BitClass};
//! let mut w = [0.5f32, -0.25];
//! flip_bit(&mut w, 0, 31).unwrap(); // the sign
//! assert_eq!(w[0], -0.5);
//! flip_bit(&mut w, 1, 30).unwrap(); // the top exponent bit
//! assert!(w[1].abs() > 1e37);
//! assert_eq!(BitClass::Exponent.bits(), 23..31);
//! ```

use crate::mlp::Dims;
use core::ops::Range;
use rand_core::Rng;

pub mod link;

/// Which bits of a weight a flip may hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitClass {
    /// Any of the 32 bits.
    Any,
    /// Bit 31.
    Sign,
    /// Bits 30–23.
    Exponent,
    /// Bits 22–0.
    Mantissa,
}

impl BitClass {
    /// The bit positions of the class.
    pub const fn bits(self) -> Range<u32> {
        match self {
            BitClass::Any => 0..32,
            BitClass::Sign => 31..32,
            BitClass::Exponent => 23..31,
            BitClass::Mantissa => 0..23,
        }
    }

    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            BitClass::Any => "any",
            BitClass::Sign => "sign",
            BitClass::Exponent => "exponent",
            BitClass::Mantissa => "mantissa",
        }
    }
}

/// A parameter tensor of the network, in the flat PyTorch `state_dict` layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// Every parameter.
    All,
    /// The weights of dense layer `k` (from 0): `fc{k+1}.weight`.
    Weight(u8),
    /// The bias of dense layer `k` (from 0): `fc{k+1}.bias`.
    Bias(u8),
}

impl Layer {
    /// Every tensor of a network of `dims`, in buffer order: `fc1.weight`, `fc1.bias`, …
    pub fn tensors(dims: &Dims) -> impl Iterator<Item = Layer> + use<> {
        (0..dims.layers() as u8).flat_map(|k| [Layer::Weight(k), Layer::Bias(k)])
    }

    /// Its range in the flat parameter buffer of a network of `dims` (empty for a layer the
    /// network does not have).
    pub const fn range(self, dims: &Dims) -> Range<usize> {
        match self {
            Layer::All => 0..dims.param_count(),
            Layer::Weight(k) | Layer::Bias(k) if k as usize >= dims.layers() => 0..0,
            Layer::Weight(k) => {
                let at = dims.layer_offset(k as usize);
                at..at + dims.width(k as usize) * dims.width(k as usize + 1)
            }
            Layer::Bias(k) => {
                let end = dims.layer_offset(k as usize + 1);
                end - dims.width(k as usize + 1)..end
            }
        }
    }
}

impl core::fmt::Display for Layer {
    /// The PyTorch name: `fc1.weight`, `fc2.bias`, …; `all` for [`Layer::All`].
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Layer::All => f.write_str("all"),
            Layer::Weight(k) => write!(f, "fc{}.weight", u16::from(*k) + 1),
            Layer::Bias(k) => write!(f, "fc{}.bias", u16::from(*k) + 1),
        }
    }
}

/// A flip that would leave the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange;

/// Flips bit `bit` (0 = least significant mantissa bit, 31 = sign) of `params[index]`.
pub fn flip_bit(params: &mut [f32], index: usize, bit: u32) -> Result<(), OutOfRange> {
    let p = params.get_mut(index).ok_or(OutOfRange)?;
    if bit >= 32 {
        return Err(OutOfRange);
    }
    *p = f32::from_bits(p.to_bits() ^ (1 << bit));
    Ok(())
}

/// A uniform index below `n` (Lemire's multiply-shift; bias below 2⁻³² · n, negligible here).
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// A uniform value in `[0, 1)` with 53 random bits.
pub fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// `true` with probability `p` (the seed's `np.random.random() < p`).
pub fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    unit(rng) < p
}

/// A standard normal value (Box–Muller).
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]: the log is finite
    let u2 = unit(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(core::f64::consts::TAU * u2)
}

/// The number of flips for a bit-error rate over `bits` bits: `ber · bits` rounded up or down
/// at random so that its expectation is exact (stochastic rounding). Sweeps over small rates
/// then degrade smoothly instead of in steps of one flip.
pub fn flips_for_ber<R: Rng + ?Sized>(rng: &mut R, bits: u64, ber: f64) -> u64 {
    let x = (ber.clamp(0.0, 1.0) * bits as f64).max(0.0);
    let whole = libm::floor(x);
    whole as u64 + u64::from(chance(rng, x - whole))
}

/// Flips `count` random bits of class `class` in `params[region]` (positions drawn with
/// replacement, so two flips of one bit cancel, as two upsets of one cell would). Returns the
/// number of flips made (0 when the region is empty).
pub fn inject<R: Rng + ?Sized>(
    params: &mut [f32],
    region: Range<usize>,
    class: BitClass,
    count: u64,
    rng: &mut R,
) -> u64 {
    let Some(slice) = params.get_mut(region) else {
        return 0;
    };
    if slice.is_empty() {
        return 0;
    }
    let bits = class.bits();
    let width = u64::from(bits.end - bits.start);
    for _ in 0..count {
        let i = below(rng, slice.len() as u64) as usize;
        let b = bits.start + below(rng, width) as u32;
        // In range by construction.
        let _ = flip_bit(slice, i, b);
    }
    count
}

/// A damaged input feature.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputFault {
    /// The value is missing (`NaN`).
    Nan,
    /// `+∞` (an overflowed sensor reading).
    PosInf,
    /// `−∞`.
    NegInf,
    /// The sensor is stuck at a constant raw value.
    StuckAt(f32),
    /// Gaussian noise of `sigma` standard deviations of the feature is added.
    Noise(f32),
    /// The value is `scale` standard deviations from the feature's mean (plausible type,
    /// implausible value).
    OutOfRange(f32),
}

impl InputFault {
    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            InputFault::Nan => "nan",
            InputFault::PosInf => "+inf",
            InputFault::NegInf => "-inf",
            InputFault::StuckAt(_) => "stuck-at",
            InputFault::Noise(_) => "noise",
            InputFault::OutOfRange(_) => "out-of-range",
        }
    }

    /// The damaged value of a feature with raw value `x`, mean `mean` and standard deviation
    /// `std` (the model's normalizer).
    pub fn apply<R: Rng + ?Sized>(self, x: f32, mean: f32, std: f32, rng: &mut R) -> f32 {
        match self {
            InputFault::Nan => f32::NAN,
            InputFault::PosInf => f32::INFINITY,
            InputFault::NegInf => f32::NEG_INFINITY,
            InputFault::StuckAt(v) => v,
            InputFault::Noise(sigma) => x + sigma * std * normal(rng) as f32,
            InputFault::OutOfRange(scale) => mean + scale * std,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn flips_toggle_exactly_one_bit_and_twice_restore() {
        let mut w = [1.0f32, 2.0, 3.0];
        for bit in 0..32 {
            flip_bit(&mut w, 1, bit).unwrap();
            assert_eq!((w[1].to_bits() ^ 2.0f32.to_bits()).count_ones(), 1);
            flip_bit(&mut w, 1, bit).unwrap();
            assert_eq!(w[1], 2.0);
        }
        assert_eq!(flip_bit(&mut w, 3, 0), Err(OutOfRange));
        assert_eq!(flip_bit(&mut w, 0, 32), Err(OutOfRange));
    }

    #[test]
    fn inject_stays_in_its_region_and_class() {
        let dims = Dims::new(3, 4, 2).unwrap();
        let n = dims.param_count();
        assert_eq!(Layer::All.range(&dims), 0..n);
        assert_eq!(Layer::Bias(1).range(&dims).end, n);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for class in [BitClass::Sign, BitClass::Exponent, BitClass::Mantissa] {
            let clean = [0.75f32; 26];
            let mut p = clean;
            let region = Layer::Weight(1).range(&dims);
            inject(&mut p, region.clone(), class, 1, &mut rng);
            let changed: crate::StdVec<_> = (0..n).filter(|&i| p[i] != clean[i]).collect();
            assert_eq!(changed.len(), 1);
            assert!(region.contains(&changed[0]));
            let diff = p[changed[0]].to_bits() ^ clean[0].to_bits();
            assert!(class.bits().contains(&diff.trailing_zeros()));
        }
    }

    #[test]
    fn tensors_of_a_deep_network_tile_its_parameters_in_order() {
        let dims = Dims::deep(3, &[5, 4], 2).unwrap();
        let tensors: crate::StdVec<Layer> = Layer::tensors(&dims).collect();
        assert_eq!(tensors.len(), 6);
        // Consecutive, covering every parameter: 15 + 5, 20 + 4, 8 + 2.
        let mut at = 0;
        for (t, len) in tensors.iter().zip([15, 5, 20, 4, 8, 2]) {
            assert_eq!(t.range(&dims), at..at + len, "{t}");
            at += len;
        }
        assert_eq!(at, dims.param_count());
        assert_eq!(tensors[4].to_string(), "fc3.weight");
        assert_eq!(Layer::All.to_string(), "all");
        assert_eq!(Layer::Weight(3).range(&dims), 0..0);
    }

    #[test]
    fn stochastic_rounding_is_unbiased() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let total: u64 = (0..10_000)
            .map(|_| flips_for_ber(&mut rng, 1000, 0.00025))
            .sum();
        // 0.25 flips on average.
        assert!((2300..2700).contains(&total), "{total}");
        let mean = (0..10_000).map(|_| normal(&mut rng)).sum::<f64>() / 1e4;
        assert!(mean.abs() < 0.05);
    }

    #[test]
    fn input_faults() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!(InputFault::Nan.apply(1.0, 0.0, 1.0, &mut rng).is_nan());
        assert_eq!(
            InputFault::NegInf.apply(1.0, 0.0, 1.0, &mut rng),
            f32::NEG_INFINITY
        );
        assert_eq!(InputFault::StuckAt(0.0).apply(5.0, 0.0, 1.0, &mut rng), 0.0);
        assert_eq!(
            InputFault::OutOfRange(10.0).apply(5.0, 2.0, 0.5, &mut rng),
            7.0
        );
        assert_ne!(InputFault::Noise(1.0).apply(5.0, 2.0, 0.5, &mut rng), 5.0);
    }
}
