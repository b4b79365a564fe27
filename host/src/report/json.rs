//! `report.json`: the whole report as JSON, and back (`mlprobe report --from report.json`).
//!
//! The document keeps the shape `mlprobe run` has always written (version 1): `version`,
//! `mlprobe`, `started_unix_s`, `config`, `dataset`, `passed`, `stages` (each `name`,
//! `status`, `duration_s`, `summary`, `checks`, `notes`, `details`), `charts`; a check is
//! `{name, passed, detail}`. Added fields carry what the model holds beyond that (the report's
//! `name`, a case's `classname`, `time_s`, `properties`, and its full `status` and `summary`
//! when the check is more than passed-or-failed), so a report reads back as it was written. A
//! report.json of an earlier mlprobe reads as well: what it lacks takes its default.

use super::{Case, Charts, Exporter, Report, RunInfo, StageStatus, Status, Suite};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format version of `report.json`.
pub const VERSION: u32 = 1;

/// The JSON format (`report.json`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

impl Exporter for Json {
    fn file_name(&self) -> &'static str {
        "report.json"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>> {
        Ok(crate::output::to_json(report)?.into_bytes())
    }
}

/// Reads a `report.json`: malformed JSON is a parse error with its line and column, another
/// format version a file error.
pub fn load(path: &Path) -> Result<Report> {
    let text = crate::limits::read_text(path, crate::limits::JSON_BYTES, "report")?;
    let doc: ReportJson = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: path.to_path_buf(),
        line: e.line() as u64,
        // serde_json says column 0 at the end of an empty line (an empty file): column 1.
        column: e.column().max(1),
        message: format!("not a report.json of mlprobe run: {e}"),
    })?;
    if doc.version != VERSION {
        return Err(Error::file(
            path,
            format!(
                "report format version {} (this mlprobe reads {VERSION})",
                doc.version
            ),
        ));
    }
    Ok(doc.into())
}

/// The document.
#[derive(Serialize, Deserialize)]
pub struct ReportJson {
    version: u32,
    #[serde(default = "run_name")]
    name: String,
    #[serde(flatten)]
    run: Option<RunInfo>,
    /// Written from the stages; ignored on reading (the stages decide).
    #[serde(default)]
    passed: bool,
    stages: Vec<Suite>,
    #[serde(default)]
    charts: Charts,
}

fn run_name() -> String {
    "mlprobe run".into()
}

impl From<Report> for ReportJson {
    fn from(r: Report) -> Self {
        Self {
            version: VERSION,
            passed: r.passed(),
            name: r.name,
            run: r.run,
            stages: r.suites,
            charts: r.charts,
        }
    }
}

impl From<ReportJson> for Report {
    fn from(j: ReportJson) -> Self {
        Self {
            name: j.name,
            suites: j.stages,
            run: j.run,
            charts: j.charts,
        }
    }
}

/// A suite as a stage.
#[derive(Serialize, Deserialize)]
pub struct SuiteJson {
    name: String,
    status: StageStatus,
    #[serde(default)]
    duration_s: f64,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    checks: Vec<Case>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    details: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    properties: Vec<(String, String)>,
}

impl From<Suite> for SuiteJson {
    fn from(s: Suite) -> Self {
        Self {
            status: s.status(),
            name: s.name,
            duration_s: s.duration_s,
            summary: s.summary,
            checks: s.cases,
            notes: s.notes,
            details: s.details,
            properties: s.properties,
        }
    }
}

impl From<SuiteJson> for Suite {
    fn from(j: SuiteJson) -> Self {
        Self {
            name: j.name,
            cases: j.checks,
            properties: j.properties,
            status: Some(j.status),
            duration_s: j.duration_s,
            summary: j.summary,
            notes: j.notes,
            details: j.details,
        }
    }
}

/// A case as a check.
#[derive(Serialize, Deserialize)]
pub struct CaseJson {
    name: String,
    passed: bool,
    detail: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    classname: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    time_s: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    properties: Vec<(String, String)>,
    /// The status and summary, when they are not those of [`Case::check`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl From<Case> for CaseJson {
    fn from(c: Case) -> Self {
        let check = Case::check(&c.name, c.is_ok(), c.detail());
        let plain = check.status == c.status && check.summary == c.summary;
        Self {
            passed: c.is_ok(),
            detail: c.detail().to_string(),
            status: (!plain).then(|| c.status.clone()),
            summary: (!plain).then(|| c.summary.clone()),
            name: c.name,
            classname: c.classname,
            time_s: c.time_s,
            properties: c.properties,
        }
    }
}

impl From<CaseJson> for Case {
    fn from(j: CaseJson) -> Self {
        let mut case = match j.status {
            Some(status) => {
                Case::new(j.name, "", status).with_summary(j.summary.unwrap_or_default())
            }
            None => Case::check(j.name, j.passed, j.detail),
        };
        case.classname = j.classname;
        case.time_s = j.time_s;
        case.properties = j.properties;
        case
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Line;

    fn run_report() -> Report {
        let mut eval = Suite::new("eval");
        eval.status = Some(StageStatus::Failed);
        eval.duration_s = 0.5;
        eval.summary = "53 rows".into();
        eval.push(Case::check(
            "thresholds: accuracy >= 0.99",
            false,
            "accuracy 0.98 violates min 0.99",
        ));
        eval.push(Case::check(
            "thresholds: f1_macro >= 0.9",
            true,
            "f1_macro = 0.98",
        ));
        eval.details = serde_json::json!({ "n": 53 });
        let mut device = Suite::new("device");
        device.status = Some(StageStatus::Skipped);
        device.notes = vec!["no QEMU".into()];
        let mut report = Report::new("mlprobe run")
            .with_suite(eval)
            .with_suite(device)
            .with_suite(crate::report::tests::sample().suites.remove(0));
        report.run = Some(RunInfo {
            mlprobe: "0.1.0".into(),
            started_unix_s: 1,
            config: "mlprobe.toml".into(),
            dataset: "wine.csv".into(),
            started: "1970-01-01T00:00:01Z".into(),
            finished: "1970-01-01T00:00:02Z".into(),
            provenance: crate::provenance::Provenance {
                files: vec![crate::provenance::FileDigest {
                    role: "data".into(),
                    path: "wine.csv".into(),
                    bytes: 3,
                    sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                        .into(),
                    error: None,
                }],
                git: Some(crate::provenance::Git {
                    commit: "c83ad31".into(),
                    dirty: true,
                }),
                machine: crate::provenance::Machine::this(),
            },
        });
        report.charts.training.push(Line {
            name: "loss".into(),
            points: vec![(1.0, 0.5)],
        });
        report
    }

    #[test]
    fn keeps_the_report_json_shape_and_reads_back_what_it_wrote() {
        let r = run_report();
        let bytes = Json.export(&r).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for key in [
            "version",
            "mlprobe",
            "started_unix_s",
            "config",
            "dataset",
            "passed",
            "stages",
            "charts",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert_eq!(v["passed"], false);
        let eval = &v["stages"][0];
        assert_eq!(eval["status"], "failed");
        assert_eq!(
            eval["checks"][0],
            serde_json::json!({
                "name": "thresholds: accuracy >= 0.99", "passed": false,
                "detail": "accuracy 0.98 violates min 0.99"
            })
        );
        assert_eq!(v["stages"][1]["status"], "skipped");
        // A gate case keeps its classname, properties, status and summary.
        let gate = &v["stages"][2]["checks"][1];
        assert_eq!(gate["status"]["outcome"], "failed");
        assert_eq!(gate["status"]["kind"], "threshold");
        assert_eq!(gate["classname"], "mlprobe.eval.thresholds");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, &bytes).unwrap();
        let back = load(&path).unwrap();
        assert_eq!(back.run, r.run);
        assert_eq!(back.charts, r.charts);
        assert_eq!(back.suites[0], r.suites[0]);
        assert_eq!(back.suites[2].cases, r.suites[2].cases);
        assert_eq!(Json.export(&back).unwrap(), bytes);
    }

    #[test]
    fn reads_a_report_of_an_earlier_mlprobe_and_rejects_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(
            &path,
            r#"{"version": 1, "mlprobe": "0.1.0", "started_unix_s": 5, "config": "c", "dataset": "d",
                "passed": true, "stages": [{"name": "eval", "status": "failed", "duration_s": 1.0,
                "summary": "s", "checks": [{"name": "x", "passed": false, "detail": "why"}],
                "notes": [], "details": null}], "charts": {"training": [], "confusion": [],
                "latency": [], "bitflip": [], "posteriors": null}}"#,
        )
        .unwrap();
        let r = load(&path).unwrap();
        assert_eq!(r.name, "mlprobe run");
        assert_eq!(r.run.as_ref().unwrap().started_unix_s, 5);
        assert_eq!(r.suites[0].cases[0], Case::check("x", false, "why"));
        assert!(!r.passed(), "the stages decide, not the saved `passed`");

        std::fs::write(&path, r#"{"version": 2, "passed": true, "stages": []}"#).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("report format version 2 (this mlprobe reads 1)"),
            "{e}"
        );
        std::fs::write(&path, "data = 1\n").unwrap();
        assert!(matches!(load(&path), Err(Error::Parse { line: 1, .. })));
    }
}
