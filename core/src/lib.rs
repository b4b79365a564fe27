//! # mlprobe-core
//!
//! The `no_std`, allocation-free heart of mlprobe: everything that must compute the same
//! numbers on a laptop, in CI and on a Cortex-M4 lives here, written once.
//!
//! - [`moments`]: streaming, mergeable mean and variance (shifted Welford / Chan et al.),
//!   accurate when the mean dwarfs the spread.
//! - [`transform`]: the feature transform of the seed notebook (`FeatureTransformer`): NaN fill,
//!   zero-std guard, transform-before-fit is an error, partial fits merge.
//! - [`mlp`]: the seed's `SimpleClassifier` (Linear → ReLU → Linear): forward, softmax, argmax;
//!   with the `train` feature (the host's; not the firmware's) also the backward pass, Adam,
//!   PyTorch's default initialisation and the batched `Trainer`.
//! - [`quant`]: int8 inference with TensorFlow Lite's arithmetic (Q31 multipliers, the reference
//!   kernels' rounding), one integer forward pass for the host and every device.
//! - [`model`]: the versioned, checksummed little-endian model file, parsed zero-copy.
//! - [`metrics`]: confusion matrix, accuracy, per-class and macro precision/recall/F1
//!   (scikit-learn semantics).
//! - [`sketch`]: fixed-memory, mergeable latency histogram (log-linear buckets, relative error
//!   ≤ 1/128), const-constructible for a `static`.
//! - [`expect`]: data-quality expectations with Great Expectations' names and semantics:
//!   streaming, mergeable per-column state, a bounded quantile sketch and a PSI drift check.
//! - [`validate`]: thresholds and regression against a baseline, with violations as data.
//! - [`abtest`]: A/B testing from counters: two-proportion z-test, sample size and power, SRM,
//!   Bonferroni/Holm/BH, mixture SPRT always-valid p-values, O'Brien–Fleming group-sequential.
//! - [`sequential`]: a sequential monitor over a stream of events (mSPRT or O'Brien–Fleming
//!   looks): feed events or counts, read continue / stop and which arm.
//! - [`bayes`]: Beta–Binomial A/B analysis, exact for every prior: P(B > A) and the expected
//!   losses as log-concave integrals (tiny tails direct), credible intervals, lift, the decision
//!   rule; [`quad`] integrates them.
//! - [`fisher`]: Fisher's exact test of a 2×2 table, one-sided (the hypergeometric tails,
//!   exact in log space), as scipy's `fisher_exact`.
//! - [`crc`]: CRC-32 used by the model file (and the device protocol).
//! - [`special`]: normal CDF/quantile, log-gamma/log-beta, regularized incomplete beta and its
//!   inverse, chi-square survival, on `libm`.
//! - [`load`]: open- and closed-model load generation without coordinated omission: due
//!   times, the drop rule and the tallies, behind a mock-able `Clock`.
//! - [`chaos`]: faults as data: weight bit flips (sign, exponent, mantissa; per layer), damaged
//!   input features, seeded coin flips for latency and failure injection, damaged link frames
//!   and the accounting of what a device answered to them.
//! - [`protocol`]: host↔device messages (postcard), COBS framing with a CRC, bounded sizes.
//! - [`server`]: the device side of the protocol over a model, a clock and a stack meter.
//!
//! Every size is either a const generic (on the device) or a caller-provided buffer (on the
//! host, for any dataset's dimensions): the same functions serve both.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Unit tests run on the host with the standard library (STYLE.md's pattern); the library
// itself is `no_std` and never allocates. Tests name the growable vector through this alias
// where a module also imports `heapless::Vec`.
#[cfg(test)]
type StdVec<T> = Vec<T>;

// The `std` feature (host builds) links the standard library for `f32::sqrt` only.
#[cfg(all(feature = "std", not(test)))]
extern crate std;

pub mod abtest;
pub mod bayes;
pub mod chaos;
pub mod crc;
pub mod expect;
pub mod fisher;
pub mod load;
pub mod means;
pub mod metrics;
pub mod mlp;
pub mod model;
pub mod moments;
pub mod paired;
pub mod protocol;
pub mod quad;
pub mod quant;
pub mod sequential;
pub mod server;
pub mod sketch;
pub mod special;
pub mod student;
pub mod transform;
pub mod validate;
