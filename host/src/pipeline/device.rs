//! The device-side stages of the pipeline: the new model validated bit for bit in QEMU, load
//! on the host and the device, chaos experiments. Each calls the library of its subcommand
//! with typed options.

use super::{Config, RunOptions, State, json, skipped, verdict};
use crate::chaos::{BitflipOptions, ChaosOptions, Experiment, InputOptions, LinkOptions, Sweep};
use crate::device::{self, Endpoint, SessionOptions, TargetSpec, ValidateOptions};
use crate::error::{Error, Result};
use crate::load::LoadOptions;
use crate::qemu;
use crate::report::{Case, LatencyChart, Line, Report, StageStatus, Status, Suite as Stage};
use std::path::PathBuf;

pub(super) fn stage_device(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Stage> {
    if let Err(why) = &state.device {
        return Ok(skipped(
            "device",
            "on-device validation not run",
            why.clone(),
        ));
    }
    let fitted = state
        .fitted
        .as_ref()
        .ok_or_else(|| Error::Usage("no model: the train stage failed".into()))?;
    // Validate on the held-out rows: write them to a CSV beside the report.
    let held_out = state.model_path.with_file_name("held_out.csv");
    fitted
        .data
        .write_csv(&held_out, fitted.split.test.iter().copied())?;
    let mut session = SessionOptions::new(Endpoint::Qemu { port: None });
    session.firmware = cfg.device.firmware.clone();
    let v = device::validate(&ValidateOptions {
        model: state.model_path.clone(),
        data: held_out,
        label: cfg.label.clone(),
        session,
        tolerance: device::Tolerance::EXACT,
    })?;
    if let Some(c) = &v.instructions_per_inference {
        report.charts.latency.push(LatencyChart {
            target: "qemu (mps2-an386, Cortex-M4F)".into(),
            unit: "instructions".into(),
            percentiles: vec![
                ("p50".into(), f64::from(c.p50)),
                ("max".into(), f64::from(c.max)),
            ],
            histogram: v
                .cost_histogram
                .iter()
                .map(|&(value, n)| (f64::from(value), u64::from(n)))
                .collect(),
        });
    }
    let checks = vec![
        Case::check(
            "bit-exact logits",
            v.bit_exact,
            format!("{} mismatching logits over {} rows", v.mismatches, v.n),
        ),
        Case::check(
            "device accuracy equals host accuracy",
            v.device_accuracy == v.host_accuracy,
            format!("device {:?}, host {:?}", v.device_accuracy, v.host_accuracy),
        ),
    ];
    let summary = format!(
        "{} rows in QEMU: {}, {} instructions per inference (p50), flash {} B, RAM {} B, stack peak {} B",
        v.n,
        if v.bit_exact {
            "bit-exact"
        } else {
            "MISMATCHES"
        },
        v.instructions_per_inference.as_ref().map_or(0, |c| c.p50),
        v.flash_bytes.unwrap_or(0),
        v.ram_bytes.unwrap_or(0),
        v.stack_peak_bytes
    );
    Ok(Stage {
        properties: Vec::new(),
        name: "device".into(),
        status: Some(verdict(&checks)),
        duration_s: 0.0,
        summary,
        cases: checks,
        notes: Vec::new(),
        details: json(&v),
    })
}

pub(super) fn stage_load(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    _: &mut Report,
) -> Result<Stage> {
    if !cfg.load.enabled {
        return Ok(skipped(
            "load",
            "load tests not run",
            "[load] enabled = false".into(),
        ));
    }
    let l = &cfg.load;
    let load_on = |target: TargetSpec, rps: f64, requests: u64, warmup: Option<u64>| {
        let mut o = LoadOptions::new(state.model_path.clone());
        o.target = target;
        o.rps = Some(rps);
        o.requests = Some(requests);
        o.warmup = warmup.unwrap_or(o.warmup);
        o.data = Some(cfg.data.clone());
        o.label = cfg.label.clone();
        crate::load::execute(&o, |_, _| {})
    };
    let host = load_on(TargetSpec::Host, l.rps, l.requests, None)?;
    let mut checks = vec![
        Case::check(
            "host: every request accounted for",
            accounted(&host),
            format!(
                "{} = {} ok + {} failed + {} dropped",
                host.total, host.successful, host.failed, host.dropped
            ),
        ),
        Case::check(
            format!(
                "host: p99 latency <= {} µs at {} req/s (open model)",
                l.max_p99_us, l.rps
            ),
            host.latency_us.p99 <= l.max_p99_us && host.successful > 0,
            format!(
                "p99 {:.1} µs, throughput {:.0} req/s",
                host.latency_us.p99, host.throughput_rps
            ),
        ),
        Case::check(
            "host: no failed or dropped requests",
            host.failed == 0 && host.dropped == 0,
            format!("error rate {:.4}", host.error_rate),
        ),
    ];
    let mut notes = Vec::new();
    let mut summary = format!(
        "host {} requests at {} req/s: p99 {:.1} µs from due time",
        host.total, l.rps, host.latency_us.p99
    );
    let mut errored = false;
    let device = match &state.device {
        Ok(()) => match load_on(TargetSpec::Qemu, l.device_rps, l.device_requests, Some(5)) {
            Ok(d) => {
                checks.push(Case::check(
                    "qemu: every request accounted for",
                    accounted(&d),
                    format!(
                        "{} = {} ok + {} failed + {} dropped",
                        d.total, d.successful, d.failed, d.dropped
                    ),
                ));
                checks.push(Case::check(
                    "qemu: no failed requests",
                    d.failed == 0,
                    format!("{} failed, {} late", d.failed, d.late),
                ));
                summary += &format!(
                    "; qemu {} requests at {} req/s: p99 {:.0} µs",
                    d.total, l.device_rps, d.latency_us.p99
                );
                notes.push("qemu latency is the emulator's UART round trip, not the model's cost (see the device stage)".into());
                json(&d)
            }
            Err(e) => {
                errored = true;
                summary += &format!("; qemu load could not run: {e}");
                checks.push(could_not_run("qemu: load run", &e));
                serde_json::Value::Null
            }
        },
        Err(why) => {
            notes.push(format!("device load not run: {why}"));
            serde_json::Value::Null
        }
    };
    Ok(Stage {
        properties: Vec::new(),
        name: "load".into(),
        status: Some(status_of(&checks, errored)),
        duration_s: 0.0,
        summary,
        cases: checks,
        notes,
        details: serde_json::json!({ "host": json(&host), "qemu": device }),
    })
}

pub(super) fn stage_chaos(
    cfg: &Config,
    _: &RunOptions,
    state: &mut State,
    report: &mut Report,
) -> Result<Stage> {
    if !cfg.chaos.enabled {
        return Ok(skipped(
            "chaos",
            "chaos experiments not run",
            "[chaos] enabled = false".into(),
        ));
    }
    let c = &cfg.chaos;
    let chaos_on = |experiment: Experiment, target: TargetSpec, min_score: Option<f64>| {
        let mut o = ChaosOptions::new(state.model_path.clone(), experiment);
        o.target = target;
        o.min_score = min_score;
        o.data = Some(cfg.data.clone());
        o.label = cfg.label.clone();
        crate::chaos::execute(&o)
    };
    let mut checks = Vec::new();
    let mut details = serde_json::Map::new();
    let mut parts = Vec::new();

    let sweep = BitflipOptions {
        sweep: Sweep::Ber(c.ber.clone()),
        ..BitflipOptions::default()
    };
    let bitflip = chaos_on(
        Experiment::Bitflip(sweep),
        TargetSpec::Host,
        Some(c.min_bitflip_score),
    )?;
    if let crate::chaos::Measured::Bitflip(b) = &bitflip.measured {
        type Of = fn(&crate::chaos::Point) -> Option<f64>;
        for (key, name) in [
            ((|p| p.accuracy) as Of, "accuracy against the labels"),
            (|p| Some(p.agreement), "agreement with the fault-free model"),
        ] {
            let points = b
                .sweep
                .iter()
                .filter_map(|p| Some((p.ber?, key(p)?)))
                .collect();
            report.charts.bitflip.push(Line {
                name: name.into(),
                points,
            });
        }
    }
    checks.push(Case::check(
        format!("bitflip: resilience score >= {}", c.min_bitflip_score),
        bitflip.passed,
        format!(
            "{:.4}: {}",
            bitflip.resilience_score, bitflip.score_definition
        ),
    ));
    parts.push(format!("bitflip score {:.3}", bitflip.resilience_score));
    details.insert("bitflip".into(), json(&bitflip));

    let input = InputOptions {
        suite: cfg.suite.clone(),
        ..InputOptions::default()
    };
    let input = chaos_on(Experiment::Input(input), TargetSpec::Host, None)?;
    checks.push(Case::check(
        "input: every fault ran",
        input.passed,
        format!("{:.4}: {}", input.resilience_score, input.score_definition),
    ));
    parts.push(format!("input score {:.3}", input.resilience_score));
    details.insert("input".into(), json(&input));

    let mut notes = Vec::new();
    let mut errored = false;
    match &state.device {
        Ok(()) => {
            let faults = LinkOptions {
                faults: c.link_faults,
                ..LinkOptions::default()
            };
            match chaos_on(Experiment::Link(faults), TargetSpec::Qemu, Some(1.0)) {
                Ok(link) => {
                    checks.push(Case::check("link (qemu): every valid request answered once and right, every bad frame rejected", link.passed, format!("{:.4}: {}", link.resilience_score, link.score_definition)));
                    parts.push(format!("link score {:.3}", link.resilience_score));
                    details.insert("link".into(), json(&link));
                }
                Err(e) => {
                    errored = true;
                    parts.push(format!("link experiment could not run: {e}"));
                    checks.push(could_not_run("link (qemu): experiment run", &e));
                }
            }
        }
        Err(why) => notes.push(format!("link experiment not run: {why}")),
    }
    Ok(Stage {
        properties: Vec::new(),
        name: "chaos".into(),
        status: Some(status_of(&checks, errored)),
        duration_s: 0.0,
        summary: parts.join(", "),
        cases: checks,
        notes,
        details: serde_json::Value::Object(details),
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Whether the device stages run, and why not: `--no-device` or `[device] enabled = false`,
/// QEMU missing from PATH, or no firmware crate where `[device] firmware` (or
/// `$MLPROBE_FIRMWARE`, or this checkout's `firmware/`) points.
pub(super) fn available(cfg: &Config, opts: &RunOptions) -> std::result::Result<(), String> {
    if opts.no_device {
        return Err("disabled by --no-device".into());
    }
    if !cfg.device.enabled {
        return Err("disabled by [device] enabled = false in the configuration".into());
    }
    if which(qemu::QEMU).is_none() {
        return Err(format!(
            "{} not found on PATH: install it (Debian/Ubuntu: apt-get install qemu-system-arm, or ./scripts/setup.sh)",
            qemu::QEMU
        ));
    }
    let dir = crate::firmware::firmware_dir(cfg.device.firmware.as_deref());
    if !dir.join("Cargo.toml").is_file() {
        return Err(format!(
            "no firmware crate at {}: set `firmware = \"DIR\"` under [device] in the configuration (the directory of mlprobe's firmware crate), or $MLPROBE_FIRMWARE",
            dir.display()
        ));
    }
    Ok(())
}

/// A check that could not run: an error case, the message as its reason.
fn could_not_run(name: &str, e: &Error) -> Case {
    Case::new(
        name,
        "",
        Status::Error {
            message: e.to_string(),
            kind: "error".into(),
        },
    )
}

/// A stage's status: error when a part of it could not run (its other parts' checks stay
/// and are judged), else from the checks.
fn status_of(checks: &[Case], errored: bool) -> StageStatus {
    if errored {
        StageStatus::Error
    } else {
        verdict(checks)
    }
}

fn accounted(r: &crate::load::LoadReport) -> bool {
    r.successful + r.failed + r.dropped == r.total
}
