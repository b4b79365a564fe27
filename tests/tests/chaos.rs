//! `mlprobe chaos` end to end: damaged frames on the QEMU device's link (nothing lost, nothing
//! wrong), weight bit flips that hurt more as the bit-error rate rises (exponent bits most),
//! damaged inputs caught by the expectation suite, the seed's failure injection.
//!
//! The QEMU test needs `qemu-system-arm` and the `thumbv7em-none-eabihf` target (`.ci/run`
//! installs both); it is skipped with a message when QEMU is not installed.

use mlprobe_tests::{code, data, json, qemu, root, run, stderr};
use serde_json::Value;

fn model() -> String {
    root()
        .join("firmware/models/wine.mlpb")
        .to_string_lossy()
        .into_owned()
}

fn chaos(args: &[&str]) -> Value {
    let m = model();
    let mut all = vec!["chaos", "--model", &m, "--json"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert_eq!(code(&o), 0, "{all:?}\nstderr:\n{}", stderr(&o));
    json(&o)
}

fn assert_link_clean(v: &Value, faults: u64) {
    let m = &v["measured"];
    let n = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    assert_eq!(n("bad_frames"), faults, "{v}");
    assert_eq!(n("valid_requests"), faults);
    assert_eq!(n("lost"), 0, "{v}");
    assert_eq!(n("wrong"), 0, "{v}");
    assert_eq!(n("duplicates"), 0, "{v}");
    assert_eq!(n("unexpected"), 0, "{v}");
    assert_eq!(n("answered_correctly"), faults);
    assert_eq!(
        n("rejected"),
        faults,
        "each damaged frame rejected exactly once"
    );
    // The device's own counters agree: nothing double counted.
    assert_eq!(n("device_served"), faults);
    assert_eq!(n("device_rejected"), faults);
    for kind in ["corrupted", "truncated", "garbage", "oversized"] {
        assert!(
            m["bad_frames_by_kind"][kind].as_u64().unwrap() > 0,
            "{kind}"
        );
    }
    assert_eq!(v["resilience_score"], 1.0);
    assert_eq!(v["passed"], true);
}

#[test]
fn link_faults_in_qemu_lose_nothing_and_answer_nothing_wrong() {
    if !qemu() {
        return;
    }
    let wine = data("wine.csv");
    let v = chaos(&[
        "--experiment",
        "link",
        "--target",
        "qemu",
        "--faults",
        "1000",
        "--data",
        wine.to_str().unwrap(),
    ]);
    assert_eq!(v["target"]["kind"], "qemu");
    assert_eq!(v["target"]["board"], "qemu-mps2-an386");
    let m = &v["measured"];
    eprintln!(
        "chaos link in QEMU: {} frames, {} damaged {}, lost {}, wrong {}, {:.1} s",
        m["frames_sent"],
        m["bad_frames"],
        m["bad_frames_by_kind"],
        m["lost"],
        m["wrong"],
        m["seconds"]
    );
    assert_link_clean(&v, 1000);
    assert!(m["silences"].as_u64().unwrap() >= 100);
}

#[test]
fn link_faults_against_the_in_process_server() {
    let v = chaos(&[
        "--experiment",
        "link",
        "--faults",
        "400",
        "--silence-ms",
        "1",
    ]);
    assert_eq!(v["target"]["kind"], "host");
    assert_link_clean(&v, 400);
}

#[test]
fn bitflips_hurt_more_as_the_bit_error_rate_rises_and_exponent_bits_most() {
    let wine = data("wine.csv");
    let rates = [1e-5, 1e-4, 1e-3, 1e-2];
    let (mut agreement, mut exponent, mut mantissa, mut sign) = ([0.0; 4], 0.0, 0.0, 0.0);
    let seeds = ["1", "2", "3"];
    for seed in seeds {
        let v = chaos(&[
            "--experiment",
            "bitflip",
            "--data",
            wine.to_str().unwrap(),
            "--ber",
            "0.00001,0.0001,0.001,0.01",
            "--trials",
            "40",
            "--class-flips",
            "4",
            "--seed",
            seed,
        ]);
        let m = &v["measured"];
        for (k, p) in m["sweep"].as_array().unwrap().iter().enumerate() {
            assert_eq!(p["ber"].as_f64().unwrap(), rates[k]);
            agreement[k] += p["agreement"].as_f64().unwrap() / seeds.len() as f64;
        }
        let by = |bits: &str| {
            m["by_bits"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["bits"] == bits)
                .unwrap()["agreement"]
                .as_f64()
                .unwrap()
                / seeds.len() as f64
        };
        exponent += by("exponent");
        mantissa += by("mantissa");
        sign += by("sign");
        assert_eq!(m["by_tensor"].as_array().unwrap().len(), 4);
    }
    eprintln!(
        "agreement with the fault-free model by bit-error rate {rates:?}: {agreement:.4?}; \
         4 flips: exponent {exponent:.4}, mantissa {mantissa:.4}, sign {sign:.4}"
    );
    for k in 1..4 {
        assert!(agreement[k] <= agreement[k - 1], "{agreement:?}");
    }
    assert!(agreement[0] > 0.99 && agreement[3] < 0.8, "{agreement:?}");
    assert!(
        exponent < mantissa,
        "exponent {exponent} vs mantissa {mantissa}"
    );
    assert!(mantissa > 0.99, "{mantissa}");
}

#[test]
fn damaged_inputs_change_predictions_and_the_suite_catches_them() {
    let wine = data("wine.csv");
    let suite = data("wine.suite.toml");
    let v = chaos(&[
        "--experiment",
        "input",
        "--data",
        wine.to_str().unwrap(),
        "--suite",
        suite.to_str().unwrap(),
    ]);
    let m = &v["measured"];
    assert_eq!(m["suite_passes_clean_data"], true);
    let faults = m["faults"].as_array().unwrap();
    let get = |name: &str| faults.iter().find(|f| f["fault"] == name).unwrap();
    for f in faults {
        assert_eq!(f["caught_by_suite"], true, "{f}");
    }
    // A missing value is filled by the normalizer: few predictions change. An infinite one
    // saturates the network.
    assert!(get("nan")["changed_rate"].as_f64().unwrap() < 0.05);
    assert!(get("+inf")["changed_rate"].as_f64().unwrap() > 0.3);
    let score = v["resilience_score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 1.0);
}

#[test]
fn injected_failures_are_seeded_and_retries_recover() {
    let once = |extra: &[&str]| {
        let mut a = vec![
            "--experiment",
            "failure",
            "--iterations",
            "400",
            "--seed",
            "7",
        ];
        a.extend_from_slice(extra);
        chaos(&a)
    };
    let a = once(&["--failure-rate", "0.2"]);
    let b = once(&["--failure-rate", "0.2"]);
    assert_eq!(a["measured"]["successes"], b["measured"]["successes"]);
    let s = a["resilience_score"].as_f64().unwrap();
    assert!((0.72..0.88).contains(&s), "{s}");
    let r = once(&["--failure-rate", "0.2", "--retries", "2"]);
    assert!(r["resilience_score"].as_f64().unwrap() > 0.97);
    // --min-score turns the score into a check.
    let m = model();
    let o = run([
        "chaos",
        "--model",
        &m,
        "--experiment",
        "failure",
        "--failure-rate",
        "0.5",
        "--min-score",
        "0.9",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[test]
fn bitflip_on_a_device_and_experiments_without_data_are_usage_errors() {
    let m = model();
    for (args, needle) in [
        (
            vec!["--experiment", "bitflip", "--target", "qemu"],
            "use --target host",
        ),
        (vec!["--experiment", "bitflip"], "--data"),
        (
            vec!["--experiment", "failure", "--failure-rate", "2"],
            "--failure-rate",
        ),
    ] {
        let mut all = vec!["chaos", "--model", &m];
        all.extend(args);
        let o = run(&all);
        assert_eq!(code(&o), 2, "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    }
}

#[test]
fn a_refused_tcp_link_is_a_device_failure() {
    // Nothing listens on port 1: the link fails (exit 4) after the connection retries.
    let m = model();
    let o = run([
        "chaos",
        "--model",
        &m,
        "--experiment",
        "failure",
        "--target",
        "tcp:127.0.0.1:1",
    ]);
    assert_eq!(code(&o), 4, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("device: tcp:127.0.0.1:1"),
        "{}",
        stderr(&o)
    );
}
