//! `mlprobe run`: the whole testing pyramid on one dataset into a report directory; the
//! pipeline itself is [`crate::pipeline`].

use crate::commands::Outcome;
use crate::error::Result;
use crate::output;
use crate::pipeline::{self, Config, RunOptions};
use std::path::PathBuf;

/// Run the whole testing pyramid and write a report.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The configuration (TOML) names the data, its expectation suite, the \
    training settings, the gate policy and the previous model; the repository's mlprobe.toml runs \
    everything on the bundled wine data. No mlprobe.toml for your data yet: `mlprobe init --data \
    FILE.csv --label COL` writes one. `mlprobe run --help` lists every key of the configuration \
    with its default.\n\nExit codes: 0 every gate passed (skips included), 1 a gate failed or a \
    stage errored, 2 bad configuration.\n\nExample:\n  mlprobe run --config mlprobe.toml --out \
    out/report",
    after_long_help = format!(
        "{}{}",
        "The configuration (TOML) names the data, its expectation suite, the training settings, \
        the gate policy and the previous model; the repository's mlprobe.toml runs everything on \
        the bundled wine data. No mlprobe.toml for your data yet: `mlprobe init --data FILE.csv \
        --label COL` writes one.\n\nStages, in order: expect, train, eval, slices, device, load, \
        chaos, ab. Each ends passed, failed, skipped (with the reason: no QEMU, no firmware, \
        disabled, no model) or errored (with the message); one stage's failure never discards \
        another's results, and the closing line counts skips and stages without checks.\n\n\
        Exit codes: 0 every gate passed (skips included), 1 a gate failed or a stage errored, 2 \
        bad configuration.\n\nExample:\n  mlprobe run --config mlprobe.toml --out out/report\n\n\
        Every key of the configuration, with its default (docs/mlprobe.reference.toml):\n\n",
        crate::pipeline::REFERENCE
    )
)]
pub struct Args {
    /// Pipeline configuration.
    #[arg(long, value_name = "FILE.toml", default_value = "mlprobe.toml")]
    pub config: PathBuf,
    /// Report directory (overrides the configuration's `out`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Skip the on-device stage even when QEMU is installed.
    #[arg(long)]
    pub no_device: bool,
    /// Print report.json on stdout instead of the closing line (the stage lines stay on
    /// stderr).
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe run`: stage lines on stderr as each stage ends, then the report's place (or
/// the report itself with `--json`).
pub fn run(args: Args) -> Result<Outcome> {
    let mut opts = RunOptions::new(Config::load(&args.config)?, args.config.clone());
    if let Some(out) = args.out {
        opts.out = out;
    }
    opts.no_device = args.no_device;
    let report = pipeline::run(&opts, |st| {
        crate::output::eprintln(&format!(
            "mlprobe run: [{:<6}] {:<7} {:>6.2}s  {}",
            st.name,
            st.status().word(),
            st.duration_s,
            st.summary
        ));
        for n in &st.notes {
            crate::output::eprintln(&format!("mlprobe run:          note: {n}"));
        }
    })?;
    let passed = report.passed();
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print(&format!(
            "{}: report in {} (report.html, report.json, junit.xml, summary.md)\n",
            report.banner(),
            opts.out.display()
        ))?;
    }
    Ok(Outcome::from_passed(passed))
}
