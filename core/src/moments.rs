//! Streaming, mergeable mean and variance that stay accurate when the mean dwarfs the spread.
//!
//! Welford's update (B. P. Welford, "Note on a method for calculating corrected sums of squares
//! and products", Technometrics 4(3), 1962) for one value at a time, and the pairwise merge of
//! Chan, Golub and LeVeque ("Updating formulae and a pairwise algorithm for computing sample
//! variances", 1979) so that partial fits over chunks, threads or devices combine into exactly
//! the statistics of the whole stream (up to rounding).
//!
//! **Shifted data.** Plain Welford keeps the running mean itself, rounded to the precision of
//! its magnitude. With epoch timestamps (mean 1.7e9, half a unit in the last place 1.2e-7) and
//! a standard deviation of 1.7e-3 (mean/sd = 1e12), that rounding is 1e-4 of the spread at
//! every update, and the standard deviation came out about 1e-5 wrong (1e-9 at mean/sd = 1e8).
//! So the state keeps a *shift* `K`, the first finite value seen, and runs Welford on `x − K`:
//! that difference is exact (Sterbenz) whenever `x` is within a factor two of `K`, and the
//! running mean of the differences is of the order of the spread, so its rounding is too. This
//! is the shifted algorithm of Chan, Golub and LeVeque ("Algorithms for computing the sample
//! variance: analysis and recommendations", The American Statistician 37(3), 1983): with a
//! data value as the shift, the condition number is at most `√(1 + n)` (about `√2` for a
//! typical first value) instead of `√(1 + mean²/σ²)`. The merge takes the other state's
//! mean relative to this state's shift as `(K_b − K_a) + (m_b − m_a)`; the first difference
//! is exact for shifts of one scale. Tests below check the variance against Python's exact
//! `statistics` module to 1e-13 relative up to mean/sd = 1e14, whole and merged
//! (`tests/reference/moments.py`).
//!
//! Accumulators are `f64` even when data is `f32`: the cost is small and long streams keep
//! their precision.

mod wire;

/// Count, mean and sum of squared deviations of a stream of values.
///
/// ```
/// use mlprobe_core::moments::Moments;
/// let mut a = Moments::new();
/// for x in [1.0, 3.0, 5.0] { a.push(x); }
/// assert_eq!(a.mean(), 3.0);
/// assert!((a.population_variance() - 8.0 / 3.0).abs() < 1e-12);
/// ```
///
/// Two states of the same values compare equal only if they also took the same shift (the
/// first finite value); compare [`Moments::mean`] and the variances to compare statistics.
///
/// Serializable (serde), so that the states of parts computed on other machines can be merged;
/// deserializing rejects a state no stream gives.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Moments {
    count: u64,
    /// `K`: the first finite value seen (0 until then); every update works on `x − K`.
    shift: f64,
    /// Mean of `x − K`.
    mean: f64,
    /// Sum of squared deviations from the mean (independent of `K`).
    m2: f64,
}

impl Moments {
    /// No values seen.
    pub const fn new() -> Self {
        Self {
            count: 0,
            shift: 0.0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Adds one value (Welford's update on `x − K`).
    #[inline]
    pub fn push(&mut self, x: f64) {
        if self.count == 0 && x.is_finite() {
            self.shift = x;
        }
        let d = x - self.shift;
        self.count += 1;
        if d.is_infinite() || self.mean.is_infinite() {
            self.push_infinite(d);
            return;
        }
        let delta = d - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (d - self.mean);
    }

    /// An infinite value, or any value after one: the mean is the infinity (NaN once both signs
    /// were seen), the spread NaN, as numpy has them. (Welford's update made the mean NaN at
    /// the first finite value after an infinite one: `∞ − ∞`.)
    #[cold]
    fn push_infinite(&mut self, d: f64) {
        self.mean = infinite_sum(self.mean, d);
        self.m2 = f64::NAN;
    }

    /// Adds `n` copies of `x`: what pushing it `n` times gives, up to rounding, at once (a
    /// block of equal values: its mean `x − K`, no spread).
    pub fn push_n(&mut self, x: f64, n: u64) {
        if n == 0 {
            return;
        }
        if self.count == 0 && x.is_finite() {
            self.shift = x;
        }
        let d = x - self.shift;
        self.merge(&Moments {
            count: n,
            shift: self.shift,
            mean: d,
            // An infinite value has no spread to speak of: NaN, as numpy's `var([inf])`.
            m2: if d.is_finite() { 0.0 } else { f64::NAN },
        });
    }

    /// Adds the values of `xs` that are not `NaN` (missing values): the statistics pushing them
    /// one by one gives, up to rounding, several times faster. Blocks of [`BLOCK`] values are
    /// taken in two passes (the block's mean of `x − K`, then its squared deviations, summed in
    /// eight lanes the compiler keeps in vector registers) and merged as [`Moments::merge`]
    /// merges a stream: the pairwise scheme of Chan, Golub and LeVeque, on the same shift `K`.
    pub fn extend_present(&mut self, xs: &[f64]) {
        if self.count == 0 {
            // As `push`: the first value is the shift when it is finite.
            match xs.iter().find(|x| !x.is_nan()) {
                Some(&x) if x.is_finite() => self.shift = x,
                Some(_) => {}
                None => return,
            }
        }
        for block in xs.chunks(BLOCK) {
            let (n, sum) = lanes(block, |x| x - self.shift);
            if n == 0 {
                continue;
            }
            let mean = sum / n as f64;
            let (_, m2) = lanes(block, |x| {
                let d = (x - self.shift) - mean;
                d * d
            });
            self.merge(&Moments {
                count: n,
                shift: self.shift,
                mean,
                m2,
            });
        }
    }

    /// Combines another stream's moments into these (Chan et al.); the result keeps this
    /// state's shift. The count saturates at `u64::MAX`.
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        if self.mean.is_infinite() || other.mean.is_infinite() {
            self.mean = infinite_sum(self.mean, other.mean);
            self.m2 = f64::NAN;
            self.count = self.count.saturating_add(other.count);
            return;
        }
        let n_a = self.count as f64;
        let n_b = other.count as f64;
        let n = n_a + n_b;
        // The other mean minus this one, both taken from the data's scale first: the shifts
        // differ exactly (Sterbenz) when the streams are of one scale, and the means of the
        // differences are of the order of the spread.
        let delta = (other.shift - self.shift) + (other.mean - self.mean);
        self.mean += delta * (n_b / n);
        self.m2 += other.m2 + delta * delta * (n_a * n_b / n);
        self.count = self.count.saturating_add(other.count);
    }

    /// Number of values seen.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Mean of the values (0 when none were seen).
    pub const fn mean(&self) -> f64 {
        self.shift + self.mean
    }

    /// Population variance (divides by `n`, as `numpy.var` does by default); 0 for fewer than
    /// one value.
    pub fn population_variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            clamp_rounding(self.m2 / self.count as f64)
        }
    }

    /// Sample variance (divides by `n - 1`, as pandas' `std()` does); 0 for fewer than two values.
    pub fn sample_variance(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            clamp_rounding(self.m2 / (self.count - 1) as f64)
        }
    }

    /// Population standard deviation.
    pub fn population_std(&self) -> f64 {
        libm::sqrt(self.population_variance())
    }

    /// Sample standard deviation.
    pub fn sample_std(&self) -> f64 {
        libm::sqrt(self.sample_variance())
    }
}

/// The mean of two parts when one of them is infinite: that infinity, or `NaN` when the other
/// is the opposite infinity (or `NaN`).
fn infinite_sum(a: f64, b: f64) -> f64 {
    match (a.is_finite(), b.is_finite()) {
        (true, _) => b,
        (_, true) => a,
        _ => a + b,
    }
}

/// Values per block of [`Moments::extend_present`]: 2 KiB, in the first-level cache for its
/// second pass.
pub const BLOCK: usize = 256;

/// The number of values of `xs` that are not `NaN`, and the sum of `f` over them, in eight
/// lanes (a `NaN` adds 0 and counts 0: no branch, so the loop vectorizes).
#[inline]
fn lanes(xs: &[f64], f: impl Fn(f64) -> f64) -> (u64, f64) {
    let (mut n, mut sum) = ([0u64; 8], [0.0f64; 8]);
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for j in 0..8 {
            let present = !c[j].is_nan();
            n[j] += u64::from(present);
            sum[j] += if present { f(c[j]) } else { 0.0 };
        }
    }
    for (j, &x) in chunks.remainder().iter().enumerate() {
        let present = !x.is_nan();
        n[j] += u64::from(present);
        sum[j] += if present { f(x) } else { 0.0 };
    }
    let total = ((sum[0] + sum[4]) + (sum[1] + sum[5])) + ((sum[2] + sum[6]) + (sum[3] + sum[7]));
    (n.iter().sum(), total)
}

/// A variance that rounding left a hair below 0 is 0; NaN (an infinite value was pushed, as
/// `numpy.var([1.0, inf])` is `nan`) stays NaN. `f64::max(NaN, 0.0)` is 0, which reported a
/// spread of 0 for a column holding ±∞ (issue 15).
fn clamp_rounding(v: f64) -> f64 {
    if v < 0.0 { 0.0 } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `python -c "import numpy as np; print(np.var([2.0, np.inf, 4.0, 5.0]),
    /// np.std([2.0, np.inf, 4.0, 5.0], ddof=1), np.mean([1.0, 2.0, 3.0, -np.inf]))"` (numpy 2)
    /// → `nan nan -inf`; pandas' `Series.std()` is `nan` too.
    #[test]
    fn an_infinite_value_makes_the_spread_nan_not_zero() {
        let mut m = Moments::new();
        for x in [2.0, f64::INFINITY, 4.0, 5.0] {
            m.push(x);
        }
        assert!(m.population_variance().is_nan());
        assert!(m.sample_std().is_nan());
        let mut m = Moments::new();
        for x in [1.0, 2.0, 3.0, f64::NEG_INFINITY] {
            m.push(x);
        }
        assert_eq!(m.mean(), f64::NEG_INFINITY);
        assert!(m.sample_variance().is_nan());
        let mut a = Moments::new();
        a.push(1.0);
        a.push(2.0);
        let mut b = Moments::new();
        b.push(f64::INFINITY);
        a.merge(&b);
        assert!(a.sample_variance().is_nan(), "merged");
    }

    #[test]
    fn matches_two_pass_formula() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut m = Moments::new();
        xs.iter().for_each(|&x| m.push(x));
        // The textbook example: mean 5, population std exactly 2.
        assert_eq!(m.mean(), 5.0);
        assert_eq!(m.population_std(), 2.0);
        assert!((m.sample_variance() - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_concatenation_for_every_split() {
        let xs = [1.5, -2.0, 3.25, 1e3, 7.0, 7.0, -0.5, 12.0, 4.0];
        let mut all = Moments::new();
        xs.iter().for_each(|&x| all.push(x));
        for cut in 0..=xs.len() {
            let (a, b) = xs.split_at(cut);
            let mut ma = Moments::new();
            let mut mb = Moments::new();
            a.iter().for_each(|&x| ma.push(x));
            b.iter().for_each(|&x| mb.push(x));
            ma.merge(&mb);
            assert_eq!(ma.count(), all.count());
            assert!((ma.mean() - all.mean()).abs() < 1e-12, "cut {cut}");
            assert!((ma.population_variance() - all.population_variance()).abs() < 1e-9);
        }
    }

    #[test]
    fn degenerate_inputs() {
        let m = Moments::new();
        assert_eq!(m.population_variance(), 0.0);
        assert_eq!(m.sample_variance(), 0.0);
        let mut one = Moments::new();
        one.push(3.0);
        assert_eq!(one.sample_variance(), 0.0);
        let mut constant = Moments::new();
        (0..100).for_each(|_| constant.push(0.1));
        assert_eq!(constant.population_variance(), 0.0);
    }

    /// SplitMix64 (Steele, Lea and Flood, 2014), the generator of `tests/reference/moments.py`:
    /// Rust and Python draw the same `f64` inputs bit for bit.
    struct SplitMix64(u64);

    impl SplitMix64 {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// `(next >> 11) · 2⁻⁵³`, exact in both languages.
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `10^e` parsed from text (correctly rounded, as Python's `float(f"1e{e}")`).
    fn pow10(e: i64) -> f64 {
        std::format!("1e{e}").parse().unwrap()
    }

    pub(super) fn of(xs: &[f64]) -> Moments {
        let mut m = Moments::new();
        xs.iter().for_each(|&x| m.push(x));
        m
    }

    fn relative(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    /// `epoch(width, 14)` of the reference script: `1.7e9 + U(0, 1) · width`, 1000 values.
    fn epoch(width: f64) -> Vec<f64> {
        let mut r = SplitMix64(14);
        (0..1000).map(|_| 1.7e9 + r.unit() * width).collect()
    }

    /// Epoch-like columns (issue #14: 1.1e-5 relative error at mean/sd = 1e12 before the shift).
    /// Width, `statistics.mean`, `statistics.pvariance`, `statistics.variance` of the same
    /// floats, from `python3 tests/reference/moments.py epoch` (Python 3.11; exact Fractions,
    /// rounded once).
    const EPOCH: [(f64, f64, f64, f64); 4] = [
        // mean/sd ≈ 1e8
        (
            58.89,
            1700000029.1841645,
            300.59384162320595,
            300.8947363595655,
        ),
        // mean/sd ≈ 1e10
        (
            0.5889,
            1700000000.2918417,
            0.030059383145467057,
            0.030089472618085145,
        ),
        // mean/sd ≈ 1e12
        (
            5.889e-3,
            1700000000.0029185,
            3.005920921394534e-06,
            3.0089298512457794e-06,
        ),
        // mean/sd ≈ 1e14
        (
            5.889e-5,
            1700000000.000029,
            3.007388565947622e-10,
            3.0103989649125343e-10,
        ),
    ];

    #[test]
    fn epoch_timestamps_match_exact_statistics() {
        for (width, mean, pvar, var) in EPOCH {
            let xs = epoch(width);
            let m = of(&xs);
            assert!(
                relative(m.mean(), mean) <= 1e-15,
                "{width}: mean {}",
                m.mean()
            );
            assert!(relative(m.population_variance(), pvar) <= 1e-13, "{width}");
            assert!(relative(m.sample_variance(), var) <= 1e-13, "{width}");
            assert!(
                relative(m.sample_std(), libm::sqrt(var)) <= 1e-13,
                "{width}"
            );
            // Split anywhere, merged in either order: the same statistics.
            for cut in [1, 7, 500, 999] {
                let (a, b) = (of(&xs[..cut]), of(&xs[cut..]));
                for (mut first, second) in [(a, b), (b, a)] {
                    first.merge(&second);
                    assert_eq!(first.count(), 1000);
                    assert!(relative(first.mean(), mean) <= 1e-15, "{width} cut {cut}");
                    assert!(
                        relative(first.sample_variance(), var) <= 1e-13,
                        "{width} cut {cut}"
                    );
                }
            }
        }
    }

    /// `stream(seed)` of the reference script, and the cut the merge test uses.
    fn stream(seed: u64) -> (Vec<f64>, usize) {
        let mut r = SplitMix64(seed);
        let n = 2 + r.next() % 300;
        let e = (r.next() % 19) as i64 - 4;
        let mut base = (1.0 + 9.0 * r.unit()) * pow10(e);
        if r.next() % 2 == 1 {
            base = -base;
        }
        let sd = base.abs() / pow10((r.next() % 13) as i64);
        let outlier = r.next().is_multiple_of(8);
        let mut xs: Vec<f64> = (0..n).map(|_| base + sd * (r.unit() - 0.5)).collect();
        if outlier {
            xs[0] = base + sd * 1000.0;
        }
        let cut = (r.next() % (n + 1)) as usize;
        (xs, cut)
    }

    /// `[statistics.mean(xs), statistics.variance(xs)]` for `stream(seed)`, seeds 0..256, from
    /// `python3 tests/reference/moments.py random` (Python 3.11): |mean| from 1e-4 to 1e15,
    /// mean/sd from 1 to 1e12, one stream in eight with a first value 1000 sd out.
    const STREAMS: [[f64; 2]; 256] = [
        [1237905195273.2524, 1269403968199395.5],
        [-97375.71187073023, 14156.585029992044],
        [0.006360734783266842, 2.3992273185617218e-14],
        [-651677214195.4226, 3398340.805366925],
        [87320542230307.9, 696879152807152.6],
        [-309438171986652.6, 8.122994919168201e+17],
        [0.0015070861214354012, 2.4163586843200474e-20],
        [-91068461254.51534, 6.935709859866319],
        [7.20126448707996, 2.161000819091988e-12],
        [0.33879019655047843, 1.0653538240851423e-20],
        [217.8754943308968, 4.032082466061604e-19],
        [674238107816.8932, 3.490768549370263],
        [-0.031134120730017357, 7.702123077754458e-07],
        [-6.695674088989401, 3.77424859755257e-12],
        [113471541.70125666, 117162446011.85782],
        [-6043.203703791445, 84.9820661108528],
        [863564605528.492, 5.7324794890498744e+16],
        [-395496.83299032046, 1.4680257768151234e-06],
        [487.4759115517739, 2.361911397881013e-16],
        [-427.22913047916285, 0.010927357710348952],
        [32667.29572179938, 8.308172602186051e-13],
        [-0.05724764591037684, 2.2878857699254784e-16],
        [1688939.9305665232, 2.4758868654565205e-05],
        [-1150.2799430386265, 1.0791834205528091e-07],
        [-0.1251141921702462, 1.318811274968647e-25],
        [-985.4466831998078, 6.735543755276099e-08],
        [35422357787398.31, 1.0351542329698958e+26],
        [874902511.2345344, 1.2906895926343392e+20],
        [-0.0007621403241966521, 5.121836204473487e-30],
        [893.5655690810995, 6.869524259620131e-20],
        [-74556627645.72772, 496313926393.11743],
        [-55.43652596673583, 2.4722337134726243e-10],
        [-3562.415243973491, 1.698921444704287e-19],
        [-368332133477.9935, 3570537168120597.5],
        [-5075.119348507245, 1.8803584476080067e-08],
        [-0.008220212355297876, 6.088027220029949e-14],
        [3658342.41038384, 1.2011876771643598e-12],
        [-75465394001739.47, 4.187559263199525e+16],
        [-1713307148.246823, 1813543850.816429],
        [-0.0004359528505898505, 1.4394620644435466e-26],
        [0.6895162456927135, 4.408453146662769e-22],
        [-19710.234575131697, 3.266898825073513e-17],
        [350741015864.34735, 84080989.88577242],
        [-489439849711713.56, 2.1434475391078415e+18],
        [45009281.04794533, 0.00017747848164550108],
        [5782095.147491357, 267083733.31330016],
        [-7926181.136354651, 4.986744709956871e-08],
        [36090.17065787552, 0.008716720110997623],
        [-57626644850.619484, 2.8215438467119484e+16],
        [85413591297.68854, 0.0005744630259258582],
        [0.0007658889362352045, 6.349777560944423e-12],
        [770492.6962051527, 47039645819.234055],
        [-311454325798904.94, 1619562976293.699],
        [409883.18349675543, 0.00014334709929080853],
        [0.5129873506765612, 2.112940177518861e-12],
        [846330799705867.6, 555143343.0776168],
        [63547433381.08941, 3.5267078739439636e+18],
        [9.501477012448706, 6.697575958937387e-20],
        [16.71109177160946, 25.292282468104094],
        [-0.0008203971503656016, 5.889115724572802e-08],
        [337962254.50887966, 989865.0032328643],
        [0.002145170589139369, 3.158777934837356e-13],
        [-99744.5835582363, 8734312.086251048],
        [53198506115682.73, 1941588.3957389225],
        [0.34852524804645935, 1.0112665939077438e-10],
        [45211.69031344162, 1813401.6937298968],
        [-50337711289.05696, 3.1278085290076684e+19],
        [0.007815948082028608, 5.462129904620362e-08],
        [-452309360.5402143, 1.7630351743748352e-06],
        [-0.0008472252460231689, 6.019276011500877e-18],
        [-0.009902477401066142, 8.359231108983705e-22],
        [0.6966645739017413, 0.18288082129625854],
        [-8.090662454051955, 5.396050431914626],
        [-0.45261888063298494, 1.705940509679052e-24],
        [-5.1665844709662325, 2.1421439227071994e-12],
        [0.04528253986041349, 2.6200834853342484e-28],
        [-0.000760507986228028, 4.470420624370831e-20],
        [-593.2135053346495, 2.529893310084048e-16],
        [-0.018798537068458427, 3.0101162014458914e-11],
        [44104744.5651028, 168337492.88385975],
        [5216707.300538681, 2.162354763819113e-08],
        [7703909729.7671995, 6.2167886899748e+16],
        [6534.323965637393, 3.824527699411172e-18],
        [-9416481.51919122, 775401348.4518802],
        [775414.6782797173, 0.00026387767888052144],
        [-7619139.967654949, 462.9949200237948],
        [-614375451864.2206, 3.062931069450937e+20],
        [-339757440.05323124, 900750130775.4316],
        [-26442524746300.11, 65782487.3813718],
        [89892.89636048027, 5.009580326410321e-06],
        [65584503.73955128, 0.00011948648827802035],
        [-0.009775392335630129, 7.427185601011972e-22],
        [458.1999735095188, 0.00018598683780583834],
        [3.256186982480867, 8.558988802040874e-07],
        [99262.80019368429, 8371581.717556297],
        [0.9042918957494138, 6.788921186106926e-22],
        [386834799494695.2, 1.254591059257527e+18],
        [5781479.688067943, 2657390.5777014596],
        [0.7841584044910808, 5.143414415728805e-16],
        [-8485201.195658738, 61443031599.003716],
        [31926607651887.44, 4.5057771721499515e+22],
        [-341.7871097828978, 9.280149057096569e-09],
        [-5367.691583041142, 1.1196524814533132e-12],
        [-28597.349654070065, 355.6058769210914],
        [95.76725001279186, 0.00019105717335231098],
        [-12001.022935537947, 1.2561207867919893e-09],
        [5625.122010901596, 3241833.017036777],
        [-54262394406.29751, 2073632823.8273606],
        [-19313.652651548513, 2.8138915018597896e-13],
        [-6.528647271693028, 1.8060755779613607e-11],
        [-0.04390956409663913, 1.6690763598591157e-18],
        [0.00024390743793634674, 5.0312724224813904e-23],
        [-7014514.9425328, 4.071065848175935],
        [580.3761007603003, 0.0002246219277814967],
        [-19977279228.602795, 33206168557243.35],
        [493610.65744242625, 193.76749447745254],
        [0.03420367661279784, 1.0539932873627985e-21],
        [0.0005143956146967334, 2.1987535529777557e-14],
        [-1607483426853.518, 2.1126165452534646e+17],
        [-3.368561746908532, 9.977184615304435e-07],
        [0.8269331237458694, 5.83803780823226e-16],
        [17421250.76130034, 751830482994184.9],
        [-9966028.4640485, 8404295.451636454],
        [-86877171100.87802, 4.312856872616928e+19],
        [496103324.88739896, 18231604.65103857],
        [-0.004331070017180797, 1.5197979922023561e-28],
        [-121.57514907192488, 1.3633688827388084e-21],
        [-60046838584.36383, 0.039280629553413625],
        [-56155396717653.35, 264555755.21709102],
        [0.0002945209383343368, 7.692444655284765e-15],
        [0.0014217531179785364, 1.3529888581613234e-17],
        [668829657487.118, 2761495864728309.0],
        [-1.2480095945638305, 1.3043976191362981e-23],
        [0.00017837032760504584, 2.568828144289997e-25],
        [-2157011568094.7632, 3.3375535188189244e+23],
        [6654712181.631817, 0.00040667678235705644],
        [-233032531670342.7, 435884768453.35156],
        [5322668622098.206, 252031401.5949492],
        [3617.528339775184, 1.2241346704800034e-18],
        [-402369924422908.44, 1.363507130151567e+22],
        [-1254.925020697318, 1.4555912333666478e-13],
        [-1725198730922.6304, 25855030049825.06],
        [7075181359114.232, 346.21363186862646],
        [3207493855.4576206, 730278.9874603346],
        [-6236782.694034051, 255948538.91706663],
        [31.90372385988541, 8.416527672156398e-21],
        [-579128068300293.4, 233000802446343.4],
        [-46675909.205448225, 7360353900196.692],
        [3918279.1809688625, 133709857.22362179],
        [57.14822251304354, 283.012815660604],
        [291.1255379307097, 7.048143492068104e-21],
        [-0.5343307352711163, 2.381021108517506e-16],
        [0.00032858362870311596, 9.140637021602932e-09],
        [-23933782175.948303, 45667684.46492983],
        [0.005980991079452241, 3.4196046435078014e-30],
        [623604009.1086257, 3.1554005843446475],
        [-904.0948275048215, 54.20758774651777],
        [378058427.22749263, 11658.084402236886],
        [-1621696.5061045461, 1.912474417257983e-07],
        [9227490.70491958, 0.0007224426721735043],
        [5.875022743144826, 2.931982058242368e-20],
        [-0.006005256753099199, 3.086082469195871e-26],
        [-36860165.334206216, 1211883.0737203015],
        [4413780154.570243, 1.755789486645602e+18],
        [994953828231644.8, 901694920240014.2],
        [91673389446.74805, 7.464663788560303e+18],
        [-35.84291920321223, 1.1465023018303064e-20],
        [0.05178772550314174, 2.0403292959020204e-14],
        [210572948627.38113, 2.7865034361687683e+19],
        [154.7292612409248, 2803607.9867111803],
        [-0.8345366844713057, 5.37490003172658e-12],
        [27.33662838421948, 6.64639058249882e-19],
        [543066212.232304, 0.0002597825623731535],
        [-3048.6220451854583, 8.256803329982217e-05],
        [-0.27044983432783204, 6.238916143379704e-25],
        [660829222048.9849, 3.175064449883457],
        [51739635.49375256, 2034151976543.6104],
        [-9.601778208223372, 7.294823777544647e-12],
        [-4329629165627.949, 1735817.0783985977],
        [65626163311589.17, 38876880622.57403],
        [-6.325372942345608, 0.033481351475361784],
        [6634179.715000874, 38601203322.76923],
        [-0.009641389063607142, 5.436054321826126e-19],
        [-7408.489164908933, 0.0003854822303080969],
        [0.611403052713123, 9.345161538526906e-15],
        [-682.7158686490735, 4.134571312214386],
        [64.33830981701578, 0.0020491062221573405],
        [-74562123783.50763, 617918177592543.9],
        [-557493251.8869486, 2.6409390084586355],
        [359926858890548.3, 1019080.9824778851],
        [-0.0008003970447600736, 5.281939171441932e-08],
        [-39624136869915.06, 1.293252656284843e+26],
        [-77368720892.79228, 529773246051520.0],
        [2612868.7134701842, 559185.9125060452],
        [0.8363029959042317, 0.4639263587118596],
        [0.0752387261229573, 4.815887424269653e-20],
        [3763911337.5602803, 0.00011597453772241325],
        [335592610000647.94, 98967188.96768142],
        [8.273469883167548, 7.364755265500363e-10],
        [-887.6271818402645, 5.815700877770647e-20],
        [-371619.97697547794, 11000997408.805534],
        [-902.0214417817393, 7.200022810214352e-16],
        [9.408594958871781, 7.118609982711453e-12],
        [-5803879.061087447, 313.0449993863552],
        [-187393024484.93597, 3.113603659161993e+21],
        [7430877670.057083, 4069113.342361744],
        [-851591218907731.0, 693437653021987.1],
        [710.7379380265066, 4.272579969415888e-20],
        [-29510760613991.316, 806766.5538574683],
        [14114300650.587612, 1809610687980915.2],
        [946514233824.8099, 6.303116900315973],
        [-2765143618.892591, 3.120758976709649],
        [-7257933471.073529, 4.403340972922264e-06],
        [67791.4982149511, 0.036173705671919604],
        [7093301640854.62, 400750215.9552363],
        [-0.5154664220712373, 2.1732679352209863e-20],
        [-568335223.0893214, 223.42431353297235],
        [0.00012502517242263296, 1.2357088224985737e-31],
        [-937.7719578541191, 0.00043355753489388493],
        [998063604874.6157, 923792281.4611745],
        [3302971949.1268463, 886316179944.1085],
        [0.4097422854234361, 9.864985488335078e-07],
        [95009222517.13974, 7.06102617281974e+18],
        [-46959514753.98848, 1.7667524262996395],
        [7203288421283.537, 37370.456644876926],
        [0.07912177542647843, 5.059726021183178e-24],
        [259056587482.9256, 55885604.76319523],
        [-323782148563302.9, 90833266267660.81],
        [9671207.04845941, 748.6591919231427],
        [0.7646334157959098, 0.04829033879507332],
        [1.657427395020587, 0.0023623847603460087],
        [405483.10799714987, 7.6115819260138955e-06],
        [0.006120662725746673, 3.223495505397438e-30],
        [0.9851110426213611, 0.0008055279204654311],
        [895313761.0631508, 6.42299453778401],
        [95457.3778146412, 8.930363577238821e-08],
        [-5.621089209397582, 0.0002692727745943736],
        [-271360.83886875986, 5.800494516747984e-15],
        [6193196555622.539, 298468514452970.1],
        [-0.05281487089735943, 2.3548698898529542e-26],
        [-76.6498045678204, 4.702699665793017e-22],
        [-3599173676.671211, 1.5623080734992093e+19],
        [78641196160.8081, 5.2919893434041],
        [399282276.60306287, 135.4016167819859],
        [-0.00026501652393947424, 5.9351176109057844e-21],
        [0.06218947278805462, 3.1616896554167224e-16],
        [-75169208.87763764, 0.04738243565047844],
        [524162363148.62646, 2720.0949334290735],
        [0.0609033795070591, 3.4469682707735767e-08],
        [492132019263379.9, 2.3076392575492375e+26],
        [-5745072805238.563, 29655.09194036019],
        [587911547.3352839, 270.4375052624879],
        [-578677036114516.6, 27082.06207451965],
        [-0.017657119473870327, 2.5173931263185847e-05],
        [-0.0009550397887799929, 7.529774773768428e-16],
        [-85.36865406938011, 0.05414661749278423],
    ];

    /// Differential test against exact statistics: a whole stream, and the stream cut in two
    /// and merged in both orders.
    /// `extend_present` on the reference streams (with missing values between them, whole and
    /// in two calls) meets the same bounds against Python's exact statistics as `push`.
    #[test]
    fn blocks_match_exact_statistics_as_pushing_does() {
        let blocks = |xs: &[f64], cut: usize| {
            let holed: std::vec::Vec<f64> = xs
                .iter()
                .enumerate()
                .flat_map(|(i, &x)| [x].into_iter().chain((i % 3 == 0).then_some(f64::NAN)))
                .collect();
            let cut = cut + cut / 3;
            let mut m = Moments::new();
            m.extend_present(&holed[..cut.min(holed.len())]);
            m.extend_present(&holed[cut.min(holed.len())..]);
            m
        };
        for (seed, &[mean, var]) in STREAMS.iter().enumerate() {
            let (xs, cut) = stream(seed as u64);
            let m = blocks(&xs, cut);
            assert_eq!(m.count(), xs.len() as u64);
            assert!(relative(m.sample_variance(), var) <= 1e-13, "seed {seed}");
            let scale = mean.abs() + libm::sqrt(var);
            assert!((m.mean() - mean).abs() <= 1e-14 * scale, "seed {seed}");
        }
        for (width, mean, pvar, var) in EPOCH {
            let m = blocks(&epoch(width), 300);
            assert!(relative(m.mean(), mean) <= 1e-15, "{width}");
            assert!(relative(m.population_variance(), pvar) <= 1e-13, "{width}");
            assert!(relative(m.sample_variance(), var) <= 1e-13, "{width}");
        }
    }

    #[test]
    fn copies_of_a_value_are_pushed_at_once() {
        let mut at_once = Moments::new();
        let mut one_by_one = Moments::new();
        for (x, n) in [(3.5, 4), (1.0, 0), (-2.25, 7), (1e9, 1), (3.5, 2)] {
            at_once.push_n(x, n);
            (0..n).for_each(|_| one_by_one.push(x));
        }
        assert_eq!(at_once.count(), one_by_one.count());
        assert_eq!(at_once.shift, one_by_one.shift);
        assert!(relative(at_once.mean(), one_by_one.mean()) <= 1e-15);
        assert!(relative(at_once.sample_variance(), one_by_one.sample_variance()) <= 1e-13);
        let mut inf = Moments::new();
        inf.push_n(f64::INFINITY, 3);
        assert_eq!((inf.count(), inf.mean()), (3, f64::INFINITY));
        assert!(inf.population_variance().is_nan());
    }

    /// Infinite values pushed, in blocks, and merged, against numpy 2: `np.mean(xs)` and
    /// `np.var(xs)` of `[2, inf, 4, 5]` → `inf nan`, `[-inf, 1, 2]` → `-inf nan`,
    /// `[inf, -inf, 1]` → `nan nan`, `[inf, inf, 3]` → `inf nan`, `[1, 2, inf]` → `inf nan`.
    #[test]
    fn infinite_values_give_numpys_mean_however_they_arrive() {
        let inf = f64::INFINITY;
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        for (xs, mean) in [
            (&[2.0, inf, 4.0, 5.0][..], inf),
            (&[-inf, 1.0, 2.0], -inf),
            (&[inf, -inf, 1.0], f64::NAN),
            (&[inf, inf, 3.0], inf),
            (&[1.0, 2.0, inf], inf),
        ] {
            let mut block = Moments::new();
            block.extend_present(xs);
            let mut ways = std::vec![of(xs), block];
            for cut in 0..=xs.len() {
                let mut a = of(&xs[..cut]);
                a.merge(&of(&xs[cut..]));
                ways.push(a);
            }
            for m in ways {
                assert_eq!(m.count(), 3 + u64::from(xs.len() == 4), "{xs:?}");
                assert!(same(m.mean(), mean), "{xs:?}: {}", m.mean());
                assert!(m.population_variance().is_nan(), "{xs:?}");
            }
        }
        // The shift is the first value when finite, however the values arrive.
        for xs in [
            &[f64::NAN, 2.0, 3.0][..],
            &[-inf, 1.0],
            &[f64::NAN, f64::NAN],
            &[],
        ] {
            let mut m = Moments::new();
            m.extend_present(xs);
            let pushed = of(&xs
                .iter()
                .copied()
                .filter(|x| !x.is_nan())
                .collect::<std::vec::Vec<_>>());
            assert_eq!(
                (m.count(), m.shift),
                (pushed.count(), pushed.shift),
                "{xs:?}"
            );
        }
    }

    #[test]
    fn random_streams_match_exact_statistics() {
        let (mut worst_var, mut worst_mean) = (0.0f64, 0.0f64);
        for (seed, &[mean, var]) in STREAMS.iter().enumerate() {
            let (xs, cut) = stream(seed as u64);
            let (a, b) = (of(&xs[..cut]), of(&xs[cut..]));
            let (mut ab, mut ba) = (a, b);
            ab.merge(&b);
            ba.merge(&a);
            for m in [of(&xs), ab, ba] {
                assert_eq!(m.count(), xs.len() as u64);
                worst_mean =
                    worst_mean.max((m.mean() - mean).abs() / (mean.abs() + libm::sqrt(var)));
                worst_var = worst_var.max(relative(m.sample_variance(), var));
                assert!(
                    relative(m.sample_variance(), var) <= 1e-13,
                    "seed {seed} cut {cut}"
                );
                // The mean's error is a few units in the last place of the spread or the mean,
                // whichever is larger (relative to a mean near 0 it can be large).
                let scale = mean.abs() + libm::sqrt(var);
                assert!(
                    (m.mean() - mean).abs() <= 1e-14 * scale,
                    "seed {seed} cut {cut}"
                );
            }
        }
        std::println!(
            "worst relative error: variance {worst_var:e}, mean {worst_mean:e} (|mean| + sd)"
        );
    }

    #[test]
    fn non_finite_values_propagate() {
        // An infinite first value is not taken as the shift (x − K would be NaN); the mean is
        // not finite, as without a shift.
        for xs in [[f64::INFINITY, 1.0], [1.0, f64::NEG_INFINITY]] {
            let m = of(&xs);
            assert!(!m.mean().is_finite());
        }
    }
}
