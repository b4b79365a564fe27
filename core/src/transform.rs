//! The seed notebook's `FeatureTransformer`: standardisation with a missing-value policy.
//!
//! Two types split the job:
//! - [`FeatureTransformer`] fits: it streams rows through per-column [`Moments`] (shifted
//!   Welford), so a fit needs no copy of the data, and partial fits over chunks
//!   [`merge`](FeatureTransformer::merge).
//! - [`Standardizer`] applies the fitted mean and standard deviation; it is what a model file
//!   carries and what the device runs.
//!
//! Both are generic over their storage: `[f32; N]` on the device ([`Normalizer`]), `Vec<f32>`
//! or slices on the host, so one implementation serves any number of features.
//!
//! Semantics follow the seed (which follows `numpy.nan_to_num` then `numpy.std`):
//! - a missing value (`NaN`) is replaced before anything else, by a constant ([`Fill::Value`],
//!   the seed's `fill_na`, which then takes part in the fit) or by the column mean
//!   ([`Fill::Mean`]: missing values are left out of the fit and standardise to 0);
//! - `+inf`/`-inf` become `f32::MAX`/`f32::MIN`, as `nan_to_num` does;
//! - the standard deviation is the population one (`ddof = 0`); a zero (or non-finite) standard
//!   deviation is replaced by 1 so that constant columns pass through centred, never `inf`.

use crate::moments::Moments;
use core::fmt;

/// How a missing value (`NaN`) is replaced.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Fill {
    /// Replace by this constant before fitting and transforming (the seed's `fill_na`).
    Value(f32),
    /// Leave missing values out of the fit; replace them by the column mean (so they
    /// standardise to exactly 0).
    Mean,
}

/// Errors of the feature transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TransformError {
    /// The transformer must be fitted before transform.
    NotFitted,
    /// A row or buffer has the wrong number of features.
    DimensionMismatch {
        /// Features the transformer was built for.
        expected: usize,
        /// Features given.
        found: usize,
    },
    /// A mean is not finite or a standard deviation is not finite and positive.
    InvalidParameters {
        /// The offending feature.
        feature: usize,
    },
    /// The fill value for missing cells is `NaN` or infinite: every filled row would be
    /// non-finite.
    NonFiniteFill,
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFitted => f.write_str("the transformer must be fitted before transform"),
            Self::DimensionMismatch { expected, found } => {
                write!(f, "expected {expected} features, found {found}")
            }
            Self::InvalidParameters { feature } => write!(
                f,
                "feature {feature}: the mean must be finite and the standard deviation finite and positive"
            ),
            Self::NonFiniteFill => {
                f.write_str("the fill value for missing cells must be a finite number")
            }
        }
    }
}

impl core::error::Error for TransformError {}

/// Replaces infinities as `numpy.nan_to_num` does. `NaN` is handled by the [`Fill`] policy.
#[inline(always)]
fn clamp_inf(x: f32) -> f32 {
    if x == f32::INFINITY {
        f32::MAX
    } else if x == f32::NEG_INFINITY {
        f32::MIN
    } else {
        x
    }
}

/// True when no value is `NaN` or infinite (and a little more often false: when the finite
/// values' sum overflows). One addition per value and one test per row, where checking each
/// value costs a test and a branch: a row that passes needs no `clean`.
/// A non-finite value makes the sum non-finite, and it stays so: `NaN` absorbs everything,
/// `±inf` plus a finite value is `±inf`, and `inf + -inf` is `NaN`.
#[inline(always)]
fn all_finite(x: &[f32]) -> bool {
    // With an FPU, a sum: starting from -0.0, the first addition is exact (`-0.0 + v == v`)
    // and folds away. A finite sum means finite values; an overflowing sum of finite values
    // only sends the row down the cleaning path, which is the identity on them.
    #[cfg(not(all(target_arch = "arm", not(target_abi = "eabihf"))))]
    return x.iter().fold(-0.0f32, |sum, &v| sum + v).is_finite();
    // In soft-float (the Cortex-M0) every float addition is a call of about 100 instructions:
    // the exponent bits instead, integer work.
    #[cfg(all(target_arch = "arm", not(target_abi = "eabihf")))]
    return x.iter().all(|v| v.to_bits() & 0x7f80_0000 != 0x7f80_0000);
}

/// Fitted standardisation parameters: `(x - mean) / std` with the missing-value policy.
///
/// ```
/// use mlprobe_core::transform::{Fill, Standardizer};
/// let s = Standardizer::new([1.0f32, 10.0], [2.0f32, 5.0], Fill::Mean).unwrap();
/// let mut out = [0.0; 2];
/// s.transform(&[3.0, f32::NAN], &mut out).unwrap();
/// assert_eq!(out, [1.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardizer<F> {
    mean: F,
    std: F,
    fill: Fill,
}

impl<const N: usize> Standardizer<[f32; N]> {
    /// Fixed-size parameters, checked at compile time when used in a `const` or `static` (the
    /// firmware's compiled-in model): the same checks as [`Standardizer::new`], as panics.
    pub const fn from_array(mean: [f32; N], std: [f32; N], fill: Fill) -> Self {
        let mut i = 0;
        while i < N {
            assert!(
                mean[i].is_finite() && std[i].is_finite() && std[i] > 0.0,
                "means must be finite and standard deviations finite and positive"
            );
            i += 1;
        }
        if let Fill::Value(v) = fill {
            assert!(v.is_finite(), "the fill value must be a finite number");
        }
        Self { mean, std, fill }
    }
}

impl<F: AsRef<[f32]>> Standardizer<F> {
    /// Checks and wraps fitted parameters: equal lengths, finite means, finite positive
    /// standard deviations, a finite fill value.
    pub fn new(mean: F, std: F, fill: Fill) -> Result<Self, TransformError> {
        let (m, s) = (mean.as_ref(), std.as_ref());
        if m.len() != s.len() {
            return Err(TransformError::DimensionMismatch {
                expected: m.len(),
                found: s.len(),
            });
        }
        for (feature, (&mu, &sd)) in m.iter().zip(s).enumerate() {
            if !mu.is_finite() || !sd.is_finite() || sd <= 0.0 {
                return Err(TransformError::InvalidParameters { feature });
            }
        }
        if let Fill::Value(v) = fill
            && !v.is_finite()
        {
            return Err(TransformError::NonFiniteFill);
        }
        Ok(Self { mean, std, fill })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.mean.as_ref().len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per-feature means.
    pub fn mean(&self) -> &[f32] {
        self.mean.as_ref()
    }

    /// Per-feature standard deviations (never zero).
    pub fn std(&self) -> &[f32] {
        self.std.as_ref()
    }

    /// The missing-value policy.
    pub fn fill(&self) -> Fill {
        self.fill
    }

    /// A borrowed view of these parameters.
    pub fn as_view(&self) -> Standardizer<&[f32]> {
        Standardizer {
            mean: self.mean.as_ref(),
            std: self.std.as_ref(),
            fill: self.fill,
        }
    }

    /// The value to standardise: `v` itself when finite, else the fill for `NaN` and
    /// `±f32::MAX` for `±inf`. Only rows that fail [`all_finite`] go through it.
    #[inline(always)]
    fn clean(&self, v: f32, mean: f32) -> f32 {
        if v.abs() <= f32::MAX {
            v
        } else if v.is_nan() {
            match self.fill {
                Fill::Value(c) => c,
                Fill::Mean => mean,
            }
        } else {
            clamp_inf(v)
        }
    }

    /// Standardises one row into `out`.
    #[inline]
    pub fn transform(&self, x: &[f32], out: &mut [f32]) -> Result<(), TransformError> {
        let n = self.len();
        if x.len() != n || out.len() != n {
            let found = if x.len() != n { x.len() } else { out.len() };
            return Err(TransformError::DimensionMismatch { expected: n, found });
        }
        if all_finite(x) {
            // `clean` is the identity on finite values.
            out.copy_from_slice(x);
        } else {
            for ((o, &v), &mu) in out.iter_mut().zip(x).zip(self.mean()) {
                *o = self.clean(v, mu);
            }
        }
        self.standardize(out);
        Ok(())
    }

    /// Standardises one row in place.
    pub fn transform_in_place(&self, x: &mut [f32]) -> Result<(), TransformError> {
        let n = self.len();
        if x.len() != n {
            return Err(TransformError::DimensionMismatch {
                expected: n,
                found: x.len(),
            });
        }
        if !all_finite(x) {
            for (v, &mu) in x.iter_mut().zip(self.mean()) {
                *v = self.clean(*v, mu);
            }
        }
        self.standardize(x);
        Ok(())
    }

    /// `(v - mean) / std` in place, over values already cleaned. Both paths of
    /// [`transform`](Self::transform) end here, so the arithmetic exists once: the two paths
    /// join on the cleaned values rather than on the results.
    #[inline(always)]
    fn standardize(&self, x: &mut [f32]) {
        for ((v, &mu), &sd) in x.iter_mut().zip(self.mean()).zip(self.std()) {
            *v = (*v - mu) / sd;
        }
    }
}

/// Streaming fit of a [`Standardizer`]: the seed's `FeatureTransformer`.
///
/// `M` stores one [`Moments`] per feature and `F` the fitted means and standard deviations:
/// arrays on the device ([`Normalizer`]), vectors on the host ([`FeatureTransformer::with_storage`]).
///
/// ```
/// use mlprobe_core::transform::{Fill, Normalizer};
/// let mut t = Normalizer::<2>::new(Fill::Value(0.0));
/// let mut out = [0.0; 2];
/// assert!(t.transform(&[1.0, 2.0], &mut out).is_err()); // not fitted yet
/// for row in [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]] { t.partial_fit(&row).unwrap(); }
/// t.transform(&[3.0, 4.0], &mut out).unwrap();
/// assert_eq!(out, [0.0, 0.0]);
/// ```
#[derive(Clone, Debug)]
pub struct FeatureTransformer<M, F> {
    moments: M,
    params: Standardizer<F>,
    rows: u64,
}

/// A fixed-size feature transformer for `N` features, usable in a `static`.
pub type Normalizer<const N: usize> = FeatureTransformer<[Moments; N], [f32; N]>;

impl<const N: usize> Normalizer<N> {
    /// An unfitted transformer.
    pub const fn new(fill: Fill) -> Self {
        Self {
            moments: [Moments::new(); N],
            params: Standardizer {
                mean: [0.0; N],
                std: [1.0; N],
                fill,
            },
            rows: 0,
        }
    }
}

impl<M, F> FeatureTransformer<M, F>
where
    M: AsRef<[Moments]> + AsMut<[Moments]>,
    F: AsRef<[f32]> + AsMut<[f32]>,
{
    /// An unfitted transformer over caller-provided storage (all three of the same length).
    /// The storage's previous contents are reset.
    pub fn with_storage(
        mut moments: M,
        mut mean: F,
        mut std: F,
        fill: Fill,
    ) -> Result<Self, TransformError> {
        let n = moments.as_ref().len();
        for len in [mean.as_ref().len(), std.as_ref().len()] {
            if len != n {
                return Err(TransformError::DimensionMismatch {
                    expected: n,
                    found: len,
                });
            }
        }
        moments.as_mut().fill(Moments::new());
        mean.as_mut().fill(0.0);
        std.as_mut().fill(1.0);
        Ok(Self {
            moments,
            params: Standardizer { mean, std, fill },
            rows: 0,
        })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.moments.as_ref().len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once at least one row has been fitted.
    pub fn is_fitted(&self) -> bool {
        self.rows > 0
    }

    /// Rows fitted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Per-feature moments of the values seen (after filling and clamping).
    pub fn moments(&self) -> &[Moments] {
        self.moments.as_ref()
    }

    /// Adds one row to the fit; the parameters are updated at once.
    pub fn partial_fit(&mut self, row: &[f32]) -> Result<(), TransformError> {
        let n = self.len();
        if row.len() != n {
            return Err(TransformError::DimensionMismatch {
                expected: n,
                found: row.len(),
            });
        }
        let fill = self.params.fill;
        for (m, &v) in self.moments.as_mut().iter_mut().zip(row) {
            if v.is_nan() {
                match fill {
                    Fill::Value(c) => m.push(f64::from(c)),
                    Fill::Mean => {}
                }
            } else {
                m.push(f64::from(clamp_inf(v)));
            }
        }
        self.rows += 1;
        self.refresh();
        Ok(())
    }

    /// Forgets everything fitted so far.
    pub fn reset(&mut self) {
        self.moments.as_mut().fill(Moments::new());
        self.params.mean.as_mut().fill(0.0);
        self.params.std.as_mut().fill(1.0);
        self.rows = 0;
    }

    /// Fits on rows (forgetting any earlier fit), as the seed's `fit`.
    pub fn fit<'r>(
        &mut self,
        rows: impl IntoIterator<Item = &'r [f32]>,
    ) -> Result<(), TransformError> {
        self.reset();
        let fill = self.params.fill;
        let n = self.len();
        for row in rows {
            if row.len() != n {
                return Err(TransformError::DimensionMismatch {
                    expected: n,
                    found: row.len(),
                });
            }
            for (m, &v) in self.moments.as_mut().iter_mut().zip(row) {
                if v.is_nan() {
                    if let Fill::Value(c) = fill {
                        m.push(f64::from(c));
                    }
                } else {
                    m.push(f64::from(clamp_inf(v)));
                }
            }
            self.rows += 1;
        }
        self.refresh();
        Ok(())
    }

    /// Merges another partial fit over the same features (and the same fill policy) into this
    /// one: the result equals one fit over both inputs.
    pub fn merge<M2, F2>(
        &mut self,
        other: &FeatureTransformer<M2, F2>,
    ) -> Result<(), TransformError>
    where
        M2: AsRef<[Moments]>,
        F2: AsRef<[f32]>,
    {
        let theirs = other.moments.as_ref();
        if theirs.len() != self.len() {
            return Err(TransformError::DimensionMismatch {
                expected: self.len(),
                found: theirs.len(),
            });
        }
        for (m, o) in self.moments.as_mut().iter_mut().zip(theirs) {
            m.merge(o);
        }
        self.rows += other.rows;
        self.refresh();
        Ok(())
    }

    fn refresh(&mut self) {
        let Standardizer { mean, std, .. } = &mut self.params;
        for ((m, mu), sd) in self
            .moments
            .as_ref()
            .iter()
            .zip(mean.as_mut())
            .zip(std.as_mut())
        {
            *mu = m.mean() as f32;
            let s = m.population_std() as f32;
            // Zero-std guard (the seed's `std_[std_ == 0] = 1.0`), extended to non-finite values.
            *sd = if s > 0.0 && s.is_finite() { s } else { 1.0 };
        }
    }

    /// The fitted parameters, or [`TransformError::NotFitted`].
    pub fn params(&self) -> Result<&Standardizer<F>, TransformError> {
        if self.is_fitted() {
            Ok(&self.params)
        } else {
            Err(TransformError::NotFitted)
        }
    }

    /// Standardises one row (an error before any fit).
    pub fn transform(&self, x: &[f32], out: &mut [f32]) -> Result<(), TransformError> {
        self.params()?.transform(x, out)
    }

    /// Gives the fitted parameters away (for a model file), or [`TransformError::NotFitted`].
    pub fn into_params(self) -> Result<Standardizer<F>, TransformError> {
        if self.is_fitted() {
            Ok(self.params)
        } else {
            Err(TransformError::NotFitted)
        }
    }
}

#[cfg(test)]
mod tests {
    //! Rust counterparts of the seed's `TestFeatureTransformer`.
    use super::*;

    const X_TRAIN: [[f32; 2]; 3] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];

    fn fitted() -> Normalizer<2> {
        let mut t = Normalizer::<2>::new(Fill::Value(0.0));
        t.fit(X_TRAIN.iter().map(|r| &r[..])).unwrap();
        t
    }

    #[test]
    fn fit_sets_parameters() {
        let t = fitted();
        // numpy: np.mean(X_train, axis=0) = [3, 4]; np.std(X_train, axis=0) = sqrt(8/3).
        let p = t.params().unwrap();
        assert_eq!(p.mean(), &[3.0, 4.0]);
        let expected_std = (8.0f64 / 3.0).sqrt() as f32;
        assert_eq!(p.std(), &[expected_std, expected_std]);
        assert!(t.is_fitted());
    }

    #[test]
    fn transform_normalizes_data() {
        let t = fitted();
        let mut sum = [0.0f32; 2];
        let mut sq = [0.0f32; 2];
        for row in &X_TRAIN {
            let mut out = [0.0; 2];
            t.transform(row, &mut out).unwrap();
            for j in 0..2 {
                sum[j] += out[j];
                sq[j] += out[j] * out[j];
            }
        }
        for j in 0..2 {
            assert!((sum[j] / 3.0).abs() < 1e-5, "mean ~0");
            assert!((sq[j] / 3.0 - 1.0).abs() < 1e-5, "std ~1");
        }
    }

    #[test]
    fn transform_before_fit_raises_error() {
        let t = Normalizer::<2>::new(Fill::Value(0.0));
        let mut out = [0.0; 2];
        assert_eq!(
            t.transform(&[1.0, 2.0], &mut out),
            Err(TransformError::NotFitted)
        );
        assert!(t.params().is_err());
    }

    #[test]
    fn handles_nan_values() {
        let x = [[1.0, f32::NAN], [3.0, 4.0], [5.0, 6.0]];
        let mut t = Normalizer::<2>::new(Fill::Value(-999.0));
        t.fit(x.iter().map(|r| &r[..])).unwrap();
        // The seed fills before fitting: column 1 is [-999, 4, 6].
        let p = t.params().unwrap();
        assert!((f64::from(p.mean()[1]) - (-989.0 / 3.0)).abs() < 1e-3);
        for row in &x {
            let mut out = [0.0; 2];
            t.transform(row, &mut out).unwrap();
            assert!(out.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn mean_fill_leaves_missing_out_of_the_fit() {
        let x = [[1.0, f32::NAN], [3.0, 4.0], [5.0, 6.0]];
        let mut t = Normalizer::<2>::new(Fill::Mean);
        t.fit(x.iter().map(|r| &r[..])).unwrap();
        assert_eq!(t.params().unwrap().mean()[1], 5.0);
        let mut out = [0.0; 2];
        t.transform(&x[0], &mut out).unwrap();
        assert_eq!(out[1], 0.0);
    }

    #[test]
    fn infinities_are_clamped_like_nan_to_num() {
        let t = fitted();
        let mut out = [0.0; 2];
        t.transform(&[f32::INFINITY, f32::NEG_INFINITY], &mut out)
            .unwrap();
        assert!(out[0].is_finite() && out[0] > 0.0);
        assert!(out[1].is_finite() && out[1] < 0.0);
    }

    #[test]
    fn zero_std_handling() {
        let x = [[1.0, 5.0], [1.0, 5.0], [1.0, 5.0]];
        let mut t = Normalizer::<2>::new(Fill::Value(0.0));
        t.fit(x.iter().map(|r| &r[..])).unwrap();
        assert_eq!(t.params().unwrap().std(), &[1.0, 1.0]);
        let mut out = [9.0; 2];
        t.transform(&x[0], &mut out).unwrap();
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn partial_fits_merge_into_the_full_fit() {
        let rows: [[f32; 3]; 6] = [
            [1.0, 0.5, 9.0],
            [2.0, f32::NAN, 8.0],
            [4.0, 1.5, 7.5],
            [8.0, 2.5, 7.0],
            [16.0, 0.0, 1.0],
            [3.0, 3.0, 3.0],
        ];
        let mut whole = Normalizer::<3>::new(Fill::Mean);
        whole.fit(rows.iter().map(|r| &r[..])).unwrap();
        for cut in 0..=rows.len() {
            let mut a = Normalizer::<3>::new(Fill::Mean);
            let mut b = Normalizer::<3>::new(Fill::Mean);
            rows[..cut].iter().for_each(|r| a.partial_fit(r).unwrap());
            rows[cut..].iter().for_each(|r| b.partial_fit(r).unwrap());
            a.merge(&b).unwrap();
            assert_eq!(a.rows(), 6);
            let (pa, pw) = (a.params().unwrap(), whole.params().unwrap());
            for j in 0..3 {
                assert!((pa.mean()[j] - pw.mean()[j]).abs() <= 1e-6 * pw.mean()[j].abs().max(1.0));
                assert!((pa.std()[j] - pw.std()[j]).abs() <= 1e-6 * pw.std()[j]);
            }
        }
    }

    #[test]
    fn dimension_mismatch_is_an_error() {
        let t = fitted();
        let mut out = [0.0; 2];
        assert_eq!(
            t.transform(&[1.0, 2.0, 3.0], &mut out),
            Err(TransformError::DimensionMismatch {
                expected: 2,
                found: 3
            })
        );
        let mut t3 = Normalizer::<2>::new(Fill::Mean);
        assert!(t3.partial_fit(&[1.0]).is_err());
    }

    /// `(clean(v) - mean) / std` per value, the definition both paths of `transform` follow.
    fn reference(s: &Standardizer<[f32; 3]>, x: &[f32; 3]) -> [u32; 3] {
        core::array::from_fn(|j| {
            let (v, mu, sd) = (x[j], s.mean()[j], s.std()[j]);
            let c = if v.is_nan() {
                match s.fill() {
                    Fill::Value(c) => c,
                    Fill::Mean => mu,
                }
            } else if v == f32::INFINITY {
                f32::MAX
            } else if v == f32::NEG_INFINITY {
                f32::MIN
            } else {
                v
            };
            ((c - mu) / sd).to_bits()
        })
    }

    #[test]
    fn rows_with_non_finite_values_take_the_cleaning_path() {
        let rows: [[f32; 3]; 10] = [
            [1.5, -2.0, 0.25],
            [f32::NAN, -2.0, 0.25],
            [1.5, f32::INFINITY, 0.25],
            [1.5, -2.0, f32::NEG_INFINITY],
            [f32::INFINITY, f32::NEG_INFINITY, 3.0],
            [f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
            // Finite values whose sum overflows: the check fails, the slow path agrees.
            [f32::MAX, f32::MAX, 1.0],
            [f32::MIN, -1.0, f32::MIN],
            // Finite values whose standardised value overflows.
            [f32::MAX, 0.0, -0.0],
            [-0.0, f32::MIN_POSITIVE, -f32::MIN_POSITIVE],
        ];
        for fill in [Fill::Mean, Fill::Value(-7.5)] {
            let s = Standardizer::new([0.5f32, -1.0, 2.0], [0.25f32, 3.0, 0.5], fill).unwrap();
            for row in &rows {
                let mut out = [0.0; 3];
                s.transform(row, &mut out).unwrap();
                assert_eq!(
                    out.map(f32::to_bits),
                    reference(&s, row),
                    "{row:?} {fill:?}"
                );
                let mut in_place = *row;
                s.transform_in_place(&mut in_place).unwrap();
                assert_eq!(in_place.map(f32::to_bits), reference(&s, row), "{row:?}");
            }
        }
    }

    #[test]
    fn standardizer_rejects_bad_parameters() {
        assert!(Standardizer::new([0.0f32], [0.0f32], Fill::Mean).is_err());
        assert!(Standardizer::new([f32::NAN], [1.0f32], Fill::Mean).is_err());
        assert!(Standardizer::new(&[0.0f32, 1.0][..], &[1.0f32][..], Fill::Mean).is_err());
    }

    /// Issue 15: a fill of `inf` (or `NaN`) turns every missing cell into a non-finite feature.
    #[test]
    fn standardizer_rejects_a_non_finite_fill() {
        for v in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            assert_eq!(
                Standardizer::new([0.0f32], [1.0f32], Fill::Value(v)),
                Err(TransformError::NonFiniteFill),
                "{v}"
            );
        }
        assert!(Standardizer::new([0.0f32], [1.0f32], Fill::Value(f32::MAX)).is_ok());
    }
}
