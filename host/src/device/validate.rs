//! `device validate`: every row of a dataset on the device, each logit compared with the
//! host's [`mlprobe_core`] computation of the same row (bit for bit by default; within a
//! [`Tolerance`] for a firmware with its own inference), plus the device's cost per inference,
//! flash, RAM and stack.

use super::session::{ModelCheck, Session, SessionOptions};
use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::firmware::elf_sizes;
use crate::model_io::{self, HostModel};
use mlprobe_core::mlp::argmax;
use mlprobe_core::protocol::{CostUnit, MAX_FEATURES, Request, Response};
use serde::Serialize;
use std::path::PathBuf;

/// What to validate, and on which device.
#[derive(Clone, Debug)]
pub struct ValidateOptions {
    /// The model file: run on the host, and what the device must run.
    pub model: PathBuf,
    /// CSV file with the model's feature columns (and a label column for accuracy).
    pub data: PathBuf,
    /// Name of the label column.
    pub label: String,
    /// The device (its `model` is set to [`ValidateOptions::model`]).
    pub session: SessionOptions,
    /// How far a device's output may be from the host's.
    pub tolerance: Tolerance,
}

/// How far a device's output may be from the host's: within `atol` in absolute value **or**
/// within `ulps` units in the last place. Both 0 (the default): bit for bit, as mlprobe's own
/// firmware computes. A firmware with its own inference (another summation order, fused
/// multiply-adds, approximations) needs a tolerance.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Tolerance {
    /// Largest absolute difference accepted.
    pub atol: f64,
    /// Largest distance in units in the last place accepted.
    pub ulps: u64,
}

impl Tolerance {
    /// Bit for bit.
    pub const EXACT: Self = Self { atol: 0.0, ulps: 0 };

    /// Whether `device` is close enough to `host`: the same bits, or within either bound.
    /// A NaN on one side only is never close.
    pub fn accepts(&self, device: f32, host: f32) -> bool {
        device.to_bits() == host.to_bits()
            || (device.is_nan() && host.is_nan())
            || abs_error(device, host) <= self.atol
            || (ulp_distance(device, host) <= self.ulps && device.is_nan() == host.is_nan())
    }
}

/// `|device − host|` in `f64` (0 for two NaNs, infinite for one).
pub fn abs_error(device: f32, host: f32) -> f64 {
    match (device.is_nan(), host.is_nan()) {
        (true, true) => 0.0,
        (false, false) if device == host => 0.0,
        (false, false) => (f64::from(device) - f64::from(host)).abs(),
        _ => f64::INFINITY,
    }
}

/// Median and maximum of a cost.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Cost {
    /// Median.
    pub p50: u32,
    /// Largest.
    pub max: u32,
}

/// One logit of the device outside the tolerance.
#[derive(Clone, Debug, Serialize)]
pub struct Mismatch {
    /// 0-based data row.
    pub row: usize,
    /// 1-based line in the CSV file.
    pub line: u64,
    /// Index of the logit.
    pub logit: usize,
    /// The device's value.
    pub device: f32,
    /// The host's value.
    pub host: f32,
    /// Distance in units in the last place.
    pub ulp: u64,
    /// `|device − host|` (infinite when one is NaN).
    pub abs_error: f64,
}

/// The largest difference between device and host, and where.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Largest {
    /// The difference (absolute value, or units in the last place).
    pub value: f64,
    /// 0-based data row.
    pub row: usize,
    /// Index of the output (logit).
    pub output: usize,
}

/// `device validate` JSON (DESIGN.md).
#[derive(Clone, Debug, Serialize)]
pub struct ValidateReport {
    /// The board that answered.
    pub board: String,
    /// Firmware version.
    pub firmware: String,
    /// Rows sent.
    pub n: usize,
    /// True when every row is within the tolerance and every predicted class agrees with the
    /// host's: the exit status (0, else 1).
    pub passed: bool,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// True when every logit of every row has the same bits on device and host.
    pub bit_exact: bool,
    /// Number of logits whose bits differ from the host's.
    pub mismatches: usize,
    /// Number of logits outside the tolerance (equal to `mismatches` when it is bit for bit).
    pub out_of_tolerance: usize,
    /// The logits outside the tolerance (the first 100, in row order): the first is the first
    /// row and output that differ.
    pub mismatch_details: Vec<Mismatch>,
    /// The largest absolute difference, its row and output.
    pub max_abs_error: Largest,
    /// The largest distance in units in the last place, its row and output.
    pub max_ulp: Largest,
    /// Rows whose predicted class differs.
    pub class_mismatches: usize,
    /// Share of rows whose predicted class (argmax) agrees with the host's.
    pub argmax_agreement: f64,
    /// Host accuracy (null without labels).
    pub host_accuracy: Option<f64>,
    /// Device accuracy (null without labels).
    pub device_accuracy: Option<f64>,
    /// Instructions per inference, standardisation included (QEMU, `-icount shift=0`; a
    /// resolution of 40 instructions on `qemu`, SysTick, and 62.5 on `microbit`, TIMER0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions_per_inference: Option<Cost>,
    /// CPU cycles per inference (DWT, hardware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles_per_inference: Option<Cost>,
    /// What the device's costs count: `instructions`, `cycles`, `microseconds` or
    /// `unmeasured` (a firmware without a cost counter: every cost is 0).
    pub cost_unit: &'static str,
    /// Cost per inference in `cost_unit` (whatever the unit).
    pub cost_per_inference: Cost,
    /// How the device's model was checked against the model file: `checksum`, or `shape` for
    /// a device that does not report one.
    pub model_check: Option<ModelCheck>,
    /// Distribution of the per-inference cost: `(value, count)` in increasing order of value.
    pub cost_histogram: Vec<(u32, u32)>,
    /// Flash bytes of the firmware (null when no ELF is known).
    pub flash_bytes: Option<u64>,
    /// Static RAM bytes of the firmware (null when no ELF is known).
    pub ram_bytes: Option<u64>,
    /// Most stack the firmware used, in bytes (painted stack).
    pub stack_peak_bytes: u32,
    /// Stack size in bytes.
    pub stack_size_bytes: u32,
    /// Requests the device rejected during the run.
    pub rejected: u32,
    /// The ELF run (null with a serial port and no ELF given).
    pub elf: Option<PathBuf>,
}

/// Validates `opts.model` on the device of `opts.session` with every row of `opts.data`. The
/// inputs are checked before any firmware is built.
pub fn validate(opts: &ValidateOptions) -> Result<ValidateReport> {
    let model = model_io::load(&opts.model)?;
    let data = model_io::bind(
        &model,
        data::load(&opts.data, Labels::Optional(&opts.label))?,
    )?;
    let d = model.dims();
    if d.inputs() > MAX_FEATURES {
        return Err(Error::file(
            &opts.model,
            format!(
                "{} inputs: the device protocol carries at most {MAX_FEATURES}",
                d.inputs()
            ),
        ));
    }
    let session = SessionOptions {
        model: Some(opts.model.clone()),
        ..opts.session.clone()
    };
    let mut session = Session::open(&session)?;
    let mut report =
        on_rows(&mut session, &model, &data, opts.tolerance).map_err(|e| session.with_logs(e))?;
    if let Some(elf) = session.elf() {
        let s = elf_sizes(elf)?;
        report.flash_bytes = Some(s.flash_bytes);
        report.ram_bytes = Some(s.ram_bytes);
        report.elf = Some(elf.to_path_buf());
    }
    session.stop();
    Ok(report)
}

fn on_rows(
    session: &mut Session,
    model: &HostModel,
    data: &Dataset,
    tolerance: Tolerance,
) -> Result<ValidateReport> {
    session.reset()?;
    let mut scratch = vec![0.0f32; model.dims().scratch_len()];
    let (mut mismatches, mut out_of_tolerance, mut class_mismatches) = (0, 0, 0);
    let mut details = Vec::new();
    let (mut max_abs, mut max_ulp) = (Largest::default(), Largest::default());
    let (mut host_right, mut device_right) = (0usize, 0usize);
    let mut costs = Vec::with_capacity(data.rows());
    for row in 0..data.rows() {
        let x = data.row(row);
        let host = model
            .infer(x, &mut scratch)
            .map_err(|e| Error::Internal(format!("host inference: {e}")))?;
        let features = x.iter().copied().collect();
        let inf = match session.call(Request::Infer { features }, "inference on the device")? {
            Response::Inference(i) => i,
            other => {
                return Err(Error::Device(format!(
                    "row {row} (line {}): the device answered {other:?}",
                    data.lines[row]
                )));
            }
        };
        costs.push(inf.cost);
        if inf.logits.len() != host.len() {
            return Err(Error::Device(format!(
                "row {row}: the device returned {} logits, the host {}",
                inf.logits.len(),
                host.len()
            )));
        }
        for (k, (&dv, &hv)) in inf.logits.iter().zip(host).enumerate() {
            if dv.to_bits() == hv.to_bits() {
                continue;
            }
            mismatches += 1;
            let (abs, ulp) = (abs_error(dv, hv), ulp_distance(dv, hv));
            if abs > max_abs.value || max_abs.value.is_nan() {
                max_abs = Largest {
                    value: abs,
                    row,
                    output: k,
                };
            }
            if ulp as f64 > max_ulp.value {
                max_ulp = Largest {
                    value: ulp as f64,
                    row,
                    output: k,
                };
            }
            if !tolerance.accepts(dv, hv) {
                out_of_tolerance += 1;
                if details.len() < 100 {
                    details.push(Mismatch {
                        row,
                        line: data.lines[row],
                        logit: k,
                        device: dv,
                        host: hv,
                        ulp,
                        abs_error: abs,
                    });
                }
            }
        }
        let host_class = argmax(host);
        if usize::from(inf.class) != host_class {
            class_mismatches += 1;
        }
        if let Some(labels) = &data.labels {
            let y = usize::from(labels[row]);
            host_right += usize::from(host_class == y);
            device_right += usize::from(usize::from(inf.class) == y);
        }
    }
    let stats = session.stats()?;
    let n = data.rows();
    let acc = |right: usize| data.labels.as_ref().map(|_| right as f64 / n.max(1) as f64);
    let (cost, cost_histogram) = cost_summary(costs);
    let info = session.info();
    let (instructions, cycles) = match info.cost_unit {
        CostUnit::Instructions => (Some(cost), None),
        CostUnit::Cycles => (None, Some(cost)),
        _ => (None, None),
    };
    Ok(ValidateReport {
        board: info.board.to_string(),
        firmware: super::version(info),
        n,
        passed: out_of_tolerance == 0 && class_mismatches == 0,
        tolerance,
        bit_exact: mismatches == 0 && class_mismatches == 0,
        mismatches,
        out_of_tolerance,
        mismatch_details: details,
        max_abs_error: max_abs,
        max_ulp,
        class_mismatches,
        argmax_agreement: if n == 0 {
            1.0
        } else {
            (n - class_mismatches) as f64 / n as f64
        },
        host_accuracy: acc(host_right),
        device_accuracy: acc(device_right),
        instructions_per_inference: instructions,
        cycles_per_inference: cycles,
        cost_unit: cost_unit_name(info.cost_unit),
        cost_per_inference: cost,
        model_check: session.model_check(),
        cost_histogram,
        flash_bytes: None,
        ram_bytes: None,
        stack_peak_bytes: stats.stack_peak,
        stack_size_bytes: stats.stack_size,
        rejected: stats.rejected,
        elf: None,
    })
}

/// The name of a cost unit in reports.
pub fn cost_unit_name(unit: CostUnit) -> &'static str {
    match unit {
        CostUnit::Instructions => "instructions",
        CostUnit::Cycles => "cycles",
        CostUnit::Microseconds => "microseconds",
        _ => "unmeasured",
    }
}

/// Distance in units in the last place between two `f32` (0 for equal bits; NaNs and
/// opposite-signed values are measured through the ordered integer line).
pub fn ulp_distance(a: f32, b: f32) -> u64 {
    fn ordered(x: f32) -> i64 {
        let i = i64::from(x.to_bits() as i32);
        if i < 0 { i64::from(i32::MIN) - i } else { i }
    }
    ordered(a).abs_diff(ordered(b))
}

/// Median (lower) and maximum of the costs, and their histogram as `(value, count)` in
/// increasing order of value.
fn cost_summary(mut costs: Vec<u32>) -> (Cost, Vec<(u32, u32)>) {
    costs.sort_unstable();
    let mut histogram: Vec<(u32, u32)> = Vec::new();
    for &c in &costs {
        match histogram.last_mut() {
            Some((v, n)) if *v == c => *n += 1,
            _ => histogram.push((c, 1)),
        }
    }
    let cost = match costs.last() {
        None => Cost::default(),
        Some(&max) => Cost {
            p50: costs[(costs.len() - 1) / 2],
            max,
        },
    };
    (cost, histogram)
}

impl ValidateReport {
    /// The human report.
    pub fn human(&self) -> String {
        let r = self;
        let verdict = if r.bit_exact {
            "every logit bit-identical to the host".to_string()
        } else if r.passed {
            format!(
                "every logit within the tolerance (atol {:e}, {} ulp); {} differ in their bits",
                r.tolerance.atol, r.tolerance.ulps, r.mismatches
            )
        } else {
            format!(
                "{} logits outside the tolerance (atol {:e}, {} ulp), {} predicted classes differ",
                r.out_of_tolerance, r.tolerance.atol, r.tolerance.ulps, r.class_mismatches
            )
        };
        let mut s = format!(
            "{} (firmware {}): {} rows, {verdict}\n",
            r.board, r.firmware, r.n
        );
        if let Some(first) = r.mismatch_details.first() {
            s += &format!(
                "first difference: row {} (line {}), output {}\n",
                first.row, first.line, first.logit
            );
        }
        for m in r.mismatch_details.iter().take(10) {
            s += &format!(
                "  row {} (line {}), logit {}: device {:e}, host {:e}, {} ulp\n",
                m.row, m.line, m.logit, m.device, m.host, m.ulp
            );
        }
        if r.mismatches > 0 {
            s += &format!(
                "largest error: {:e} (row {}, output {}); largest ulp distance: {} (row {}, output {})\n",
                r.max_abs_error.value,
                r.max_abs_error.row,
                r.max_abs_error.output,
                r.max_ulp.value,
                r.max_ulp.row,
                r.max_ulp.output
            );
        }
        s += &format!("argmax agreement: {:.4}\n", r.argmax_agreement);
        if let (Some(h), Some(d)) = (r.host_accuracy, r.device_accuracy) {
            s += &format!("accuracy: host {h:.4}, device {d:.4}\n");
        }
        match r.cost_unit {
            "unmeasured" => s += "cost per inference: not measured (the device has no counter)\n",
            unit => {
                let c = r.cost_per_inference;
                s += &format!("{unit} per inference: p50 {}, max {}\n", c.p50, c.max);
            }
        }
        if let (Some(f), Some(ram)) = (r.flash_bytes, r.ram_bytes) {
            s += &format!("flash {f} bytes, static RAM {ram} bytes, ");
        }
        if r.stack_size_bytes > 0 {
            s += &format!(
                "stack peak {} of {} bytes\n",
                r.stack_peak_bytes, r.stack_size_bytes
            );
        } else {
            s += "stack not measured\n";
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firmware::model_checksum;

    #[test]
    fn ulp_distance_counts_representable_steps() {
        assert_eq!(ulp_distance(1.0, 1.0), 0);
        assert_eq!(ulp_distance(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulp_distance(0.0, -0.0), 0);
        assert_eq!(ulp_distance(f32::from_bits(1), -f32::from_bits(1)), 2);
    }

    #[test]
    fn a_tolerance_accepts_within_either_bound_and_never_a_lone_nan() {
        let next = |x: f32, k: u32| f32::from_bits(x.to_bits() + k);
        let exact = Tolerance::EXACT;
        assert!(exact.accepts(1.5, 1.5));
        assert!(!exact.accepts(next(1.5, 1), 1.5));
        assert!(exact.accepts(f32::NAN, f32::NAN));
        let ulps = Tolerance { atol: 0.0, ulps: 4 };
        assert!(ulps.accepts(next(1.5, 4), 1.5));
        assert!(!ulps.accepts(next(1.5, 5), 1.5));
        // 1e-3 is far more than 4 ulp at 1.5, and within the absolute bound.
        let both = Tolerance {
            atol: 1e-3,
            ulps: 4,
        };
        assert!(both.accepts(1.5009, 1.5));
        assert!(!both.accepts(1.502, 1.5));
        for t in [
            exact,
            ulps,
            both,
            Tolerance {
                atol: f64::MAX,
                ulps: u64::MAX,
            },
        ] {
            assert!(!t.accepts(f32::NAN, 1.0), "{t:?}");
            assert!(!t.accepts(1.0, f32::NAN), "{t:?}");
        }
        assert_eq!(abs_error(1.0, f32::NAN), f64::INFINITY);
        assert_eq!(abs_error(-0.0, 0.0), 0.0);
        assert_eq!(abs_error(1.0, 0.75), 0.25);
    }

    #[test]
    fn models_are_named_by_their_stored_checksum() {
        // The CRC-32 of a whole model file is one constant (the CRC residue), so the stored
        // checksum is what tells two models apart.
        let a = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../firmware/models/wine.mlpb"
        ))
        .unwrap();
        let stored = model_checksum(&a);
        assert_eq!(stored, mlprobe_core::crc::crc32(&a[..a.len() - 4]));
        assert_eq!(model_checksum(&[1, 2, 3]), 0);
    }

    #[test]
    fn percentiles_and_histogram_of_costs() {
        assert_eq!(cost_summary(vec![]), (Cost::default(), vec![]));
        assert_eq!(
            cost_summary(vec![120, 40, 80, 40]),
            (Cost { p50: 40, max: 120 }, vec![(40, 2), (80, 1), (120, 1)])
        );
        assert_eq!(
            cost_summary(vec![40, 80, 120]).0,
            Cost { p50: 80, max: 120 }
        );
        assert_eq!(cost_summary(vec![80, 40]).0, Cost { p50: 40, max: 80 });
    }
}
