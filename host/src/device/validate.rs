//! `device validate`: every row of a dataset on the device, each logit's bits compared with the
//! host's [`mlprobe_core`] computation of the same row, plus the device's cost per inference,
//! flash, RAM and stack.

use super::session::{Session, SessionOptions};
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
}

/// Median and maximum of a cost.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Cost {
    /// Median.
    pub p50: u32,
    /// Largest.
    pub max: u32,
}

/// One logit that differs between device and host.
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
    /// True when every logit of every row has the same bits on device and host.
    pub bit_exact: bool,
    /// Number of logits that differ.
    pub mismatches: usize,
    /// The differing logits (the first 100).
    pub mismatch_details: Vec<Mismatch>,
    /// Rows whose predicted class differs.
    pub class_mismatches: usize,
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
    /// Distribution of the per-inference cost (instructions or cycles): `(value, count)` in
    /// increasing order of value.
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
    let mut report = on_rows(&mut session, &model, &data).map_err(|e| session.with_logs(e))?;
    if let Some(elf) = session.elf() {
        let s = elf_sizes(elf)?;
        report.flash_bytes = Some(s.flash_bytes);
        report.ram_bytes = Some(s.ram_bytes);
        report.elf = Some(elf.to_path_buf());
    }
    session.stop();
    Ok(report)
}

fn on_rows(session: &mut Session, model: &HostModel, data: &Dataset) -> Result<ValidateReport> {
    session.reset()?;
    let mut scratch = vec![0.0f32; model.dims().scratch_len()];
    let mut mismatches = 0;
    let mut details = Vec::new();
    let mut class_mismatches = 0;
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
            if dv.to_bits() != hv.to_bits() {
                mismatches += 1;
                if details.len() < 100 {
                    details.push(Mismatch {
                        row,
                        line: data.lines[row],
                        logit: k,
                        device: dv,
                        host: hv,
                        ulp: ulp_distance(dv, hv),
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
        _ => (None, Some(cost)),
    };
    Ok(ValidateReport {
        board: info.board.to_string(),
        firmware: super::version(info),
        n,
        bit_exact: mismatches == 0 && class_mismatches == 0,
        mismatches,
        mismatch_details: details,
        class_mismatches,
        host_accuracy: acc(host_right),
        device_accuracy: acc(device_right),
        instructions_per_inference: instructions,
        cycles_per_inference: cycles,
        cost_histogram,
        flash_bytes: None,
        ram_bytes: None,
        stack_peak_bytes: stats.stack_peak,
        stack_size_bytes: stats.stack_size,
        rejected: stats.rejected,
        elf: None,
    })
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
        let mut s = format!(
            "{} (firmware {}): {} rows, {}\n",
            r.board,
            r.firmware,
            r.n,
            if r.bit_exact {
                "every logit bit-identical to the host".to_string()
            } else {
                format!(
                    "{} logits differ from the host, {} predicted classes differ",
                    r.mismatches, r.class_mismatches
                )
            }
        );
        for m in r.mismatch_details.iter().take(10) {
            s += &format!(
                "  row {} (line {}), logit {}: device {:e}, host {:e}, {} ulp\n",
                m.row, m.line, m.logit, m.device, m.host, m.ulp
            );
        }
        if let (Some(h), Some(d)) = (r.host_accuracy, r.device_accuracy) {
            s += &format!("accuracy: host {h:.4}, device {d:.4}\n");
        }
        if let Some(c) = r.instructions_per_inference {
            s += &format!("instructions per inference: p50 {}, max {}\n", c.p50, c.max);
        }
        if let Some(c) = r.cycles_per_inference {
            s += &format!("cycles per inference: p50 {}, max {}\n", c.p50, c.max);
        }
        if let (Some(f), Some(ram)) = (r.flash_bytes, r.ram_bytes) {
            s += &format!("flash {f} bytes, static RAM {ram} bytes, ");
        }
        s += &format!(
            "stack peak {} of {} bytes\n",
            r.stack_peak_bytes, r.stack_size_bytes
        );
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
