//! `mlprobe device`: build the firmware for a model, run it in QEMU, and validate it against
//! the host bit for bit.
//!
//! The firmware (`firmware/`, its own cargo workspace) compiles the model in at build time
//! (`MLPROBE_MODEL`). `validate` sends every CSV row to the device over a [`Link`], and
//! compares each logit's bits with the host's [`mlprobe_core`] computation of the same row.

use crate::commands::{Outcome, emit};
use crate::data::{self, Labels};
use crate::error::{Error, Result};
pub use crate::firmware::{Board, Sizes, build_firmware, elf_sizes, firmware_dir, model_checksum};
use crate::link::{Client, Link, LinkError, SerialLink};
use crate::model_io;
use crate::model_io::check_fit;
use crate::output;
use crate::qemu::{Qemu, QemuError};
use mlprobe_core::mlp::argmax;
use mlprobe_core::protocol::{CostUnit, Info, MAX_FEATURES, Request, Response, Stats};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Firmware on a device: build, run, validate.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: DeviceCommand,
}

/// The `device` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DeviceCommand {
    /// Build the firmware with a model compiled in; prints the ELF's path, flash and RAM.
    Build(BuildArgs),
    /// Run the firmware in QEMU with its UART on a local TCP port and its logs on stderr.
    Run(RunArgs),
    /// Run every CSV row on the device and compare its logits with the host's, bit for bit.
    Validate(ValidateArgs),
}

/// Where the firmware is and what to build.
#[derive(Debug, clap::Args)]
pub struct FirmwareArgs {
    /// The model file to compile in.
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// A firmware ELF already built (instead of building one for --model).
    #[arg(long, value_name = "ELF", conflicts_with = "board")]
    pub elf: Option<PathBuf>,
    /// The board to build for.
    #[arg(long)]
    pub board: Option<Board>,
    /// The firmware crate (default: `firmware/` of this checkout, or $MLPROBE_FIRMWARE).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
}

/// `device build`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mlprobe device build --model wine.mlpb")]
pub struct BuildArgs {
    /// The model file to compile in (default: the firmware's bundled wine model).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// The board to build for.
    #[arg(long, default_value = "qemu")]
    pub board: Board,
    /// The firmware crate (default: `firmware/` of this checkout, or $MLPROBE_FIRMWARE).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `device run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe device run --model wine.mlpb --port 7878\n  \
    mlprobe device run --elf firmware/target/thumbv7em-none-eabihf/release/mlprobe-firmware --ping"
)]
pub struct RunArgs {
    /// The model file to compile in (default: the firmware's bundled wine model).
    #[arg(long, value_name = "MODEL", conflicts_with = "elf")]
    pub model: Option<PathBuf>,
    /// A firmware ELF already built.
    #[arg(long, value_name = "ELF")]
    pub elf: Option<PathBuf>,
    /// Local TCP port for the UART.
    #[arg(long, default_value_t = 7878)]
    pub port: u16,
    /// Ask the device who it is, print the answer and stop (instead of running until Ctrl-C).
    #[arg(long)]
    pub ping: bool,
    /// The firmware crate (default: `firmware/` of this checkout, or $MLPROBE_FIRMWARE).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// Print one JSON document on stdout (with --ping).
    #[arg(long)]
    pub json: bool,
}

/// `device validate`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe device validate --model wine.mlpb --data data/wine.csv\n  \
    mlprobe device validate --model wine.mlpb --data data/wine.csv --serial /dev/ttyACM0 \
    --elf firmware/target/thumbv7em-none-eabihf/release/mlprobe-firmware"
)]
pub struct ValidateArgs {
    /// The model file: compiled into the firmware and run on the host.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV file with the model's feature columns (and a label column for accuracy).
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// A firmware ELF already built for this model (for sizes; with --serial, what was flashed).
    #[arg(long, value_name = "ELF")]
    pub elf: Option<PathBuf>,
    /// Talk to a real board on this serial port instead of QEMU (flash it first: see the
    /// firmware README).
    #[arg(long, value_name = "PORT")]
    pub serial: Option<String>,
    /// Baud rate for --serial.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// The firmware crate (default: `firmware/` of this checkout, or $MLPROBE_FIRMWARE).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `device build` JSON.
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    /// The ELF built.
    pub elf: PathBuf,
    /// The board.
    pub board: Board,
    /// Flash bytes.
    pub flash_bytes: u64,
    /// Static RAM bytes.
    pub ram_bytes: u64,
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
    /// Instructions per inference, standardisation included (QEMU, `-icount shift=0`,
    /// SysTick resolution of 40 instructions).
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
    /// The ELF run (null with --serial and no --elf).
    pub elf: Option<PathBuf>,
}

/// Runs `mlprobe device …`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.command {
        DeviceCommand::Build(a) => build_cmd(a),
        DeviceCommand::Run(a) => run_cmd(a),
        DeviceCommand::Validate(a) => validate_cmd(a),
    }
}

fn internal(what: &str) -> impl Fn(LinkError) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

fn qemu_err(e: QemuError) -> Error {
    match e {
        QemuError::NotFound(_) => Error::Usage(e.to_string()),
        other => Error::Internal(other.to_string()),
    }
}

fn build_cmd(a: BuildArgs) -> Result<Outcome> {
    let fw = firmware_dir(a.firmware.as_deref());
    let elf = build_firmware(a.model.as_deref(), a.board, &fw)?;
    let s = elf_sizes(&elf)?;
    let report = BuildReport {
        elf,
        board: a.board,
        flash_bytes: s.flash_bytes,
        ram_bytes: s.ram_bytes,
    };
    if a.json {
        output::print_json(&report)?;
    } else {
        output::print(&format!(
            "{}\nflash {} bytes, static RAM {} bytes\n",
            report.elf.display(),
            report.flash_bytes,
            report.ram_bytes
        ))?;
    }
    Ok(Outcome::Pass)
}

fn info_text(i: &Info) -> String {
    format!(
        "{} firmware {}.{}.{} protocol {}: model {}-{}-{} (crc {:#010x}), clock {} Hz, cost in {:?}",
        i.board,
        i.firmware[0],
        i.firmware[1],
        i.firmware[2],
        i.protocol,
        i.inputs,
        i.hidden,
        i.outputs,
        i.model_crc,
        i.clock_hz,
        i.cost_unit
    )
}

fn ask_info<L: Link>(client: &mut Client<L>) -> Result<Info> {
    match client
        .call(Request::Info)
        .map_err(internal("asking the device"))?
    {
        Response::Info(i) => Ok(i),
        other => Err(Error::Internal(format!(
            "unexpected answer to Info: {other:?}"
        ))),
    }
}

fn run_cmd(a: RunArgs) -> Result<Outcome> {
    let elf = match a.elf {
        Some(e) => e,
        None => build_firmware(
            a.model.as_deref(),
            Board::qemu(),
            &firmware_dir(a.firmware.as_deref()),
        )?,
    };
    let mut qemu = Qemu::serve(&elf, a.port, true).map_err(qemu_err)?;
    eprintln!(
        "mlprobe: QEMU runs {} with its UART on tcp://127.0.0.1:{} (Ctrl-C stops it)",
        elf.display(),
        a.port
    );
    if a.ping {
        let link = crate::link::TcpLink::connect(
            &format!("127.0.0.1:{}", a.port),
            std::time::Duration::from_secs(10),
        )
        .map_err(|e| Error::Internal(format!("connecting to QEMU: {e}")))?;
        let mut client = Client::new(link);
        client
            .wait_ready(std::time::Duration::from_secs(10))
            .map_err(internal("waiting for the device"))?;
        let info = ask_info(&mut client)?;
        drop(client);
        qemu.stop();
        if a.json {
            #[derive(Serialize)]
            struct Ping {
                board: String,
                firmware: String,
                protocol: u16,
                inputs: u16,
                hidden: u16,
                outputs: u16,
                model_crc: u32,
                clock_hz: u32,
            }
            output::print_json(&Ping {
                board: info.board.to_string(),
                firmware: format!(
                    "{}.{}.{}",
                    info.firmware[0], info.firmware[1], info.firmware[2]
                ),
                protocol: info.protocol,
                inputs: info.inputs,
                hidden: info.hidden,
                outputs: info.outputs,
                model_crc: info.model_crc,
                clock_hz: info.clock_hz,
            })?;
        } else {
            output::print(&format!("{}\n", info_text(&info)))?;
        }
        return Ok(Outcome::Pass);
    }
    let status = qemu.wait().map_err(qemu_err)?;
    eprintln!("mlprobe: QEMU exited ({status})");
    Ok(if status.success() {
        Outcome::Pass
    } else {
        Outcome::Fail
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

fn percentile_cost(mut v: Vec<u32>) -> Cost {
    if v.is_empty() {
        return Cost::default();
    }
    v.sort_unstable();
    Cost {
        p50: v[(v.len() - 1) / 2],
        max: v[v.len() - 1],
    }
}

/// Validates `model` on the device behind `client` with every row of `data_path`.
pub fn validate<L: Link>(
    client: &mut Client<L>,
    model_path: &Path,
    data_path: &Path,
    label: &str,
) -> Result<(ValidateReport, Info)> {
    let model_bytes = std::fs::read(model_path).map_err(|e| Error::io(model_path, e))?;
    let model = model_io::from_bytes(&model_bytes).map_err(|m| Error::file(model_path, m))?;
    let data = data::load(data_path, Labels::Optional(label))?;
    check_fit(&model, &data)?;
    let d = model.dims();
    if d.inputs > MAX_FEATURES {
        return Err(Error::file(
            model_path,
            format!(
                "{} inputs: the device protocol carries at most {MAX_FEATURES}",
                d.inputs
            ),
        ));
    }
    client
        .wait_ready(std::time::Duration::from_secs(10))
        .map_err(internal("waiting for the device"))?;
    let info = ask_info(client)?;
    let crc = model_checksum(&model_bytes);
    if info.model_crc != crc
        || usize::from(info.inputs) != d.inputs
        || usize::from(info.outputs) != d.outputs
    {
        return Err(Error::Usage(format!(
            "the device runs another model ({}-{}-{}, crc {:#010x}) than {} ({}-{}-{}, crc {crc:#010x}): \
             build and flash the firmware for this model",
            info.inputs,
            info.hidden,
            info.outputs,
            info.model_crc,
            model_path.display(),
            d.inputs,
            d.hidden,
            d.outputs
        )));
    }
    client
        .call(Request::Reset)
        .map_err(internal("resetting the device's counters"))?;
    let mut scratch = vec![0.0f32; d.scratch_len()];
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
        let answer = client
            .call(Request::Infer { features })
            .map_err(internal("inference on the device"))?;
        let inf = match answer {
            Response::Inference(i) => i,
            other => {
                return Err(Error::Internal(format!(
                    "row {row} (line {}): the device answered {other:?}",
                    data.lines[row]
                )));
            }
        };
        costs.push(inf.cost);
        if inf.logits.len() != host.len() {
            return Err(Error::Internal(format!(
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
    let stats: Stats = match client
        .call(Request::Stats)
        .map_err(internal("asking for stats"))?
    {
        Response::Stats(s) => s,
        other => {
            return Err(Error::Internal(format!(
                "unexpected answer to Stats: {other:?}"
            )));
        }
    };
    let n = data.rows();
    let acc = |right: usize| data.labels.as_ref().map(|_| right as f64 / n.max(1) as f64);
    let mut cost_histogram: Vec<(u32, u32)> = Vec::new();
    let mut sorted = costs.clone();
    sorted.sort_unstable();
    for c in sorted {
        match cost_histogram.last_mut() {
            Some((v, n)) if *v == c => *n += 1,
            _ => cost_histogram.push((c, 1)),
        }
    }
    let cost = percentile_cost(costs);
    let (instructions, cycles) = match info.cost_unit {
        CostUnit::Instructions => (Some(cost), None),
        _ => (None, Some(cost)),
    };
    let report = ValidateReport {
        board: info.board.to_string(),
        firmware: format!(
            "{}.{}.{}",
            info.firmware[0], info.firmware[1], info.firmware[2]
        ),
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
    };
    Ok((report, info))
}

fn validate_cmd(a: ValidateArgs) -> Result<Outcome> {
    // Check the inputs before building anything.
    let model = model_io::load(&a.model)?;
    let data = data::load(&a.data, Labels::Optional(&a.label))?;
    check_fit(&model, &data)?;
    drop((model, data));

    let (mut report, elf) = if let Some(port) = &a.serial {
        let link =
            SerialLink::open(port, a.baud).map_err(|e| Error::Usage(format!("{port}: {e}")))?;
        let mut client = Client::new(link);
        let (report, _) = validate(&mut client, &a.model, &a.data, &a.label)?;
        (report, a.elf.clone())
    } else {
        let elf = match &a.elf {
            Some(e) => e.clone(),
            None => build_firmware(
                Some(&a.model),
                Board::qemu(),
                &firmware_dir(a.firmware.as_deref()),
            )?,
        };
        let (qemu, link) = Qemu::start(&elf, false).map_err(qemu_err)?;
        let mut client = Client::new(link);
        let result = validate(&mut client, &a.model, &a.data, &a.label);
        drop(client);
        let logs = qemu.stop();
        let (report, _) = result.map_err(|e| match e {
            Error::Internal(m) => Error::Internal(format!("{m}\ndevice log:\n{}", logs.join("\n"))),
            other => other,
        })?;
        (report, Some(elf))
    };
    if let Some(elf) = &elf {
        let s = elf_sizes(elf)?;
        report.flash_bytes = Some(s.flash_bytes);
        report.ram_bytes = Some(s.ram_bytes);
    }
    report.elf = elf;
    emit(a.json, &report, human, report.bit_exact)
}

fn human(r: &ValidateReport) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn percentiles_of_costs() {
        assert_eq!(percentile_cost(vec![]), Cost::default());
        assert_eq!(
            percentile_cost(vec![40, 80, 120]),
            Cost { p50: 80, max: 120 }
        );
        assert_eq!(percentile_cost(vec![80, 40]), Cost { p50: 40, max: 80 });
    }
}
