//! The highest request rate the open-model generator of `mlprobe load` sustains against the
//! in-process model with correct latency accounting, against a baseline measured in the same
//! run: a bare loop of `Model::infer` calls on the same number of threads.
//!
//! "Sustains" means: nothing dropped, at least 99 % of the requested rate answered, and the
//! 99th percentile of lateness (due → sent) under 10 ms: the generator keeps its schedule
//! without a growing backlog. Whatever lateness there is (the OS descheduling a worker on a
//! shared machine) is inside the reported latencies, which count from due times; the lateness
//! bound only says the rate was really offered. The machine's load average is printed with the
//! figures.
//!
//! `cargo bench -p mlprobe --bench load` (`MLPROBE_BENCH_THREADS`, default 2;
//! `MLPROBE_BENCH_SECONDS` per rate, default 1).

use mlprobe::loadgen::{self, HostTarget, Inputs};
use mlprobe_core::load::{Mode, Plan, Target};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let threads: usize = std::env::var("MLPROBE_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seconds: f64 = std::env::var("MLPROBE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/models/wine.mlpb");
    let model = Arc::new(mlprobe::model_io::load(&path).expect("the bundled wine model"));
    let inputs = Arc::new(Inputs::random(&model, 4096, 0));
    let d = model.dims();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average before: {}",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "model {d} ({}), {threads} threads, {seconds} s per rate",
        path.display()
    );

    // Baseline: each thread calls infer back to back, nothing else.
    let n = 2_000_000u64;
    let start = Instant::now();
    let sink: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let mut t = HostTarget::new(model.clone(), inputs.clone());
                s.spawn(move || {
                    for i in 0..n {
                        t.call(i);
                    }
                    t.sink
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    let baseline = (n * threads as u64) as f64 / start.elapsed().as_secs_f64();
    println!(
        "baseline: bare infer loop {:.0} inferences/s ({:.0} ns each per thread; checksum {sink})",
        baseline,
        1e9 * threads as f64 / baseline
    );

    let mut best = 0.0f64;
    let mut rate = 100_000.0f64;
    println!(
        "{:>10}  {:>12}  {:>8}  {:>8}  {:>13}  {:>11}  sustained",
        "rate", "answered/s", "dropped", "late", "lateness p99", "latency p99"
    );
    while rate <= baseline * 1.2 {
        let plan = Plan::new(Mode::open(rate), None, Some((seconds * 1e9) as u64));
        let targets: Vec<_> = (0..threads)
            .map(|_| HostTarget::new(model.clone(), inputs.clone()))
            .collect();
        let run = loadgen::run(&plan, targets, None, |_, _| {});
        let t = &run.tally;
        let answered = t.successful as f64 / run.duration.as_secs_f64().max(1e-9);
        let lateness_p99 = t.lateness.quantile(0.99).unwrap_or(u32::MAX);
        let latency_p99 = t.latency.quantile(0.99).unwrap_or(u32::MAX);
        let ok = t.dropped == 0 && answered >= 0.99 * rate && lateness_p99 < 10_000_000;
        println!(
            "{:>10.0}  {:>12.0}  {:>8}  {:>8}  {:>10.1} µs  {:>8.1} µs  {}",
            rate,
            answered,
            t.dropped,
            t.late,
            f64::from(lateness_p99) / 1e3,
            f64::from(latency_p99) / 1e3,
            if ok { "yes" } else { "no" }
        );
        assert_eq!(t.total(), t.successful + t.failed + t.dropped);
        if ok {
            best = rate;
        }
        rate *= 1.5;
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "highest sustained rate: {best:.0} requests/s on {threads} threads = {:.2} × the bare \
         infer loop ({baseline:.0}/s); target ≥ 200,000: {}",
        best / baseline,
        if best >= 200_000.0 { "met" } else { "NOT met" }
    );
}
