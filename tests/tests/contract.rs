//! The `--json` contract: every invocation listed in DESIGN.md's "JSON fields, checked" table
//! prints a document whose fields are exactly the ones listed there. The table is parsed from
//! DESIGN.md itself, so the docs and the program cannot drift apart silently.
//!
//! Device rows need QEMU (the `mlprobe_tests::qemu` policy: a failure under `CI=true`, a
//! skip with a reason elsewhere).

use mlprobe_tests::{code, data, json, qemu, root, run, stderr};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The table between the `contract:json` markers: invocation → field names.
fn contract() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("DESIGN.md")).expect("read DESIGN.md");
    let start = text
        .find("<!-- contract:json")
        .expect("DESIGN.md has the contract:json table");
    let end = text
        .find("<!-- /contract:json -->")
        .expect("the table is closed");
    let mut rows = BTreeMap::new();
    for line in text[start..end].lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // `| invocation | fields |` → ["", invocation, fields, ""]
        let [_, name, fields, _] = cells[..] else {
            continue;
        };
        if !name.starts_with('`') {
            continue;
        }
        let fields: BTreeSet<String> = fields
            .split(',')
            .map(|f| f.trim().trim_matches('`').to_string())
            .collect();
        let previous = rows.insert(name.trim_matches('`').to_string(), fields);
        assert!(previous.is_none(), "{name} is listed twice");
    }
    assert!(rows.len() > 20, "the table was not read: {rows:?}");
    rows
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// Runs `mlprobe args… --json` and returns its document (exit 0 or 1: a failed check still
/// prints the whole document).
fn doc(args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let out = run(&all);
    assert!(
        matches!(code(&out), 0 | 1),
        "mlprobe {}: exit {}\n{}",
        all.join(" "),
        code(&out),
        stderr(&out)
    );
    json(&out)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

#[test]
fn json_fields_are_the_ones_design_md_lists() {
    let table = contract();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = d.join("wine.mlpb");
    let wine = data("wine.csv");
    let suite = data("wine.suite.toml");
    let policy = data("wine.policy.toml");
    let baseline = d.join("baseline.json");
    let events = d.join("events.csv");
    let mut ev = String::from("variant,converted\n");
    for i in 0..2000u32 {
        // Deterministic arms: control converts 1 in 10, treatment 1 in 5.
        let (arm, every) = if i % 2 == 0 {
            ("control", 10)
        } else {
            ("treatment", 5)
        };
        ev += &format!("{arm},{}\n", u32::from((i / 2) % every == 0));
    }
    std::fs::write(&events, ev).unwrap();

    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    let mut put = |name: &str, v: Value| {
        seen.insert(name.to_string(), v);
    };
    put(
        "train",
        doc(&["train", "--data", s(&wine), "--out", s(&model)]),
    );
    put(
        "predict",
        doc(&["predict", "--model", s(&model), "--data", s(&wine)]),
    );
    put(
        "eval",
        doc(&["eval", "--model", s(&model), "--data", s(&wine)]),
    );
    put(
        "slices",
        doc(&["slices", "--model", s(&model), "--data", s(&wine)]),
    );
    let saved = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&wine),
        "--save-baseline",
        s(&baseline),
    ]);
    assert_eq!(code(&saved), 0, "{}", stderr(&saved));
    put(
        "eval --policy --baseline --slice",
        doc(&[
            "eval",
            "--model",
            s(&model),
            "--data",
            s(&wine),
            "--policy",
            s(&policy),
            "--baseline",
            s(&baseline),
            "--slice",
            "alcohol > 13",
        ]),
    );
    let compared = doc(&[
        "compare",
        "--baseline",
        s(&data("wine.predictions.csv")),
        "--candidate",
        s(&model),
        "--data",
        s(&wine),
    ]);
    put("compare.difference", compared["difference"].clone());
    put("compare.mcnemar", compared["mcnemar"].clone());
    put("compare", compared);
    put(
        "expect",
        doc(&["expect", "--suite", s(&suite), "--data", s(&wine)]),
    );
    let profiled = d.join("profiled.toml");
    put(
        "profile",
        doc(&["profile", "--data", s(&wine), "--out", s(&profiled)]),
    );
    put(
        "init",
        doc(&["init", "--data", s(&wine), "--dir", s(&d.join("init"))]),
    );
    let st = d.join("wine.safetensors");
    put(
        "export",
        doc(&[
            "export",
            s(&model),
            "--format",
            "safetensors",
            "--out",
            s(&st),
        ]),
    );
    let int8 = d.join("wine.int8.mlpb");
    let q = doc(&[
        "quantize",
        "--model",
        s(&model),
        "--calibration",
        s(&wine),
        "--out",
        s(&int8),
    ]);
    put("quantize.comparison", q["comparison"].clone());
    put("quantize", q);
    let imported = d.join("imported.mlpb");
    put("import", doc(&["import", s(&st), "--out", s(&imported)]));
    let counts = ["--control", "100/1000", "--treatment", "130/1000"];
    put("ab ztest", doc(&[&["ab", "ztest"][..], &counts].concat()));
    put(
        "ab size",
        doc(&["ab", "size", "--baseline", "0.1", "--mde", "0.02"]),
    );
    put(
        "ab power",
        doc(&["ab", "power", "--baseline", "0.1", "--n", "1000"]),
    );
    put("ab bayes", doc(&[&["ab", "bayes"][..], &counts].concat()));
    let units = d.join("units.csv");
    std::fs::write(
        &units,
        "variant,y,pre,latency,sessions\ncontrol,1,2,10,1\ncontrol,2,2.5,11,2\ncontrol,4,3,12,2\n\
         B,3,1,10,1\nB,5,4,14,3\nB,6,3.5,12,2\n",
    )
    .unwrap();
    let t = doc(&[
        "ab",
        "ttest",
        "--data",
        s(&units),
        "--metric",
        "y",
        "--covariate",
        "pre",
        "--guardrail",
        "latency:+100",
    ]);
    put("ab ttest.comparisons", t["comparisons"][0].clone());
    put("ab ttest.guardrails", t["guardrails"][0].clone());
    put("ab ttest", t);
    let r = doc(&[
        "ab",
        "ratio",
        "--data",
        s(&units),
        "--numerator",
        "y",
        "--denominator",
        "sessions",
    ]);
    put("ab ratio.comparisons", r["comparisons"][0].clone());
    let rates = doc(&[
        "ab", "rates", "--arm", "a=10/100", "--arm", "b=15/100", "--arm", "c=12/100",
    ]);
    put("ab rates.comparisons", rates["comparisons"][0].clone());
    put("ab rates", rates);
    put(
        "ab size --sd",
        doc(&["ab", "size", "--sd", "2", "--mde", "1"]),
    );
    put(
        "ab power --sd",
        doc(&["ab", "power", "--sd", "2", "--mde", "1", "--n", "50"]),
    );
    let stream = d.join("stream.csv");
    std::fs::write(&stream, "variant,y\ncontrol,1\ntreatment,2\ncontrol,3\n").unwrap();
    put(
        "ab sequential --metric",
        doc(&["ab", "sequential", "--events", s(&stream), "--metric", "y"]),
    );
    put("ab ratio", r);
    put("ab srm", doc(&["ab", "srm", "--observed", "500,520"]));
    put(
        "ab adjust",
        doc(&["ab", "adjust", "--method", "holm", "0.01", "0.04"]),
    );
    put(
        "ab sequential",
        doc(&["ab", "sequential", "--events", s(&events)]),
    );
    let load = doc(&["load", "--model", s(&model), "--requests", "200"]);
    put("load.target", load["target"].clone());
    put("load", load);
    for experiment in ["latency", "failure", "bitflip", "input", "link"] {
        let v = doc(&[
            "chaos",
            "--model",
            s(&model),
            "--experiment",
            experiment,
            "--data",
            s(&wine),
        ]);
        put(
            &format!("chaos {experiment}.measured"),
            v["measured"].clone(),
        );
        assert_eq!(keys(&v), table["chaos"], "chaos --experiment {experiment}");
        if experiment == "link" {
            put("chaos link.target", v["target"].clone());
        }
        put("chaos", v);
    }
    // `run` on a small configuration: the stages that need no device, load or chaos time.
    let config = d.join("mlprobe.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nlabel = \"label\"\nsuite = {:?}\nout = {:?}\n\
             [train]\nepochs = 20\n[device]\nenabled = false\n[load]\nenabled = false\n\
             [chaos]\nenabled = false\n[ab]\nprevious = {:?}\n",
            s(&wine),
            s(&suite),
            s(&d.join("report")),
            s(&data("wine.previous.mlpb")),
        ),
    )
    .unwrap();
    let report = doc(&["run", "--config", s(&config)]);
    for stage in report["stages"].as_array().expect("stages") {
        assert_eq!(
            keys(stage),
            table["run.stages[]"],
            "run stage {}",
            stage["name"]
        );
    }
    put("run.stages[]", report["stages"][0].clone());
    put("run", report);
    let rendered = d.join("rendered");
    std::fs::create_dir(&rendered).unwrap();
    put(
        "report",
        doc(&[
            "report",
            "--from",
            s(&d.join("report/report.json")),
            "--out",
            s(&rendered),
        ]),
    );

    let device_rows = ["device build", "device run --ping", "device validate"];
    if qemu() {
        let fw_model = root().join("firmware/models/wine.mlpb");
        put("device build", doc(&["device", "build"]));
        put("device run --ping", doc(&["device", "run", "--ping"]));
        put(
            "device validate",
            doc(&[
                "device",
                "validate",
                "--model",
                s(&fw_model),
                "--data",
                s(&wine),
            ]),
        );
    }

    for (name, fields) in &table {
        let Some(v) = seen.get(name) else {
            assert!(
                device_rows.contains(&name.as_str()),
                "DESIGN.md lists `{name}` but this test does not run it"
            );
            continue;
        };
        let got = keys(v);
        let missing: Vec<_> = fields.difference(&got).collect();
        let extra: Vec<_> = got.difference(fields).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "`{name} --json`: missing {missing:?}, not in DESIGN.md {extra:?}"
        );
    }
    for name in seen.keys() {
        assert!(table.contains_key(name), "DESIGN.md does not list `{name}`");
    }
}

/// Issue 15: `--json` yields exactly one JSON document on stdout on failure too:
/// `{"error": {"kind", "message", "location"}}`, with the exit code unchanged (stdout used to be
/// empty).
#[test]
fn failures_under_json_print_one_error_document() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,b,label\n1,2,0\n1,x,1\n").unwrap();
    let bad = bad.to_str().unwrap();
    let model = dir.path().join("m.mlpb");
    let model = model.to_str().unwrap();
    let missing = dir.path().join("missing.mlpb");
    let missing = missing.to_str().unwrap();
    // (args, kind, location fields)
    let cases: [(&[&str], &str, &[&str]); 5] = [
        (
            &["train", "--data", bad, "--out", model],
            "parse",
            &["column", "line", "path"],
        ),
        (
            &["eval", "--model", missing, "--data", bad],
            "io",
            &["path"],
        ),
        (
            &["ab", "ztest", "--control", "5/3", "--treatment", "1/10"],
            "usage",
            &[],
        ),
        (&["ab", "ztest", "--bogus"], "usage", &[]),
        (&["profile", "--data", bad], "usage", &[]),
    ];
    for (args, kind, location) in cases {
        let mut full = args.to_vec();
        full.push("--json");
        let o = run(&full);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        let mut docs = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
        let v = docs
            .next()
            .unwrap_or_else(|| panic!("{args:?}: no JSON on stdout"))
            .unwrap();
        assert!(docs.next().is_none(), "{args:?}: more than one document");
        assert_eq!(v["error"]["kind"], kind, "{args:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{args:?}: {v}"
        );
        let got: BTreeSet<&str> = v["error"]["location"]
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(got, location.iter().copied().collect(), "{args:?}: {v}");
    }
    // The parse error names its line.
    let o = run(["train", "--data", bad, "--out", model, "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["location"]["line"], 3, "{v}");
}
