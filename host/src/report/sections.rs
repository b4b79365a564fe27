//! The report's figures as tables for people, built once from a [`Report`] (its run
//! information and each stage's `details`, the JSON of the matching subcommand) and drawn by
//! both the HTML and the Markdown exporters: provenance, per-class metrics, slices and weak
//! segments, expectations (failed first), the load run's accounting, chaos (bit flips, input
//! faults, link faults) and the comparison with the previous model.
//!
//! A stage that did not run, or a `report.json` of an earlier mlprobe without some figure,
//! gives no table for it rather than an error: the raw JSON stays in the report.

use super::{Line, Report, Suite};
use serde_json::Value;

/// How a cell reads: plain, good news or bad news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Plain.
    Plain,
    /// A check that held.
    Good,
    /// A check that did not hold.
    Bad,
}

/// A cell: its text and tone.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// The text.
    pub text: String,
    /// Its tone.
    pub tone: Tone,
}

impl<T: Into<String>> From<T> for Cell {
    fn from(t: T) -> Self {
        Self {
            text: t.into(),
            tone: Tone::Plain,
        }
    }
}

fn verdict(ok: bool, yes: &str, no: &str) -> Cell {
    Cell {
        text: (if ok { yes } else { no }).into(),
        tone: if ok { Tone::Good } else { Tone::Bad },
    }
}

/// A table: its caption, column heads and rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// What the table shows.
    pub caption: String,
    /// Column heads.
    pub head: Vec<String>,
    /// Rows, each as long as `head`.
    pub rows: Vec<Vec<Cell>>,
    /// Shown folded (the HTML opens it on a click): the long list of what held.
    pub folded: bool,
}

impl Table {
    fn new(caption: &str, head: &[&str]) -> Self {
        Self {
            caption: caption.into(),
            head: head.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
            folded: false,
        }
    }

    fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    fn some(self) -> Option<Self> {
        (!self.rows.is_empty()).then_some(self)
    }
}

/// The details of the stage named `name`, when it ran.
fn details<'a>(r: &'a Report, name: &str) -> Option<&'a Value> {
    r.suites
        .iter()
        .find(|s: &&Suite| s.name == name)
        .map(|s| &s.details)
        .filter(|d| !d.is_null())
}

fn num(v: &Value, digits: usize) -> Cell {
    match v {
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string().into(),
        Value::Number(n) => format!("{:.digits$}", n.as_f64().unwrap_or(f64::NAN)).into(),
        Value::Null => "–".into(),
        Value::String(s) => s.clone().into(),
        v => v.to_string().into(),
    }
}

fn text(v: &Value) -> Cell {
    match v {
        Value::String(s) => s.clone().into(),
        Value::Null => "–".into(),
        v => v.to_string().into(),
    }
}

/// What was tested and where: the run's times, version, commit and machine.
pub fn run_table(r: &Report) -> Option<Table> {
    let run = r.run.as_ref()?;
    let mut t = Table::new("Run", &["", ""]);
    let p = &run.provenance;
    let mut kv = |k: &str, v: String| t.row(vec![k.into(), v.into()]);
    kv("mlprobe", run.mlprobe.clone());
    kv("configuration", run.config.clone());
    kv("data", run.dataset.clone());
    let started = if run.started.is_empty() {
        super::iso8601_utc(run.started_unix_s)
    } else {
        run.started.clone()
    };
    kv("started", started);
    if !run.finished.is_empty() {
        kv("finished", run.finished.clone());
    }
    kv(
        "git commit",
        p.git.as_ref().map_or_else(
            || "none (not run in a git repository)".into(),
            |g| {
                format!(
                    "{}{}",
                    g.commit,
                    if g.dirty {
                        " (with uncommitted changes)"
                    } else {
                        ""
                    }
                )
            },
        ),
    );
    let m = &p.machine;
    if !m.arch.is_empty() {
        kv(
            "machine",
            format!("{} ({} logical CPUs, {}), {}", m.cpu, m.cores, m.arch, m.os),
        );
    }
    Some(t)
}

/// Every input file's SHA-256.
pub fn inputs_table(r: &Report) -> Option<Table> {
    let mut t = Table::new("Inputs", &["role", "file", "bytes", "SHA-256"]);
    for f in &r.run.as_ref()?.provenance.files {
        let digest = match &f.error {
            Some(e) => Cell {
                text: format!("not read: {e}"),
                tone: Tone::Bad,
            },
            None => f.sha256.clone().into(),
        };
        t.row(vec![
            f.role.clone().into(),
            f.path.clone().into(),
            f.bytes.to_string().into(),
            digest,
        ]);
    }
    t.some()
}

/// Precision, recall, F1 and support of each class on the held-out rows.
pub fn per_class(r: &Report) -> Option<Table> {
    let mut t = Table::new(
        "Per-class metrics (held-out rows)",
        &["class", "precision", "recall", "F1", "support"],
    );
    for c in details(r, "eval")?.get("per_class")?.as_array()? {
        t.row(vec![
            text(&c["label"]),
            num(&c["precision"], 4),
            num(&c["recall"], 4),
            num(&c["f1"], 4),
            num(&c["support"], 0),
        ]);
    }
    t.some()
}

/// The slices the policy and `--slice` named, with their metrics.
pub fn slices(r: &Report) -> Option<Table> {
    let mut t = Table::new(
        "Slices named by the policy and the configuration",
        &["slice", "rows", "accuracy", "macro F1", "macro recall"],
    );
    for s in details(r, "eval")?.get("slices")?.as_array()? {
        t.row(vec![
            text(&s["slice"]),
            num(&s["n"], 0),
            num(&s["accuracy"], 4),
            num(&s["f1_macro"], 4),
            num(&s["recall_macro"], 4),
        ]);
    }
    t.some()
}

/// The segments the `slices` stage found, worst first.
pub fn segments(r: &Report) -> Option<Table> {
    let d = details(r, "slices")?;
    let alpha = d.get("alpha").and_then(Value::as_f64).unwrap_or(0.05);
    let mut t = Table::new(
        &format!(
            "Weakest segments of {} searched (one-sided Fisher exact test, Benjamini–Hochberg)",
            d.get("segments_searched").map_or(Value::Null, Clone::clone)
        ),
        &[
            "--slice",
            "rows",
            "errors",
            "accuracy",
            "rest",
            "difference",
            "p",
            "adjusted p",
        ],
    );
    for s in d.get("segments")?.as_array()? {
        let q = s["p_adjusted"].as_f64().unwrap_or(1.0);
        let mut adjusted = num(&s["p_adjusted"], 4);
        adjusted.tone = if q < alpha { Tone::Bad } else { Tone::Plain };
        t.row(vec![
            text(&s["slice"]),
            num(&s["rows"], 0),
            num(&s["errors"], 0),
            num(&s["accuracy"], 4),
            num(&s["rest_accuracy"], 4),
            num(&s["difference"], 4),
            num(&s["p_value"], 4),
            adjusted,
        ]);
    }
    t.some()
}

/// The expectations that failed, then (folded) those that held.
pub fn expectations(r: &Report) -> Vec<Table> {
    let Some(results) = details(r, "expect")
        .and_then(|d| d.get("results"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let head = ["result", "expectation", "column", "observed", "suite line"];
    let (failed, passed): (Vec<&Value>, Vec<&Value>) = results
        .iter()
        .partition(|e| e["success"].as_bool() != Some(true));
    let mut tables = Vec::new();
    let n = results.len();
    for (list, folded) in [(failed, false), (passed, true)] {
        let caption = if folded {
            format!("Expectations met ({} of {n})", list.len())
        } else {
            format!("Expectations that failed ({} of {n})", list.len())
        };
        let mut t = Table::new(&caption, &head);
        t.folded = folded;
        for e in list {
            let mut observed = e["result"]
                .get("observed_value")
                .map_or_else(|| "–".to_string(), |v| text(v).text);
            if observed.chars().count() > 80 {
                observed = format!("{}…", observed.chars().take(80).collect::<String>());
            }
            t.row(vec![
                verdict(e["success"].as_bool() == Some(true), "met", "FAILED"),
                text(&e["expectation_type"]),
                text(&e["column"]),
                observed.into(),
                num(&e["suite_line"], 0),
            ]);
        }
        tables.extend(t.some());
    }
    tables
}

/// Every request of the load run accounted for, and its latency, per target.
pub fn load(r: &Report) -> Option<Table> {
    let d = details(r, "load")?;
    let mut t = Table::new(
        "Load: requests and latency (µs, from each request's due time)",
        &[
            "target", "requests", "ok", "failed", "dropped", "late", "req/s", "p50", "p95", "p99",
            "p99.9",
        ],
    );
    for target in ["host", "qemu"] {
        let l = &d[target];
        if l.is_null() {
            continue;
        }
        let lat = &l["latency_us"];
        t.row(vec![
            target.into(),
            num(&l["total"], 0),
            num(&l["successful"], 0),
            num(&l["failed"], 0),
            num(&l["dropped"], 0),
            num(&l["late"], 0),
            num(&l["throughput_rps"], 1),
            num(&lat["p50"], 1),
            num(&lat["p95"], 1),
            num(&lat["p99"], 1),
            num(&lat["p999"], 1),
        ]);
    }
    t.some()
}

/// The load run's p99 latency per interval, one line per target: latency over time.
pub fn load_over_time(r: &Report) -> Vec<Line> {
    let Some(d) = details(r, "load") else {
        return Vec::new();
    };
    ["host", "qemu"]
        .iter()
        .filter_map(|target| {
            let points: Vec<(f64, f64)> = d[*target]["intervals"]
                .as_array()?
                .iter()
                .filter_map(|i| Some((i["t_s"].as_f64()?, i["p99_us"].as_f64()?)))
                .collect();
            (!points.is_empty()).then(|| Line {
                name: format!("{target}: p99 per interval"),
                points,
            })
        })
        .collect()
}

/// Accuracy and agreement with the fault-free model at each bit-error rate.
pub fn bitflips(r: &Report) -> Option<Table> {
    let m = &details(r, "chaos")?["bitflip"]["measured"];
    let mut t = Table::new(
        "Weight bit flips",
        &[
            "bit-error rate",
            "flips per trial",
            "accuracy",
            "agreement",
            "worst agreement",
        ],
    );
    for p in m["sweep"].as_array()? {
        t.row(vec![
            num(&p["ber"], 6),
            num(&p["flips_mean"], 1),
            num(&p["accuracy"], 4),
            num(&p["agreement"], 4),
            num(&p["agreement_min"], 4),
        ]);
    }
    t.some()
}

/// What each damaged input did to the predictions, and whether the suite caught it.
pub fn input_faults(r: &Report) -> Option<Table> {
    let m = &details(r, "chaos")?["input"]["measured"];
    let mut t = Table::new(
        "Input faults (one feature damaged per row)",
        &[
            "fault",
            "predictions changed",
            "accuracy",
            "non-finite outputs",
            "caught by the suite",
            "expectations failed",
        ],
    );
    for f in m["faults"].as_array()? {
        let caught = f["caught_by_suite"].as_bool();
        t.row(vec![
            text(&f["fault"]),
            format!(
                "{} ({:.1}%)",
                f["changed"],
                100.0 * f["changed_rate"].as_f64().unwrap_or(f64::NAN)
            )
            .into(),
            num(&f["accuracy"], 4),
            num(&f["non_finite"], 0),
            caught.map_or_else(|| "–".into(), |c| verdict(c, "yes", "NO")),
            f["failed_expectations"]
                .as_array()
                .map_or(0, Vec::len)
                .to_string()
                .into(),
        ]);
    }
    t.some()
}

/// The link experiment's counts: every frame accounted for.
pub fn link_faults(r: &Report) -> Option<Table> {
    let m = &details(r, "chaos")?["link"]["measured"];
    if m.is_null() {
        return None;
    }
    let mut t = Table::new("Link faults (QEMU)", &["count", "value"]);
    for (key, name) in [
        ("frames_sent", "frames sent"),
        ("valid_requests", "valid requests"),
        ("answered_correctly", "answered correctly"),
        ("wrong", "answered wrongly"),
        ("lost", "lost"),
        ("duplicates", "answered twice"),
        ("bad_frames", "bad frames"),
        ("rejected", "bad frames rejected"),
        ("unexpected", "unexpected replies"),
    ] {
        t.row(vec![name.into(), num(&m[key], 0)]);
    }
    if let Some(kinds) = m["bad_frames_by_kind"].as_object() {
        for (kind, n) in kinds {
            t.row(vec![format!("bad frames: {kind}").into(), num(n, 0)]);
        }
    }
    t.some()
}

/// The previous model against the new one on the same rows.
pub fn comparison(r: &Report) -> Option<Table> {
    let c = &details(r, "ab")?["compare"];
    if c.is_null() {
        return None;
    }
    let mut t = Table::new(
        "Previous model against the new one (paired, same held-out rows)",
        &["", "previous", "new"],
    );
    let (b, n) = (&c["baseline"], &c["candidate"]);
    t.row(vec![
        "accuracy".into(),
        num(&b["accuracy"], 4),
        num(&n["accuracy"], 4),
    ]);
    t.row(vec![
        "rows right".into(),
        num(&b["correct"], 0),
        num(&n["correct"], 0),
    ]);
    t.row(vec![
        "rows only this model gets right".into(),
        num(&c["discordant"]["baseline_only"], 0),
        num(&c["discordant"]["candidate_only"], 0),
    ]);
    let d = &c["difference"];
    let ci = d["ci"].as_array().map_or_else(String::new, |ci| {
        let v: Vec<String> = ci.iter().map(|x| num(x, 4).text).collect();
        format!(" [{}]", v.join(", "))
    });
    t.row(vec![
        "difference (new − previous)".into(),
        "".into(),
        format!("{}{ci}", num(&d["estimate"], 4).text).into(),
    ]);
    t.row(vec![
        "McNemar exact p".into(),
        "".into(),
        num(&c["mcnemar"]["exact_p_value"], 4),
    ]);
    t.row(vec![
        "significantly worse".into(),
        "".into(),
        match c["significantly_worse"].as_bool() {
            Some(w) => verdict(!w, "no", "YES"),
            None => "–".into(),
        },
    ]);
    Some(t)
}

/// Every table of the report, by section title, in the order the HTML shows them.
pub fn all(r: &Report) -> Vec<(&'static str, Vec<Table>)> {
    [
        ("Provenance", vec![run_table(r), inputs_table(r)]),
        ("Evaluation", vec![per_class(r), slices(r), segments(r)]),
        (
            "Expectations",
            expectations(r).into_iter().map(Some).collect(),
        ),
        ("Load", vec![load(r)]),
        ("Chaos", vec![bitflips(r), input_faults(r), link_faults(r)]),
        ("Comparison with the previous model", vec![comparison(r)]),
    ]
    .into_iter()
    .map(|(title, tables)| (title, tables.into_iter().flatten().collect()))
    .collect()
}
