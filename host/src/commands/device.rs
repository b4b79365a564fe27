//! `mlprobe device`: the flags of [`crate::device`] (build the firmware for a model, run it in
//! QEMU, validate it against the host bit for bit) and its reports.

use crate::cli::parse;
use crate::commands::{Outcome, emit};
use crate::device::{
    self, BuildReport, DeviceInfo, Emulator, Endpoint, SessionOptions, Tolerance, ValidateOptions,
    ValidateReport,
};
use crate::error::Result;
use crate::firmware::Board;
use std::path::PathBuf;

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
    /// Run every CSV row on the device and compare its logits with the host's: bit for bit, or
    /// within --atol/--ulps for a firmware with its own inference.
    Validate(ValidateArgs),
}

/// `device build`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mlprobe device build --model wine.mlpb")]
pub struct BuildArgs {
    /// The model file to compile in (default: the firmware's bundled wine model).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<PathBuf>,
    /// The board to build for (`microbit` builds for thumbv6m-none-eabi, the others for
    /// thumbv7em-none-eabihf).
    #[arg(long, value_enum, default_value = "qemu")]
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
    mlprobe device run --board microbit --model wine.mlpb --ping\n  \
    mlprobe device run --elf firmware/target/thumbv7em-none-eabihf/release/mlprobe-firmware --ping"
)]
pub struct RunArgs {
    /// The model file to compile in (default: the firmware's bundled wine model).
    #[arg(long, value_name = "MODEL", conflicts_with = "elf")]
    pub model: Option<PathBuf>,
    /// A firmware ELF already built (for --board).
    #[arg(long, value_name = "ELF")]
    pub elf: Option<PathBuf>,
    /// The board to build for and emulate: `qemu` (QEMU mps2-an386, Cortex-M4F) or `microbit`
    /// (QEMU microbit, Cortex-M0).
    #[arg(long, value_enum, default_value = "qemu")]
    pub board: Board,
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
    after_help = "Any firmware that embeds mlprobe's agent (agent/ for Rust, agent/c for C and \
    C++) can be validated: give its ELF (QEMU) or reach it with --serial or --tcp. mlprobe's own \
    firmware must match the host bit for bit (the default); a firmware with its own inference \
    needs a tolerance: an output passes when it is within --atol of the host's or within --ulps \
    units in the last place. Exit 0 when every row passes and every predicted class agrees, 1 \
    when not (the report names the first row and output that differ).\n\nExamples:\n  \
    mlprobe device validate --model wine.mlpb --data data/wine.csv\n  \
    mlprobe device validate --board microbit --model wine.mlpb --data data/wine.csv\n  \
    mlprobe device validate --model wine.mlpb --data data/wine.csv \
    --elf examples/c-firmware/build/c-firmware.elf --atol 1e-5\n  \
    mlprobe device validate --model wine.mlpb --data data/wine.csv --serial /dev/ttyACM0 \
    --elf firmware/target/thumbv7em-none-eabihf/release/mlprobe-firmware\n  \
    mlprobe device validate --model wine.mlpb --data data/wine.csv --tcp 192.168.1.40:7878 \
    --ulps 4"
)]
pub struct ValidateArgs {
    /// The model file: run on the host; compiled into mlprobe's firmware when no --elf is
    /// given; what the device must run (its checksum, or its shape for a device that reports
    /// none).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV file with the model's feature columns (and a label column for accuracy).
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// A firmware ELF already built: what QEMU runs (mlprobe's firmware, or any firmware with
    /// the agent), or, with --serial or --tcp, what the board was flashed with (for sizes).
    #[arg(long, value_name = "ELF")]
    pub elf: Option<PathBuf>,
    /// The board to build for and emulate: `qemu` (QEMU mps2-an386, Cortex-M4F) or `microbit`
    /// (QEMU microbit, Cortex-M0). Not with --serial or --tcp.
    #[arg(long, value_enum, default_value = "qemu", conflicts_with_all = ["serial", "tcp"])]
    pub board: Board,
    /// Talk to a real board on this serial port instead of QEMU (flash it first: see the
    /// firmware README).
    #[arg(long, value_name = "PORT", conflicts_with = "tcp")]
    pub serial: Option<String>,
    /// Talk to a device (or a bridge to one) on this TCP address instead of QEMU.
    #[arg(long, value_name = "HOST:PORT", value_parser = tcp_address)]
    pub tcp: Option<String>,
    /// Baud rate for --serial.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Largest absolute difference accepted between a device output and the host's (default
    /// 0: bit for bit, unless --ulps).
    #[arg(long, value_name = "ABS", default_value_t = 0.0,
          value_parser = parse::f64_in(0.0, f64::MAX))]
    pub atol: f64,
    /// Largest distance in units in the last place accepted (an output passes within --atol
    /// or within --ulps).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub ulps: u64,
    /// The firmware crate (default: `firmware/` of this checkout, or $MLPROBE_FIRMWARE).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--tcp`'s value: `HOST:PORT`, checked as `--target tcp:HOST:PORT` is.
fn tcp_address(s: &str) -> std::result::Result<String, String> {
    format!("tcp:{s}")
        .parse::<device::TargetSpec>()
        .map(|_| s.to_string())
}

/// Runs `mlprobe device …`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.command {
        DeviceCommand::Build(a) => {
            let r = device::build(a.model.as_deref(), a.board, a.firmware.as_deref())?;
            emit(a.json, &r, BuildReport::human, true)
        }
        DeviceCommand::Run(a) => run_cmd(a),
        DeviceCommand::Validate(a) => {
            let endpoint = match (a.serial, a.tcp) {
                (Some(path), _) => Endpoint::Serial { path, baud: a.baud },
                (None, Some(addr)) => Endpoint::Tcp { addr },
                (None, None) => Endpoint::Qemu { port: None },
            };
            let mut session = SessionOptions::new(endpoint);
            session.elf = a.elf;
            session.firmware = a.firmware;
            session.board = a.board;
            let opts = ValidateOptions {
                model: a.model,
                data: a.data,
                label: a.label,
                session,
                tolerance: Tolerance {
                    atol: a.atol,
                    ulps: a.ulps,
                },
            };
            let report = device::validate(&opts)?;
            emit(a.json, &report, ValidateReport::human, report.passed)
        }
    }
}

fn run_cmd(a: RunArgs) -> Result<Outcome> {
    let mut opts = SessionOptions::new(Endpoint::Qemu { port: Some(a.port) });
    opts.model = a.model;
    opts.elf = a.elf;
    opts.firmware = a.firmware;
    opts.board = a.board;
    opts.echo = true;
    let emulator = Emulator::serve(&opts)?;
    crate::output::eprintln(&format!(
        "mlprobe: QEMU runs {} with its UART on tcp://127.0.0.1:{} (Ctrl-C stops it)",
        emulator.elf().display(),
        a.port
    ));
    if a.ping {
        let session = emulator.connect(&opts)?;
        let info = DeviceInfo::from(session.info());
        session.stop();
        return emit(a.json, &info, DeviceInfo::human, true);
    }
    let status = emulator.wait()?;
    crate::output::eprintln(&format!("mlprobe: QEMU exited ({status})"));
    Ok(Outcome::from_passed(status.success()))
}
