//! `mlprobe serve` on loopback, single-row requests, against a Python standard-library server
//! of the same protocol and the same model (`tests/reference/oip_server.py`) measured in the
//! same run (issue 18's targets: at least 20× its throughput, and p99 under 1 ms at half of
//! the highest rate).
//!
//! Both are driven by `mlprobe load`'s generator ([`HttpTarget`]: one keep-alive connection
//! per worker): closed model with `MLPROBE_BENCH_CONNECTIONS` connections (default 2) for the
//! highest rate, then the open model at half of it (latency counted from each request's due
//! time). The server and the generator share the machine's cores, as on a developer's laptop;
//! the load average is printed with the figures.
//!
//! `cargo bench -p mlprobe --bench serve` (`MLPROBE_BENCH_SECONDS` per measurement, default 3;
//! `MLPROBE_PYTHON` for the interpreter, default `.venv/bin/python`, else `python3`).

use mlprobe::loadgen::{self, HttpTarget, Inputs};
use mlprobe_core::load::{Mode, Plan};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and reads its address from the first line of stdout or stderr.
fn start(mut cmd: Command, stdout: bool) -> Server {
    if stdout {
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    } else {
        cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    }
    let mut child = cmd.spawn().expect("start the server");
    let mut line = String::new();
    let stream: Box<dyn std::io::Read> = if stdout {
        Box::new(child.stdout.take().unwrap())
    } else {
        Box::new(child.stderr.take().unwrap())
    };
    BufReader::new(stream).read_line(&mut line).unwrap();
    let at = line.find("http://").expect("an address");
    let base: String = line[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ')')
        .collect();
    Server(child, format!("{base}/v2/models/wine/infer"))
}

struct Measured {
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    failed: u64,
    dropped: u64,
}

fn measure(
    url: &str,
    requests: &Arc<Vec<Vec<u8>>>,
    mode: Mode,
    workers: usize,
    seconds: f64,
) -> Measured {
    let mut targets: Vec<HttpTarget> = (0..workers)
        .map(|_| HttpTarget::new(url, requests.clone()).expect("the server's URL"))
        .collect();
    for t in &mut targets {
        for i in 0..50 {
            mlprobe_core::load::Target::call(t, i);
        }
    }
    let plan = Plan::new(mode, None, Some((seconds * 1e9) as u64));
    let run = loadgen::run(&plan, targets, None, |_, _| {});
    let t = &run.tally;
    let q = |q: f64| f64::from(t.latency.quantile(q).unwrap_or(u32::MAX)) / 1e3;
    Measured {
        rps: t.successful as f64 / run.duration.as_secs_f64().max(1e-9),
        p50_us: q(0.5),
        p99_us: q(0.99),
        failed: t.failed,
        dropped: t.dropped,
    }
}

fn line(name: &str, m: &Measured) {
    println!(
        "{name:<44} {:>9.0} req/s  p50 {:>8.1} µs  p99 {:>9.1} µs  failed {}  dropped {}",
        m.rps, m.p50_us, m.p99_us, m.failed, m.dropped
    );
}

fn main() {
    let seconds: f64 = std::env::var("MLPROBE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let connections: usize = std::env::var("MLPROBE_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model_path = root.join("firmware/models/wine.mlpb");
    let model = mlprobe::model_io::load(&model_path).expect("the bundled wine model");
    let inputs = Inputs::random(&model, 4096, 0);
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", loadavg.trim());
    println!(
        "model {} ({}), single-row requests, {connections} connections, {seconds} s each",
        model.dims(),
        model_path.display()
    );

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mlprobe"));
    cmd.args(["serve", "--name", "wine", "--port", "0", "--model"])
        .arg(&model_path);
    let ours = start(cmd, false);
    let requests = |url: &str| Arc::new(HttpTarget::requests(url, &inputs).expect("a URL"));
    let bodies = requests(&ours.1);
    let closed = measure(&ours.1, &bodies, Mode::Closed, connections, seconds);
    line("mlprobe serve, closed", &closed);
    let half = closed.rps / 2.0;
    let open = measure(&ours.1, &bodies, Mode::open(half), connections, seconds);
    line(&format!("mlprobe serve, open at {half:.0}/s (half)"), &open);
    drop(ours);

    let python = std::env::var_os("MLPROBE_PYTHON")
        .map(std::path::PathBuf::from)
        .or_else(|| Some(root.join(".venv/bin/python")).filter(|p| p.exists()))
        .unwrap_or_else(|| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("wine.safetensors");
    let net = mlprobe::model_io::to_network(&model);
    std::fs::write(
        &st,
        mlprobe::interop::safetensors::write(&net).expect("export"),
    )
    .unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(root.join("tests/reference/oip_server.py"))
        .arg(&st)
        .args(["--name", "wine"]);
    let py = start(cmd, true);
    let baseline = measure(&py.1, &requests(&py.1), Mode::Closed, connections, seconds);
    line("Python http.server (stdlib), closed", &baseline);
    drop(py);

    let ratio = closed.rps / baseline.rps.max(1e-9);
    println!(
        "throughput: {ratio:.1}× the Python standard-library server (target ≥ 20×): {}",
        if ratio >= 20.0 { "met" } else { "NOT met" }
    );
    println!(
        "p99 at half the highest rate: {:.1} µs (target < 1000 µs): {}",
        open.p99_us,
        if open.p99_us < 1000.0 && open.dropped == 0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
