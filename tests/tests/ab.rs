//! `mlprobe ab …` end to end: the JSON fields of DESIGN.md pinned to published reference
//! values, exit codes, and input errors that name their flag (exit 2, never NaN).

use mlprobe_tests::{code, json, run, stderr, stdout};
use std::io::Write;

#[track_caller]
fn close(v: &serde_json::Value, want: f64, tol: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

/// Runs `mlprobe ab args… --json`, expects exit `want_code` and returns the JSON.
fn ab_json(args: &[&str], want_code: i32) -> serde_json::Value {
    let mut full = vec!["ab"];
    full.extend_from_slice(args);
    full.push("--json");
    let o = run(&full);
    assert_eq!(
        code(&o),
        want_code,
        "args {args:?}\nstderr:\n{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("NaN"), "NaN in output: {}", stdout(&o));
    json(&o)
}

/// Runs `mlprobe ab args…`, expects exit 2 and a message naming `flag`.
#[track_caller]
fn input_error(args: &[&str], flag: &str) {
    let mut full = vec!["ab"];
    full.extend_from_slice(args);
    let o = run(&full);
    assert_eq!(code(&o), 2, "args {args:?}\nstdout:\n{}", stdout(&o));
    assert!(
        stderr(&o).contains(flag),
        "args {args:?}: message does not name {flag}:\n{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "stdout on error: {}", stdout(&o));
}

// Issue 5: the pooled z-test of 250/1000 (treatment) against 200/1000 (control) gives
// z = 2.6774 (treatment − control), two-sided p = 0.0074196 (statsmodels
// proportions_ztest); the 95% Wald interval of the difference is [0.013464, 0.086536].
#[test]
fn ztest_json_matches_the_reference() {
    let v = ab_json(
        &["ztest", "--control", "200/1000", "--treatment", "250/1000"],
        0,
    );
    close(&v["z"], 2.6774, 5e-5);
    close(&v["p_value"], 0.0074196, 5e-8);
    assert_eq!(v["significant"], true);
    close(&v["alpha"], 0.05, 0.0);
    assert_eq!(v["control"]["conversions"], 200);
    assert_eq!(v["control"]["total"], 1000);
    close(&v["control"]["rate"], 0.2, 1e-15);
    close(&v["treatment"]["rate"], 0.25, 1e-15);
    close(&v["absolute_lift"], 0.05, 1e-15);
    close(&v["relative_lift"], 0.25, 1e-15);
    close(&v["ci"][0], 0.013_463_621_687_539_84, 1e-12);
    close(&v["ci"][1], 0.086_536_378_312_460_15, 1e-12);
    // A 99% interval is wider: the level follows alpha.
    let v99 = ab_json(
        &[
            "ztest",
            "--control",
            "200/1000",
            "--treatment",
            "250/1000",
            "--alpha",
            "0.01",
        ],
        0,
    );
    assert!(v99["ci"][0].as_f64().unwrap() < 0.0135);
    // One-sided.
    let v = ab_json(
        &[
            "ztest",
            "--control",
            "200/1000",
            "--treatment",
            "250/1000",
            "--alternative",
            "larger",
        ],
        0,
    );
    close(&v["p_value"], 0.0037098, 5e-8);
}

#[test]
fn ztest_with_no_conversions_has_no_nan() {
    let v = ab_json(&["ztest", "--control", "0/100", "--treatment", "0/100"], 0);
    close(&v["z"], 0.0, 0.0);
    close(&v["p_value"], 1.0, 0.0);
    assert!(v["relative_lift"].is_null());
}

// The seed's formula (Fleiss et al. 2003, eq. 4.14 without continuity correction) for 10% →
// 12% at alpha 0.05, power 0.8: 3840.85 → 3841 per variant (mpmath).
#[test]
fn size_and_power_json() {
    let v = ab_json(&["size", "--baseline", "0.10", "--mde", "0.02"], 0);
    assert_eq!(v["per_variant"], 3841);
    assert_eq!(v["total"], 7682);
    let v = ab_json(
        &["size", "--baseline", "0.10", "--mde", "0.2", "--relative"],
        0,
    );
    assert_eq!(v["per_variant"], 3841);
    let v = ab_json(
        &[
            "power",
            "--baseline",
            "0.10",
            "--mde",
            "0.02",
            "--n",
            "3841",
        ],
        0,
    );
    // statsmodels 0.15.0: power_proportions_2indep(0.02, 0.1, 3841,
    // return_results=False) = 0.8000165286163742 (the z-test's power, both tails).
    let p = v["power"].as_f64().unwrap();
    assert!((p - 0.800_016_528_616_374_2).abs() < 1e-12, "{p}");
    assert_eq!(v["power_formula"], "test");
    let mde = v["detectable_mde"].as_f64().unwrap();
    assert!(mde <= 0.02 && mde > 0.0199, "{mde}");
}

/// Issue 14, finding 5: `ab power --baseline 0.5 --n 100 --mde 0.0001` gave 0.0251 (one tail)
/// where the two-sided test `ab ztest` runs rejects with probability alpha = 0.05.
#[test]
fn regression_power_counts_both_tails() {
    let args = [
        "power",
        "--baseline",
        "0.5",
        "--n",
        "100",
        "--mde",
        "0.0001",
    ];
    // statsmodels 0.15.0: power_proportions_2indep(0.0001, 0.5, 100, return_results=False)
    // = 0.0500002279549949.
    let v = ab_json(&args, 0);
    let p = v["power"].as_f64().unwrap();
    assert!((p - 0.050_000_227_954_994_9).abs() < 1e-12, "{p}");
    // The seed's formula on request: power_proportions_2indep(0.0001, 0.5, 100, alpha=0.025,
    // alternative="larger", return_results=False) = 0.025082767865394345.
    let mut seed = args.to_vec();
    seed.extend(["--power-formula", "seed"]);
    let v = ab_json(&seed, 0);
    let p = v["power"].as_f64().unwrap();
    assert!((p - 0.025_082_767_865_394_345).abs() < 1e-12, "{p}");
    assert_eq!(v["power_formula"], "seed");
    // One-sided `smaller`: the detectable effect is a decrease. scipy.optimize.brentq(lambda d:
    // power_proportions_2indep(-d, 0.1, 3000, alternative="smaller", return_results=False)
    // - 0.8, 1e-9, 0.1 - 1e-9, xtol=1e-15) = 0.018441273769004417.
    let v = ab_json(
        &[
            "power",
            "--baseline",
            "0.1",
            "--n",
            "3000",
            "--alternative",
            "smaller",
        ],
        0,
    );
    let m = v["detectable_mde"].as_f64().unwrap();
    assert!((m + 0.018_441_273_769_004_417).abs() < 1e-10, "{m}");
}

// Issue 5: Evan Miller's closed form gives P(B > A) = 0.9300618733 for 21/200 (A) against
// 31/200 (B) under Beta(1, 1).
#[test]
fn bayes_json_matches_evan_miller() {
    let v = ab_json(
        &[
            "bayes",
            "--control",
            "21/200",
            "--treatment",
            "31/200",
            "--seed",
            "42",
        ],
        0,
    );
    close(&v["prob_treatment_better"], 0.930_061_873_3, 1e-10);
    close(&v["prob_treatment_better_mc"], 0.930_06, 0.005);
    close(&v["control"]["mean"], 22.0 / 202.0, 1e-15);
    close(&v["treatment"]["mean"], 32.0 / 202.0, 1e-15);
    let ci = &v["control"]["ci"];
    assert!(ci[0].as_f64().unwrap() < 22.0 / 202.0 && 22.0 / 202.0 < ci[1].as_f64().unwrap());
    close(&v["expected_lift"], 0.516_265_912_305_516_3, 1e-12);
    assert!(v["lift_ci"][0].as_f64().unwrap() < v["lift_ci"][1].as_f64().unwrap());
    close(
        &v["expected_loss"]["treatment"],
        0.001_047_868_012_954_1,
        1e-12,
    );
    close(
        &v["expected_loss"]["control"],
        0.050_552_818_508_003_6,
        1e-12,
    );
    assert_eq!(v["decision"], "inconclusive");
    // The same seed gives the same Monte-Carlo numbers.
    let again = ab_json(
        &[
            "bayes",
            "--control",
            "21/200",
            "--treatment",
            "31/200",
            "--seed",
            "42",
        ],
        0,
    );
    assert_eq!(v, again);
    // A lower threshold decides; a loss threshold too.
    let v = ab_json(
        &[
            "bayes",
            "--control",
            "21/200",
            "--treatment",
            "31/200",
            "--threshold",
            "0.9",
            "--samples",
            "1000",
        ],
        0,
    );
    assert_eq!(v["decision"], "treatment");
    let v = ab_json(
        &[
            "bayes",
            "--control",
            "21/200",
            "--treatment",
            "31/200",
            "--loss-threshold",
            "0.002",
            "--samples",
            "1000",
        ],
        0,
    );
    assert_eq!(v["decision"], "treatment");
}

/// Issue 14's reproducers of `ab bayes`, each with its reference: symmetry, scipy `quad` (via
/// tests/reference/bayes.py's `scipy_case`), or Evan Miller's sum and Stucchio's closed form in
/// mpmath at 50 digits (`miller_case`). Relative tolerance 1e-9, the issue's.
/// Issue 15 (found by the hostile-input sweep): a prior of 1e12,1e12 took a minute and gave
/// unconverged tails; posteriors past `MAX_SHAPE` (1e10) are refused, naming the flag.
#[test]
fn bayes_parameters_beyond_the_exact_range_are_usage_errors() {
    input_error(
        &[
            "bayes",
            "--control=21/200",
            "--treatment=31/200",
            "--prior=1e12,1e12",
        ],
        "--prior",
    );
    input_error(
        &["bayes", "--control=1/20000000000", "--treatment=31/200"],
        "--control",
    );
    input_error(
        &[
            "bayes",
            "--control=21/200",
            "--treatment=19999999999/20000000000",
        ],
        "--treatment",
    );
    // At the bound: answered (the values are checked in core against the normal limit).
    let v = ab_json(
        &[
            "bayes",
            "--control=21/200",
            "--treatment=31/200",
            "--prior=9999999800,9999999800",
        ],
        0,
    );
    assert!(v["prob_treatment_better"].as_f64().unwrap() > 0.5);
}

#[test]
fn bayes_reproducers_of_issue_14() {
    #[track_caller]
    fn rel(v: &serde_json::Value, want: f64) {
        let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
        assert!(
            (got - want).abs() <= 1e-9 * want.abs(),
            "got {got:e}, want {want:e}"
        );
    }
    let bayes = |control: &str, treatment: &str, extra: &[&str]| {
        let mut args = vec![
            "bayes",
            "--control",
            control,
            "--treatment",
            treatment,
            "--samples",
            "1000",
        ];
        args.extend_from_slice(extra);
        ab_json(&args, 0)
    };
    // Identical arms under Beta(0.05, 0.05): ½ by symmetry (was 0.4184).
    let v = bayes("0/100", "0/100", &["--prior", "0.05,0.05"]);
    assert_eq!(v["prob_treatment_better"].as_f64(), Some(0.5));
    rel(&v["expected_loss"]["control"], 4.677_234_240_990_550_5e-4);
    // 0/100 against 1/100: 0.9684263012888598 (scipy), which crosses 0.95 (was 0.8832).
    let v = bayes("0/100", "1/100", &["--prior", "0.05,0.05"]);
    rel(&v["prob_treatment_better"], 0.968_426_301_288_859_8);
    rel(&v["expected_loss"]["control"], 0.010_139_962_660_094_596);
    assert_eq!(v["decision"], "treatment");
    // 100/100 twice under Beta(0.1, 0.1): each loss 8.809475903224417e-4 (scipy), above the
    // 0.0005 threshold, so no decision (was 0.0 and "treatment").
    let v = bayes(
        "100/100",
        "100/100",
        &["--prior", "0.1,0.1", "--loss-threshold", "0.0005"],
    );
    rel(&v["expected_loss"]["control"], 8.809_475_903_224_417e-4);
    rel(&v["expected_loss"]["treatment"], 8.809_475_903_224_417e-4);
    assert_eq!(v["decision"], "inconclusive");
    // Tiny probabilities, direct (mpmath): were 6.4e-11 and 1.8e-15.
    let v = bayes("925034/1000000", "146/249", &[]);
    rel(&v["prob_treatment_better"], 3.519_390_938_878_521_3e-50);
    let v = bayes("10/20", "100/100000", &[]);
    rel(&v["prob_treatment_better"], 6.589_729_682_148_299e-28);
    // Identical arms of 507716/802951: each loss 3.035883919695058e-4 (Stucchio's form on
    // Miller's sums, mpmath at 50 digits; the closed form in f64 gave 3.03588276e-4).
    let v = bayes("507716/802951", "507716/802951", &[]);
    rel(&v["expected_loss"]["control"], 3.035_883_919_695_058e-4);
    rel(&v["expected_loss"]["treatment"], 3.035_883_919_695_058e-4);
}

#[test]
fn bayes_with_no_control_conversions_reports_unbounded_lift_as_null() {
    let v = ab_json(
        &[
            "bayes",
            "--control",
            "0/50",
            "--treatment",
            "3/50",
            "--samples",
            "1000",
        ],
        0,
    );
    assert!(v["expected_lift"].is_null());
    assert!(v["prob_treatment_better"].as_f64().unwrap() > 0.9);
}

// Issue 5: Holm on [0.001, 0.01, 0.05, 0.1, 0.5, 0.9] gives [0.006, 0.05, 0.2, 0.3, 1, 1] and
// Benjamini–Hochberg [0.006, 0.03, 0.1, 0.15, 0.6, 0.9] (R's p.adjust).
#[test]
fn adjust_json_matches_r_p_adjust() {
    let p = ["0.001", "0.01", "0.05", "0.1", "0.5", "0.9"];
    for (method, want, rejected) in [
        ("holm", [0.006, 0.05, 0.2, 0.3, 1.0, 1.0], 2),
        ("bh", [0.006, 0.03, 0.1, 0.15, 0.6, 0.9], 2),
        ("bonferroni", [0.006, 0.06, 0.3, 0.6, 1.0, 1.0], 1),
    ] {
        let mut args = vec!["adjust", "--method", method];
        args.extend_from_slice(&p);
        let v = ab_json(&args, 0);
        assert_eq!(v["method"], method);
        for (got, w) in v["adjusted"].as_array().unwrap().iter().zip(want) {
            close(got, w, 1e-12);
        }
        let n = v["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r.as_bool() == Some(true))
            .count();
        assert_eq!(n, rejected, "{method}");
    }
}

// scipy.stats.chisquare([50500, 49500]) against a 50/50 plan: χ² = 10, p = 0.0015654.
#[test]
fn srm_flags_a_mismatch_with_exit_1() {
    let v = ab_json(&["srm", "--observed", "50500,49500"], 0);
    close(&v["chi2"], 10.0, 1e-9);
    close(&v["p_value"], 0.001_565_402_258_002_55, 1e-12);
    assert_eq!(v["mismatch"], false);
    let v = ab_json(
        &["srm", "--observed", "50500,49500", "--threshold", "0.01"],
        1,
    );
    assert_eq!(v["mismatch"], true);
    // A planned 2:1 split that was honoured.
    let v = ab_json(&["srm", "--observed", "2000,1000", "--expected", "2,1"], 0);
    close(&v["chi2"], 0.0, 1e-12);
}

fn events_file(rows: impl Iterator<Item = (bool, bool)>) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(f, "variant,converted").unwrap();
    for (treatment, converted) in rows {
        writeln!(
            f,
            "{},{}",
            if treatment { "treatment" } else { "control" },
            u8::from(converted)
        )
        .unwrap();
    }
    f
}

/// A deterministic stream: alternating arms, control converts 10%, treatment `t_every`-th.
fn stream(n: usize, treatment_period: usize) -> impl Iterator<Item = (bool, bool)> {
    (0..n).map(move |i| {
        let treatment = i % 2 == 1;
        let k = i / 2;
        let converted = if treatment {
            k % treatment_period == 0
        } else {
            k % 10 == 0
        };
        (treatment, converted)
    })
}

#[test]
fn sequential_stops_on_a_real_difference_and_not_on_none() {
    // Treatment converts 1 in 4 against 1 in 10: both tests stop early.
    let f = events_file(stream(20_000, 4));
    let path = f.path().to_str().unwrap();
    let v = ab_json(&["sequential", "--events", path], 0);
    assert_eq!(v["method"], "msprt");
    assert_eq!(v["events"], 20_000);
    assert_eq!(v["stopped"], true);
    let look = v["stopped_at_look"].as_u64().unwrap();
    assert_eq!(v["stopped_at_event"].as_u64().unwrap(), look * 100);
    assert!(v["p_value"].as_f64().unwrap() <= 0.05);
    assert!(look < 200, "{look}");
    let v = ab_json(
        &[
            "sequential",
            "--events",
            path,
            "--method",
            "obf",
            "--look-every",
            "1000",
        ],
        0,
    );
    assert_eq!(v["stopped"], true);
    assert_eq!(v["planned_looks"], 20);
    assert!(v["z"].as_f64().unwrap().abs() >= v["boundary"].as_f64().unwrap());
    // Identical streams: neither stops.
    let f = events_file(stream(4_000, 10));
    let path = f.path().to_str().unwrap();
    for method in ["msprt", "obf"] {
        let v = ab_json(&["sequential", "--events", path, "--method", method], 0);
        assert_eq!(v["stopped"], false, "{method}");
        assert!(v["stopped_at_look"].is_null());
        assert_eq!(v["looks"], 40);
    }
}

#[test]
fn sequential_reports_the_line_of_a_bad_row() {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(f, "variant,converted\ncontrol,1\ntreatment,maybe").unwrap();
    let o = run(["ab", "sequential", "--events", f.path().to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains(":3:2:"), "{}", stderr(&o));
    let o = run(["ab", "sequential", "--events", "no/such/file.csv"]);
    assert_eq!(code(&o), 2);
}

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[track_caller]
fn has_keys(v: &serde_json::Value, want: &[&str]) {
    let mut want = want.to_vec();
    want.sort_unstable();
    assert_eq!(keys(v), want);
}

// The `--json` field names of every `ab` subcommand (DESIGN.md's contract and its extras):
// none renamed, none dropped, none added by accident.
#[test]
fn json_field_names_of_every_subcommand() {
    const ARM: &[&str] = &["conversions", "total", "rate"];
    let v = ab_json(
        &["ztest", "--control", "20/100", "--treatment", "25/100"],
        0,
    );
    has_keys(
        &v,
        &[
            "z",
            "p_value",
            "significant",
            "alpha",
            "alternative",
            "control",
            "treatment",
            "absolute_lift",
            "relative_lift",
            "ci",
        ],
    );
    has_keys(&v["control"], ARM);
    has_keys(&v["treatment"], ARM);
    let v = ab_json(&["size", "--baseline", "0.1", "--mde", "0.02"], 0);
    has_keys(
        &v,
        &[
            "per_variant",
            "total",
            "baseline",
            "treatment_rate",
            "absolute_mde",
            "relative_mde",
            "alpha",
            "power",
            "alternative",
        ],
    );
    let v = ab_json(&["power", "--baseline", "0.1", "--n", "100"], 0);
    has_keys(
        &v,
        &[
            "per_variant",
            "baseline",
            "alpha",
            "alternative",
            "power_formula",
            "power",
            "treatment_rate",
            "target_power",
            "detectable_mde",
            "detectable_mde_relative",
        ],
    );
    let v = ab_json(
        &[
            "bayes",
            "--control",
            "2/10",
            "--treatment",
            "3/10",
            "--samples",
            "10",
        ],
        0,
    );
    has_keys(
        &v,
        &[
            "prob_treatment_better",
            "prob_treatment_better_mc",
            "control",
            "treatment",
            "expected_lift",
            "lift_ci",
            "expected_lift_mc",
            "expected_loss",
            "decision",
            "rule",
            "level",
            "prior",
            "samples",
            "seed",
        ],
    );
    for arm in ["control", "treatment"] {
        has_keys(&v[arm], &["mean", "ci", "posterior"]);
        has_keys(&v[arm]["posterior"], &["alpha", "beta"]);
    }
    has_keys(&v["expected_loss"], &["control", "treatment"]);
    has_keys(&v["rule"], &["rule", "threshold"]);
    has_keys(&v["prior"], &["alpha", "beta"]);
    let v = ab_json(&["srm", "--observed", "10,12"], 0);
    has_keys(
        &v,
        &[
            "chi2",
            "df",
            "p_value",
            "mismatch",
            "threshold",
            "observed",
            "expected_shares",
        ],
    );
    let v = ab_json(&["adjust", "--method", "holm", "0.01", "0.2"], 0);
    has_keys(&v, &["method", "alpha", "p_values", "adjusted", "rejected"]);
    let f = events_file(stream(200, 10));
    let v = ab_json(&["sequential", "--events", f.path().to_str().unwrap()], 0);
    has_keys(
        &v,
        &[
            "method",
            "alpha",
            "events",
            "analysed",
            "look_every",
            "looks",
            "planned_looks",
            "stopped",
            "stopped_at_look",
            "stopped_at_event",
            "p_value",
            "z",
            "boundary",
            "tau",
            "control",
            "treatment",
        ],
    );
    has_keys(&v["control"], ARM);
}

// The events file is read as RFC 4180 CSV: a quoted field is its text.
#[test]
fn sequential_reads_quoted_fields() {
    let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    writeln!(f, "\"variant\",\"converted\"\n\"A\",1\nB,\"0\"").unwrap();
    let v = ab_json(&["sequential", "--events", f.path().to_str().unwrap()], 0);
    assert_eq!(v["events"], 2);
    assert_eq!(v["control"]["conversions"], 1);
    assert_eq!(v["treatment"]["total"], 1);
}

#[test]
fn input_errors_exit_2_naming_the_flag() {
    input_error(
        &["ztest", "--control", "300/200", "--treatment", "1/2"],
        "--control",
    );
    input_error(
        &["ztest", "--control", "3/10", "--treatment", "1/0"],
        "--treatment",
    );
    input_error(
        &["ztest", "--control", "-3/10", "--treatment", "1/2"],
        "--control",
    );
    input_error(
        &["ztest", "--control", "3", "--treatment", "1/2"],
        "--control",
    );
    input_error(
        &[
            "ztest",
            "--control",
            "3/10",
            "--treatment",
            "1/2",
            "--alpha",
            "1",
        ],
        "--alpha",
    );
    input_error(
        &[
            "ztest",
            "--control",
            "3/10",
            "--treatment",
            "1/2",
            "--alpha",
            "nan",
        ],
        "--alpha",
    );
    input_error(&["size", "--baseline", "1.2", "--mde", "0.1"], "--baseline");
    input_error(&["size", "--baseline", "0", "--mde", "0.1"], "--baseline");
    input_error(
        &["size", "--baseline", "0.1", "--mde", "0.1", "--power", "1"],
        "--power",
    );
    input_error(
        &[
            "size",
            "--baseline",
            "0.1",
            "--mde",
            "0.1",
            "--alpha",
            "-0.1",
        ],
        "--alpha",
    );
    input_error(&["size", "--baseline", "0.1", "--mde", "0.95"], "--mde");
    input_error(&["size", "--baseline", "0.1", "--mde", "0"], "--mde");
    input_error(&["power", "--baseline", "0.1", "--n", "-5"], "--n");
    input_error(&["power", "--baseline", "0.1", "--n", "0"], "--n");
    input_error(
        &["bayes", "--control", "5/4", "--treatment", "1/2"],
        "--control",
    );
    input_error(
        &[
            "bayes",
            "--control",
            "1/2",
            "--treatment",
            "1/2",
            "--prior",
            "0,1",
        ],
        "--prior",
    );
    input_error(
        &[
            "bayes",
            "--control",
            "1/2",
            "--treatment",
            "1/2",
            "--samples",
            "0",
        ],
        "--samples",
    );
    input_error(&["srm", "--observed", "10,-1"], "--observed");
    input_error(
        &["srm", "--observed", "10,10", "--expected", "1,0"],
        "--expected",
    );
    input_error(&["srm", "--observed", "0,0"], "--observed");
    input_error(&["adjust", "--method", "bh", "0.1", "-0.2"], "P");
    input_error(&["adjust", "--method", "bh", "0.1", "1.5"], "P");
    input_error(&["sequential", "--events", "x.csv", "--tau", "0"], "--tau");
    input_error(
        &["sequential", "--events", "x.csv", "--look-every", "0"],
        "--look-every",
    );
}
