//! The builds of the trainer step: one [`Trainer`] method compiled for each vector unit this
//! CPU may have, and the fastest picked at run time.

use mlprobe_core::mlp::{MlpError, Trainer};

/// A build of the trainer step; [`Build::best`] picks the fastest this CPU runs.
///
/// Each build computes exactly what its trainer method computes in the baseline build
/// (nothing is reassociated, and `mul_add` is exact in software too); the fused and unfused
/// steps differ by rounding, as any two orders of summation do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(super) enum Build {
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
    pub(super) fn available() -> Vec<Build> {
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
    pub(super) fn best() -> Build {
        static BEST: std::sync::OnceLock<Build> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| Build::available()[0])
    }

    /// One step of `trainer` in this build.
    pub(super) fn step(
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

#[cfg(test)]
mod tests {
    use super::*;
    use mlprobe_core::mlp::{Adam, Dims, Mlp};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

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
}
