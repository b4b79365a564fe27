//! The randomized differential test of the exact Bayesian A/B analysis against scipy and mpmath
//! (issue 14).
//!
//! `tests/reference/bayes.py` draws random cases (priors log-uniform in [0.05, 20], counts
//! log-uniform up to 10^6, rates from 0 % to 100 %, the reproducers first) and computes
//! each reference value independently of mlprobe: Evan Miller's closed form summed in mpmath at
//! 50 digits when every posterior parameter is an integer, otherwise QUADPACK (scipy, with its
//! own search for the integrand's peak) on Boost's incomplete beta; intervals from scipy's
//! `beta.ppf`. Every number must agree to 1e-9 relative, or 1e-300 absolute (scipy's values
//! below 1e-270, where Boost's tails underflow inside the integrand, only bound mlprobe's).
//!
//! The seed is random on every run and printed; `MLPROBE_REFERENCE_SEED=<n>` replays a run and
//! `MLPROBE_REFERENCE_CASES=<n>` sets the number of cases (default 300).

use mlprobe_core::abtest::Variant;
use mlprobe_core::bayes::{self, BetaDist};
use std::process::Command;

/// The tolerance of issue 14: 1e-9 relative, or 1e-300 absolute. A reference of 0 stands for
/// "below 1e-270", where scipy's tails underflow (bayes.py's `BELOW`): then mlprobe's value
/// must be below it too.
fn agrees(got: f64, want: f64) -> bool {
    if want == 0.0 {
        return got < 1e-270;
    }
    (got - want).abs() <= 1e-9 * want.abs() || (got - want).abs() <= 1e-300
}

#[test]
fn exact_bayes_agrees_with_scipy_and_mpmath() {
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let seed = mlprobe_tests::reference_seed();
    let cases = std::env::var("MLPROBE_REFERENCE_CASES").unwrap_or_else(|_| "300".into());
    eprintln!("{cases} cases");
    let out = Command::new(&python)
        .args(["-W", "ignore"])
        .arg(mlprobe_tests::root().join("tests/reference/bayes.py"))
        .args(["--cases", &cases, "--seed", &seed.to_string()])
        .output()
        .expect("run tests/reference/bayes.py");
    assert!(
        out.status.success(),
        "bayes.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    // The largest relative difference among numbers above 1e-300, for the log.
    let mut worst = (0.0_f64, String::new());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let f = |k: &str| row[k].as_f64().unwrap_or(f64::NEG_INFINITY);
        let pair = |k: &str, i: usize| row[k][i].as_f64().unwrap();
        let counts = |k: &str| {
            Variant::from_counts(row[k][0].as_u64().unwrap(), row[k][1].as_u64().unwrap()).unwrap()
        };
        let prior = BetaDist::new(pair("prior", 0), pair("prior", 1)).unwrap();
        let (c, t) = (counts("control"), counts("treatment"));
        let r = bayes::exact(&c, &t, prior, 0.95).unwrap();
        let p_control = bayes::prob_greater(&r.treatment, &r.control);
        let checks = [
            (
                "P(t > c)",
                r.prob_treatment_better,
                f("ln_p_treatment").exp(),
            ),
            ("P(c > t)", p_control, f("ln_p_control").exp()),
            (
                "loss of keeping the control",
                r.loss_control,
                f("ln_loss_control").exp(),
            ),
            (
                "loss of shipping the treatment",
                r.loss_treatment,
                f("ln_loss_treatment").exp(),
            ),
            ("control CI low", r.control_ci.0, pair("control_ci", 0)),
            ("control CI high", r.control_ci.1, pair("control_ci", 1)),
            (
                "treatment CI low",
                r.treatment_ci.0,
                pair("treatment_ci", 0),
            ),
            (
                "treatment CI high",
                r.treatment_ci.1,
                pair("treatment_ci", 1),
            ),
        ];
        for (what, got, want) in checks {
            checked += 1;
            let rel = ((got - want) / want).abs();
            if want.abs() > 1e-300 && rel > worst.0 {
                worst = (
                    rel,
                    format!("{what}: got {got:e}, want {want:e} for {line}"),
                );
            }
            if !agrees(got, want) {
                failures.push(format!(
                    "{what}: got {got:e}, want {want:e} (rel {:.1e}) for {line}",
                    ((got - want) / want).abs()
                ));
            }
        }
    }
    assert!(checked >= 8, "no cases came back");
    eprintln!(
        "{checked} numbers compared, largest relative difference {:.1e} ({})",
        worst.0, worst.1
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} numbers disagree (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
