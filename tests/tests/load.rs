//! `mlprobe load` end to end: coordinated omission avoided (an open-model run's p99 shows
//! injected stalls that a closed-model run of the same target hides), every request accounted
//! for, the JSON contract, usage errors.
//!
//! The deterministic version of the first test, on a mock clock, is in `core/src/load.rs`.

use mlprobe_tests::{code, json, qemu, root, run, stderr};
use serde_json::Value;

fn model() -> String {
    root()
        .join("firmware/models/wine.mlpb")
        .to_string_lossy()
        .into_owned()
}

fn load(extra: &[&str]) -> Value {
    let m = model();
    let mut args = vec!["load", "--model", &m, "--json", "--interval", "0"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(code(&o), 0, "stderr:\n{}", stderr(&o));
    json(&o)
}

fn accounted(v: &Value) -> u64 {
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("successful") + n("failed") + n("dropped"),
        n("total"),
        "{v}"
    );
    n("total")
}

#[test]
fn open_model_p99_reflects_stalls_that_a_closed_model_hides() {
    // 2,000 requests at 2,000 per second (one due every 500 µs); every 200th request stalls
    // 20 ms. An inference takes well under a microsecond, so 0.5 % of requests are slow in
    // themselves, but in the open model the ~40 requests due during each stall wait for it:
    // about a fifth of all requests see most of the stall.
    let stall = [
        "--requests",
        "2000",
        "--stall-every",
        "200",
        "--stall-ms",
        "20",
    ];
    let mut open_args = vec!["--rps", "2000"];
    open_args.extend_from_slice(&stall);
    let open = load(&open_args);
    let closed = load(&stall);
    assert_eq!((accounted(&open), accounted(&closed)), (2000, 2000));
    assert_eq!(
        (open["mode"].as_str(), closed["mode"].as_str()),
        (Some("open"), Some("closed"))
    );
    let p99 = |v: &Value| v["latency_us"]["p99"].as_f64().unwrap();
    eprintln!(
        "p99 with 20 ms stalls every 200 requests: open {:.1} µs, closed {:.1} µs",
        p99(&open),
        p99(&closed)
    );
    assert!(p99(&open) > 10_000.0, "open p99 {}", p99(&open));
    assert!(p99(&closed) < 5_000.0, "closed p99 {}", p99(&closed));
    // Both saw the stalls themselves.
    assert!(open["latency_us"]["max"].as_f64().unwrap() >= 20_000.0);
    assert!(closed["latency_us"]["max"].as_f64().unwrap() >= 20_000.0);
    // The requests queued behind a stall were sent late, and counted.
    assert!(
        open["late"].as_u64().unwrap() >= 10 * 20,
        "{}",
        open["late"]
    );
    assert_eq!(closed["late"], 0);
    assert_eq!(open["target"]["kind"], "host");
}

#[test]
fn requests_later_than_the_limit_are_dropped_and_counted() {
    let v = load(&[
        "--rps",
        "2000",
        "--requests",
        "1000",
        "--stall-every",
        "250",
        "--stall-ms",
        "30",
        "--max-lateness-ms",
        "5",
    ]);
    assert_eq!(accounted(&v), 1000);
    let dropped = v["dropped"].as_u64().unwrap();
    // Each 30 ms stall leaves ~50 requests more than 5 ms late: most of them are dropped.
    assert!(dropped >= 40, "{v}");
    assert!(v["error_rate"].as_f64().unwrap() > 0.0);
}

#[test]
fn duration_bounded_run_reports_the_contract_fields() {
    let v = load(
        &["--rps", "1000", "--duration", "0.5", "--data"]
            .into_iter()
            .chain([root().join("data/wine.csv").to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    for k in [
        "total",
        "successful",
        "failed",
        "dropped",
        "latency_us",
        "throughput_rps",
        "duration_s",
        "error_rate",
    ] {
        assert!(!v[k].is_null(), "{k} missing: {v}");
    }
    for k in ["p50", "p95", "p99", "p999", "max"] {
        assert!(v["latency_us"][k].as_f64().is_some(), "{k}");
    }
    // 500 requests are due in 0.5 s at 1,000 per second.
    assert_eq!(accounted(&v), 500);
    assert_eq!(v["inputs"], "data");
    assert!(v["throughput_rps"].as_f64().unwrap() > 800.0, "{v}");
}

#[test]
fn bad_flags_are_usage_errors() {
    let m = model();
    for (args, needle) in [
        (vec!["--rps", "0"], "--rps"),
        (vec!["--target", "board"], "--target"),
        (vec!["--concurrency", "0"], "--concurrency"),
        (
            vec!["--target", "qemu", "--concurrency", "2"],
            "one request at a time",
        ),
    ] {
        let mut all = vec!["load", "--model", &m];
        all.extend(args);
        let o = run(&all);
        assert_eq!(code(&o), 2, "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    }
}

#[test]
fn a_failed_latency_check_exits_1() {
    let m = model();
    let o = run([
        "load",
        "--model",
        &m,
        "--rps",
        "1000",
        "--requests",
        "200",
        "--stall-every",
        "50",
        "--stall-ms",
        "10",
        "--max-p99-us",
        "1000",
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json(&o)["passed"], false);
}

#[test]
fn open_load_on_the_qemu_device_says_where_it_ran() {
    if !qemu() {
        return;
    }
    let wine = root().join("data/wine.csv");
    let v = load(&[
        "--target",
        "qemu",
        "--rps",
        "50",
        "--requests",
        "100",
        "--warmup",
        "5",
        "--data",
        wine.to_str().unwrap(),
    ]);
    assert_eq!(v["target"]["kind"], "qemu");
    assert_eq!(v["target"]["board"], "qemu-mps2-an386");
    assert!(v["target"]["link"].as_str().unwrap().starts_with("tcp://"));
    assert_eq!(accounted(&v), 100);
    assert_eq!(v["successful"], 100, "{v}");
    eprintln!(
        "QEMU at 50 req/s: p50 {} µs, p99 {} µs",
        v["latency_us"]["p50"], v["latency_us"]["p99"]
    );
}

#[test]
fn a_device_that_cannot_be_reached_is_a_device_failure() {
    // Exit 4 (device, link or emulator failed), not a usage error or an internal one.
    let m = model();
    let o = run([
        "load",
        "--model",
        &m,
        "--target",
        "serial:/nonexistent/ttyMLPROBE",
        "--requests",
        "1",
    ]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("device: /nonexistent/ttyMLPROBE"),
        "{}",
        stderr(&o)
    );
}
