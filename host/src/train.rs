//! The training loop over a dataset: stratified split, standardisation, mini-batch Adam with
//! cross-entropy. Every computation is a call into [`mlprobe_core`]; this module only orders
//! them (epochs, shuffles, batches) and keeps the history.

use crate::model_io::HostModel;
use mlprobe_core::mlp::{Adam, Dims, Mlp, MlpError, Model, Trainer};
use mlprobe_core::moments::Moments;
use mlprobe_core::transform::{FeatureTransformer, Fill, TransformError};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Hyper-parameters of a fit.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Hidden units.
    pub hidden: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Adam's learning rate.
    pub lr: f32,
    /// Examples per mini-batch.
    pub batch: usize,
    /// Seed of the initial weights and of the shuffles.
    pub seed: u64,
    /// Missing-value policy of the normalizer.
    pub fill: Fill,
    /// Stop when the epoch loss has not improved on the best by more than `tol` for
    /// `n_iter_no_change` epochs in a row (scikit-learn's `MLPClassifier` rule); `None` runs
    /// every epoch.
    pub convergence: Option<(f32, usize)>,
}

/// One epoch of the history.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's examples (before each batch's update).
    pub loss: f32,
    /// Fraction of the epoch's examples predicted right (before each batch's update).
    pub accuracy: f32,
}

/// A stratified train/test split of row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
}

/// Splits rows so that each class keeps its proportion in the held-out part:
/// `round(n_class · test_fraction)` rows of each class, at least one row of each class with two
/// or more rows on each side. Deterministic for a seed.
pub fn stratified_split(labels: &[u8], test_fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let classes = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
    let mut split = Split {
        train: Vec::new(),
        test: Vec::new(),
    };
    for class in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.shuffle(&mut rng);
        let n = rows.len();
        let mut k = (n as f64 * test_fraction).round() as usize;
        if n >= 2 && test_fraction > 0.0 {
            k = k.clamp(1, n - 1);
        } else {
            k = k.min(n.saturating_sub(1));
        }
        split.test.extend_from_slice(&rows[..k]);
        split.train.extend_from_slice(&rows[k..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

/// Errors of a fit.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The options or the data do not fit together.
    #[error("{0}")]
    Options(String),
    /// A core error (a bug if it happens: inputs are checked first).
    #[error(transparent)]
    Mlp(#[from] MlpError),
    /// A core error of the transform.
    #[error(transparent)]
    Transform(#[from] TransformError),
}

/// A build of the trainer step; [`Build::best`] picks the fastest this CPU runs.
///
/// Each build computes exactly what its trainer method computes in the baseline build
/// (nothing is reassociated, and `mul_add` is exact in software too); the fused and unfused
/// steps differ by rounding, as any two orders of summation do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
enum Build {
    /// AVX-512 (F and VL) and FMA: [`Trainer::step_fused_wide`], blocks of 32 rows × 4
    /// columns held in the 32 vector registers, the trainer's own loops 16 lanes wide.
    Avx512,
    /// AVX2 and FMA: [`Trainer::step_fused`], every matrix product as register blocks of fused
    /// multiply-adds (32 rows × 2 columns), the trainer's own loops (Adam, softmax, bias,
    /// ReLU) eight lanes wide.
    Avx2Fma,
    /// AVX2 alone: [`Trainer::step`] compiled for AVX2 (its loops eight lanes wide, the
    /// products through matrixmultiply).
    Avx2,
    /// The baseline build of [`Trainer::step`].
    Baseline,
}

impl Build {
    /// The builds this CPU runs, fastest first (the last is always [`Build::Baseline`]).
    fn available() -> Vec<Build> {
        let mut builds = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512vl") && has!("avx2") && has!("fma") {
                builds.push(Build::Avx512);
            }
            if has!("avx2") && has!("fma") {
                builds.push(Build::Avx2Fma);
            }
            if has!("avx2") {
                builds.push(Build::Avx2);
            }
        }
        builds.push(Build::Baseline);
        builds
    }

    /// The fastest build this CPU runs (detected once).
    fn best() -> Build {
        static BEST: std::sync::OnceLock<Build> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| Build::available()[0])
    }

    /// One step of `trainer` in this build.
    fn step(
        self,
        trainer: &mut Trainer<Vec<f32>>,
        xs: &[f32],
        ys: &[u8],
    ) -> Result<(f32, usize), MlpError> {
        match self {
            // SAFETY (each arm): `available` lists a build only when the CPU has its features.
            #[cfg(target_arch = "x86_64")]
            Build::Avx512 => unsafe { step_avx512(trainer, xs, ys) },
            #[cfg(target_arch = "x86_64")]
            Build::Avx2Fma => unsafe { step_avx2_fma(trainer, xs, ys) },
            #[cfg(target_arch = "x86_64")]
            Build::Avx2 => unsafe { step_avx2(trainer, xs, ys) },
            _ => trainer.step(xs, ys),
        }
    }

    /// What the build computes, in the baseline build.
    #[cfg(test)]
    fn baseline_step(
        self,
        trainer: &mut Trainer<Vec<f32>>,
        xs: &[f32],
        ys: &[u8],
    ) -> Result<(f32, usize), MlpError> {
        match self {
            Build::Avx512 => trainer.step_fused_wide(xs, ys),
            Build::Avx2Fma => trainer.step_fused(xs, ys),
            Build::Avx2 | Build::Baseline => trainer.step(xs, ys),
        }
    }
}

/// A wrapper that compiles a trainer method for the given target features (the method and
/// the loops it calls are `#[inline(always)]`, so the features reach them).
macro_rules! build_step {
    ($name:ident, $features:literal, $method:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        fn $name(
            trainer: &mut Trainer<Vec<f32>>,
            xs: &[f32],
            ys: &[u8],
        ) -> Result<(f32, usize), MlpError> {
            trainer.$method(xs, ys)
        }
    };
}

build_step!(step_avx512, "avx512f,avx512vl,avx2,fma", step_fused_wide);
build_step!(step_avx2_fma, "avx2,fma", step_fused);
build_step!(step_avx2, "avx2", step);

/// Fits the normalizer and the network on `rows × width` raw features `x` with labels `y`,
/// calling `on_epoch` after each epoch.
pub fn train(
    x: &[f32],
    y: &[u8],
    width: usize,
    classes: usize,
    opts: &TrainOptions,
    mut on_epoch: impl FnMut(&EpochRecord),
) -> Result<(HostModel, Vec<EpochRecord>), TrainError> {
    let n = y.len();
    if n == 0 || x.len() != n * width {
        return Err(TrainError::Options(format!(
            "{n} labels for {} values of width {width}",
            x.len()
        )));
    }
    if opts.batch == 0 {
        return Err(TrainError::Options("--batch must be at least 1".into()));
    }
    let dims =
        Dims::new(width, opts.hidden, classes).map_err(|e| TrainError::Options(e.to_string()))?;

    // Standardisation fitted on the training rows only.
    let mut ft = FeatureTransformer::with_storage(
        vec![Moments::new(); width],
        vec![0.0; width],
        vec![1.0; width],
        opts.fill,
    )?;
    ft.fit(x.chunks_exact(width))?;
    let norm = ft.into_params()?;
    let mut xs = vec![0.0f32; x.len()];
    for (raw, out) in x.chunks_exact(width).zip(xs.chunks_exact_mut(width)) {
        norm.transform(raw, out)?;
    }

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut mlp = Mlp::new(dims, vec![0.0f32; dims.param_count()])?;
    mlp.init(&mut rng);
    let mut trainer = Trainer::new(
        &mlp,
        opts.batch,
        Adam::new(opts.lr),
        vec![0.0f32; Trainer::<Vec<f32>>::buffer_len(&dims, opts.batch)],
    )?;
    let mut order: Vec<usize> = (0..n).collect();
    let mut history = Vec::with_capacity(opts.epochs);
    let (mut best_loss, mut no_improvement) = (f32::INFINITY, 0usize);
    let build = Build::best();
    let mut bx = vec![0.0f32; opts.batch * width];
    let mut by = vec![0u8; opts.batch];
    for epoch in 1..=opts.epochs {
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for batch in order.chunks(opts.batch) {
            for (k, &i) in batch.iter().enumerate() {
                bx[k * width..(k + 1) * width].copy_from_slice(&xs[i * width..(i + 1) * width]);
                by[k] = y[i];
            }
            let (loss, right) =
                build.step(&mut trainer, &bx[..batch.len() * width], &by[..batch.len()])?;
            loss_sum += f64::from(loss);
            correct += right;
        }
        let record = EpochRecord {
            epoch,
            loss: (loss_sum / n as f64) as f32,
            accuracy: correct as f32 / n as f32,
        };
        on_epoch(&record);
        history.push(record);
        if let Some((tol, patience)) = opts.convergence {
            // sklearn/neural_network/_multilayer_perceptron.py, `_update_no_improvement_count`.
            if record.loss > best_loss - tol {
                no_improvement += 1;
            } else {
                no_improvement = 0;
            }
            best_loss = best_loss.min(record.loss);
            if no_improvement > patience {
                break;
            }
        }
    }
    trainer.write_to(&mut mlp)?;
    Ok((Model::new(norm, mlp)?, history))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_build_computes_what_its_baseline_build_computes() {
        // Each build this CPU runs (AVX-512, AVX2 with FMA, AVX2) against the same trainer
        // method in the baseline (SSE2) build, `mul_add` in software. Same operations, same
        // order: the same bits. Hidden 40 takes a 32-row block and an overlapping 8-row one.
        let builds = Build::available();
        assert_eq!(builds.last(), Some(&Build::Baseline));
        assert_eq!(Build::best(), builds[0]);
        let d = Dims::new(13, 40, 3).unwrap();
        let mut mlp = Mlp::new(d, vec![0.0f32; d.param_count()]).unwrap();
        mlp.init(&mut ChaCha8Rng::seed_from_u64(5));
        let xs: Vec<f32> = (0..29 * 13)
            .map(|k| ((k * 37) % 23) as f32 / 7.0 - 1.5)
            .collect();
        let ys: Vec<u8> = (0..29).map(|k| (k % 3) as u8).collect();
        let buf = || vec![0.0; Trainer::<Vec<f32>>::buffer_len(&d, 32)];
        for build in builds {
            let mut a = Trainer::new(&mlp, 32, Adam::new(0.01), buf()).unwrap();
            let mut b = Trainer::new(&mlp, 32, Adam::new(0.01), buf()).unwrap();
            for _ in 0..20 {
                let ra = build.step(&mut a, &xs, &ys).unwrap();
                let rb = build.baseline_step(&mut b, &xs, &ys).unwrap();
                assert_eq!((ra.0.to_bits(), ra.1), (rb.0.to_bits(), rb.1), "{build:?}");
            }
            let (mut ma, mut mb) = (mlp.clone(), mlp.clone());
            a.write_to(&mut ma).unwrap();
            b.write_to(&mut mb).unwrap();
            let bits =
                |m: &Mlp<Vec<f32>>| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ma), bits(&mb), "{build:?}");
        }
    }

    #[test]
    fn split_is_stratified_and_deterministic() {
        let labels: Vec<u8> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let s = stratified_split(&labels, 0.3, 42);
        assert_eq!(s, stratified_split(&labels, 0.3, 42));
        assert_ne!(s, stratified_split(&labels, 0.3, 43));
        let count = |rows: &[usize], c: u8| rows.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!(
            (count(&s.test, 0), count(&s.test, 1), count(&s.test, 2)),
            (18, 9, 3)
        );
        assert_eq!(s.train.len() + s.test.len(), 100);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn tiny_classes_keep_a_row_on_each_side() {
        let s = stratified_split(&[0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 0.1, 0);
        assert!(s.test.contains(&0) || s.test.contains(&1));
        assert!(s.train.contains(&0) || s.train.contains(&1));
    }
}
