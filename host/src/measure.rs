//! Measurements of this process: latency percentiles from a sketch, peak resident memory.

use mlprobe_core::sketch::Sketch;
use serde::Serialize;

/// Records `elapsed` in `sketch` as nanoseconds; a call over `u32::MAX` ns (4.29 s) is pinned
/// there, as DESIGN.md states for the `u32` sketch.
pub fn record_ns(sketch: &mut Sketch, elapsed: std::time::Duration) {
    sketch.record(u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX));
}

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// Sketch nanoseconds as microsecond percentiles (zeros for an empty sketch).
pub fn latency_of(sketch: &Sketch) -> Latency {
    let us = |ns: u32| f64::from(ns) / 1000.0;
    sketch.summary().map_or_else(Latency::default, |s| Latency {
        p50: us(s.p50),
        p95: us(s.p95),
        p99: us(s.p99),
        p999: us(s.p999),
        max: us(s.max),
    })
}

/// `VmHWM` of `/proc/self/status` in bytes (Linux); `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut it = line["VmHWM:".len()..].split_whitespace();
    let kb: u64 = it.next()?.parse().ok()?;
    (it.next() == Some("kB")).then_some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status = "Name:\tmlprobe\nVmPeak:\t  10000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(2048 * 1024));
        assert_eq!(parse_vm_hwm("VmHWM: x kB"), None);
        assert_eq!(parse_vm_hwm(""), None);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes().is_some_and(|b| b > 0));
        }
    }
}
