//! `mlprobe serve` and `mlprobe load --target http://…` (issue 18): each endpoint of the Open
//! Inference Protocol, bad requests answered 400/413 without stopping the server, the shadow's
//! counts, a canary rolled back when worse and kept when equal (seeded: the rows, ids and
//! labels are fixed, and the split is a hash of the id), and the load generator against our
//! server and against a Python standard-library server of the same protocol
//! (`tests/reference/oip_server.py`).
//!
//! Expected values: logits are core's (`mlprobe::model_io`, bit for bit through JSON's
//! shortest round-trip form of an `f32`); counts are the requests this test sent.

use mlprobe_tests::{code, data, json, root, run, stderr};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A server process, stopped with SIGTERM when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// Starts `cmd` (which prints `…http://HOST:PORT…` on `stream` once listening).
    fn start(mut cmd: Command, from_stdout: bool) -> Self {
        if from_stdout {
            cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        } else {
            cmd.stderr(Stdio::piped()).stdout(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("start the server");
        let mut line = String::new();
        {
            let stream: Box<dyn std::io::Read> = if from_stdout {
                Box::new(child.stdout.take().unwrap())
            } else {
                Box::new(child.stderr.take().unwrap())
            };
            BufReader::new(stream).read_line(&mut line).unwrap();
        }
        let at = line
            .find("http://")
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let base: String = line[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ')')
            .collect();
        Self { child, base }
    }

    fn serve(args: &[&str]) -> Self {
        let mut cmd = Command::new(mlprobe_tests::bin());
        cmd.arg("serve")
            .args(args)
            .args(["--port", "0"])
            .current_dir(root());
        Self::start(cmd, false)
    }

    /// SIGTERM, then the exit status and stdout.
    fn stop(mut self) -> (i32, String) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let out = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap())
            .wait_with_output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// Status and body of a request (`body` None: GET).
fn call(a: &ureq::Agent, url: &str, body: Option<&[u8]>) -> (u16, String) {
    let mut r = match body {
        Some(b) => a
            .post(url)
            .header("content-type", "application/json")
            .send(b)
            .unwrap(),
        None => a.get(url).call().unwrap(),
    };
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

fn request(rows: &[Vec<f32>], id: Option<&str>) -> Vec<u8> {
    let data: Vec<f32> = rows.concat();
    let mut v = json!({"inputs": [{"name": "input", "shape": [rows.len(), rows[0].len()],
                                   "datatype": "FP32", "data": data}]});
    if let Some(id) = id {
        v["id"] = json!(id);
    }
    serde_json::to_vec(&v).unwrap()
}

/// The rows and labels of data/wine.csv.
fn wine() -> (Vec<Vec<f32>>, Vec<u64>) {
    let text = std::fs::read_to_string(data("wine.csv")).unwrap();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<f32> = line.split(',').map(|c| c.parse().unwrap()).collect();
        labels.push(*cells.last().unwrap() as u64);
        rows.push(cells[..cells.len() - 1].to_vec());
    }
    (rows, labels)
}

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[test]
fn every_endpoint_answers_and_no_bad_request_stops_the_server() {
    let model = root().join("firmware/models/wine.mlpb");
    let shadow = data("wine.previous.mlpb");
    let server = Server::serve(&[
        "--model",
        s(&model),
        "--name",
        "wine",
        "--shadow",
        s(&shadow),
        "--max-body-bytes",
        "4096",
        "--json",
    ]);
    let a = agent();
    let b = &server.base;
    assert_eq!(
        call(&a, &format!("{b}/v2/health/live"), None),
        (200, r#"{"live":true}"#.into())
    );
    assert_eq!(call(&a, &format!("{b}/v2/health/ready"), None).0, 200);
    let (st, meta) = call(&a, &format!("{b}/v2/models/wine"), None);
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(st, 200);
    assert_eq!(meta["inputs"][0]["shape"], json!([-1, 13]));
    assert_eq!(meta["outputs"][0]["shape"], json!([-1, 3]));
    assert_eq!(meta["outputs"][1]["datatype"], "INT64");
    assert_eq!(call(&a, &format!("{b}/v2/models/other"), None).0, 404);

    // Five rows in one request: core's logits bit for bit, argmax classes, the id echoed.
    let (rows, _) = wine();
    let infer = format!("{b}/v2/models/wine/infer");
    let (st, answer) = call(&a, &infer, Some(&request(&rows[..5], Some("batch-1"))));
    assert_eq!(st, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["id"], "batch-1");
    assert_eq!(answer["outputs"][0]["shape"], json!([5, 3]));
    let host = mlprobe::model_io::load(&model).unwrap();
    let mut scratch = vec![0.0f32; host.dims().scratch_len()];
    for (k, row) in rows[..5].iter().enumerate() {
        let want = host.infer(row, &mut scratch).unwrap().to_vec();
        let got: Vec<f32> = (0..3)
            .map(|j| answer["outputs"][0]["data"][3 * k + j].as_f64().unwrap() as f32)
            .collect();
        assert_eq!(
            got.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            "row {k}"
        );
        let class = mlprobe_core::mlp::argmax(&want) as i64;
        assert_eq!(answer["outputs"][1]["data"][k], class);
    }

    // Bad requests: 400 with a JSON error naming what is wrong; too large: 413.
    let one = &rows[0];
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{".to_vec(), 400, "body:"),
        (b"not json".to_vec(), 400, "body:"),
        (br#"{"inputs": []}"#.to_vec(), 400, "one input tensor"),
        (
            serde_json::to_vec(&json!({"inputs": [{"name": "input", "shape": [1, 13], "datatype": "INT64", "data": one}]})).unwrap(),
            400,
            "datatype",
        ),
        (
            serde_json::to_vec(&json!({"inputs": [{"name": "input", "shape": [1, 12], "datatype": "FP32", "data": &one[..12]}]})).unwrap(),
            400,
            "13 features",
        ),
        (
            serde_json::to_vec(&json!({"inputs": [{"name": "input", "shape": [2, 13], "datatype": "FP32", "data": one}]})).unwrap(),
            400,
            "needs 26 values",
        ),
        (
            br#"{"inputs": [{"name": "input", "shape": [1, 13], "datatype": "FP32", "data": [1e400,1,1,1,1,1,1,1,1,1,1,1,1]}]}"#.to_vec(),
            400,
            "",
        ),
        (vec![b' '; 5000], 413, ""),
    ];
    for (body, want, says) in &cases {
        let (st, text) = call(&a, &infer, Some(body));
        assert_eq!(
            st,
            *want,
            "{}: {text}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
        let err: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert!(err["error"].as_str().unwrap().contains(says), "{text}");
    }
    assert_eq!(
        call(
            &a,
            &format!("{b}/v2/models/other/infer"),
            Some(&request(&rows[..1], None))
        )
        .0,
        404
    );
    // Still serving.
    for row in &rows[5..20] {
        assert_eq!(
            call(&a, &infer, Some(&request(std::slice::from_ref(row), None))).0,
            200
        );
    }

    // The shadow scored every answered row (off the response path: wait for its tasks).
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let (_, m) = call(&a, &format!("{b}/metrics"), None);
        if metric(&m, r#"mlprobe_shadow_rows_total{model="wine"}"#) == Some(20.0)
            || Instant::now() > deadline
        {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        metric(&metrics, r#"mlprobe_shadow_rows_total{model="wine"}"#),
        Some(20.0),
        "{metrics}"
    );
    let agreed = metric(&metrics, r#"mlprobe_shadow_agreements_total{model="wine"}"#).unwrap();
    assert!(
        (15.0..=20.0).contains(&agreed),
        "the previous model mostly agrees: {agreed}"
    );
    assert_eq!(
        metric(&metrics, r#"mlprobe_errors_total{model="wine",code="413"}"#),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, r#"mlprobe_errors_total{model="wine",code="404"}"#),
        Some(1.0)
    );
    assert_eq!(
        metric(&metrics, r#"mlprobe_errors_total{model="wine",code="400"}"#),
        Some(7.0)
    );
    assert_eq!(
        metric(
            &metrics,
            r#"mlprobe_request_duration_seconds_count{model="wine"}"#
        ),
        Some(16.0),
        "answered requests are timed"
    );

    let (status, out) = server.stop();
    assert_eq!(status, 0, "{out}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["requests"], 25);
    assert_eq!(summary["errors"], 9);
    assert_eq!(summary["rows"]["primary"], 20);
    assert_eq!(summary["shadow"]["rows"], 20);
}

/// A model trained on wine with every label moved to the next class: wrong on nearly every
/// row, the same shape as the primary.
fn worse_model(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data("wine.csv")).unwrap();
    let mut lines = text.lines();
    let mut shifted = format!("{}\n", lines.next().unwrap());
    for l in lines {
        let (head, label) = l.rsplit_once(',').unwrap();
        let label: u8 = label.parse().unwrap();
        shifted += &format!("{head},{}\n", (label + 1) % 3);
    }
    let csv = dir.join("shifted.csv");
    std::fs::write(&csv, shifted).unwrap();
    let out = dir.join("worse.mlpb");
    let o = run(["train", "--data", s(&csv), "--out", s(&out), "--seed", "3"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    out
}

/// Sends wine rows one at a time (ids `u0`, `u1`, …) with their true label as feedback, until
/// the canary decides or `max` rows; returns the last `/v2/canary` report.
fn drive_canary(server: &Server, max: usize) -> Value {
    let a = agent();
    let (rows, labels) = wine();
    let infer = format!("{}/v2/models/wine/infer", server.base);
    let feedback = format!("{}/v2/feedback", server.base);
    for i in 0..max {
        let id = format!("u{i}");
        let (st, text) = call(
            &a,
            &infer,
            Some(&request(&[rows[i % rows.len()].clone()], Some(&id))),
        );
        assert_eq!(st, 200, "{text}");
        let body =
            serde_json::to_vec(&json!({"id": id, "label": labels[i % labels.len()]})).unwrap();
        let (st, report) = call(&a, &feedback, Some(&body));
        assert_eq!(st, 200, "{report}");
        let report: Value = serde_json::from_str(&report).unwrap();
        if report["state"] != "running" {
            return report;
        }
    }
    serde_json::from_str(&call(&a, &format!("{}/v2/canary", server.base), None).1).unwrap()
}

#[test]
fn a_worse_canary_is_rolled_back_and_an_equal_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("firmware/models/wine.mlpb");
    let worse = worse_model(dir.path());
    let server = Server::serve(&[
        "--model",
        s(&model),
        "--name",
        "wine",
        "--canary",
        s(&worse),
        "--canary-percent",
        "30",
    ]);
    let report = drive_canary(&server, 3000);
    eprintln!(
        "worse canary: rolled back after {} primary and {} candidate feedbacks, p = {}",
        report["primary"]["total"], report["candidate"]["total"], report["p_value"]
    );
    assert_eq!(report["state"], "rolled_back", "{report}");
    assert_eq!(report["decision"], "roll back");
    assert_eq!(report["share_percent"], 0.0);
    assert!(report["p_value"].as_f64().unwrap() <= 0.05);
    let candidate_rows = report["candidate"]["answered"].as_u64().unwrap();
    assert!(candidate_rows > 0 && report["candidate"]["accuracy"].as_f64().unwrap() < 0.5);
    // Rolled back, the server keeps serving, all from the primary.
    let a = agent();
    let (rows, _) = wine();
    for (i, row) in rows.iter().enumerate().take(100) {
        let body = request(std::slice::from_ref(row), Some(&format!("after{i}")));
        assert_eq!(
            call(
                &a,
                &format!("{}/v2/models/wine/infer", server.base),
                Some(&body)
            )
            .0,
            200
        );
    }
    let (_, after) = call(&a, &format!("{}/v2/canary", server.base), None);
    let after: Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        after["candidate"]["answered"].as_u64(),
        Some(candidate_rows)
    );
    // Feedback for an id never answered: 404; a label beyond the classes: 400.
    let fb = format!("{}/v2/feedback", server.base);
    assert_eq!(
        call(&a, &fb, Some(br#"{"id": "never", "label": 0}"#)).0,
        404
    );
    assert_eq!(
        call(&a, &fb, Some(br#"{"id": "after1", "label": 7}"#)).0,
        400
    );
    assert_eq!(call(&a, &fb, Some(br#"{"id": "after1"}"#)).0, 400);
    drop(server);

    // The same model as canary: no decision over as many rows.
    let copy = dir.path().join("same.mlpb");
    std::fs::copy(&model, &copy).unwrap();
    let server = Server::serve(&[
        "--model",
        s(&model),
        "--name",
        "wine",
        "--canary",
        s(&copy),
        "--canary-percent",
        "30",
    ]);
    let report = drive_canary(&server, 1500);
    eprintln!(
        "equal canary after 1,500 feedbacks: p = {}",
        report["p_value"]
    );
    assert_eq!(report["state"], "running", "{report}");
    assert_eq!(report["share_percent"], 30.0);
    let total = report["primary"]["total"].as_u64().unwrap()
        + report["candidate"]["total"].as_u64().unwrap();
    assert_eq!(total, 1500);
}

#[test]
fn load_reaches_our_server_and_a_python_server_of_the_protocol() {
    let model = root().join("firmware/models/wine.mlpb");
    let load = |url: &str| {
        run([
            "load",
            "--model",
            s(&model),
            "--target",
            url,
            "--data",
            s(&data("wine.csv")),
            "--requests",
            "400",
            "--connections",
            "2",
            "--warmup",
            "10",
            "--interval",
            "0",
            "--json",
        ])
    };
    let server = Server::serve(&["--model", s(&model), "--name", "wine"]);
    let url = format!("{}/v2/models/wine/infer", server.base);
    let o = load(&url);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(
        (j["total"].as_u64(), j["successful"].as_u64()),
        (Some(400), Some(400))
    );
    assert_eq!(j["target"]["kind"], "http");
    // A wrong model name: every request fails, and the report says why.
    let o = load(&format!("{}/v2/models/nope/infer", server.base));
    let j = json(&o);
    assert_eq!(
        (j["failed"].as_u64(), j["successful"].as_u64()),
        (Some(400), Some(0))
    );
    assert!(j["first_error"].as_str().unwrap().contains("404"), "{j}");
    drop(server);

    // The same client against Python's standard library serving the same model.
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("wine.safetensors");
    let e = run([
        "export",
        s(&model),
        "--format",
        "safetensors",
        "--out",
        s(&st),
    ]);
    assert_eq!(code(&e), 0, "{}", stderr(&e));
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/reference/oip_server.py"))
        .arg(&st)
        .args(["--name", "wine"]);
    let py = Server::start(cmd, true);
    let o = load(&format!("{}/v2/models/wine/infer", py.base));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(
        (j["total"].as_u64(), j["successful"].as_u64()),
        (Some(400), Some(400))
    );
}
