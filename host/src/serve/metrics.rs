//! The server's counters and `GET /metrics` in Prometheus' text exposition format (0.0.4).
//!
//! Latency is core's mergeable [`Sketch`] (nanoseconds, bounded relative error), one per model,
//! rendered as a Prometheus histogram whose buckets are the sketch's own (cumulative counts
//! at each bucket's upper edge), so no second histogram with other edges is kept beside it.
//! The exposition is written here rather than through a Prometheus client crate: those keep
//! their own fixed-bucket histograms, which is the second histogram this avoids.

use mlprobe_core::sketch::Sketch;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters of one model.
#[derive(Debug, Default)]
pub struct ModelCounters {
    /// Requests it answered.
    pub requests: AtomicU64,
    /// Rows it scored.
    pub rows: AtomicU64,
    /// Inference latency per request, nanoseconds.
    pub latency: Mutex<Sketch>,
}

impl ModelCounters {
    /// Counts one request of `rows` rows that took `ns` nanoseconds of inference.
    pub fn record(&self, rows: usize, ns: u64) {
        self.requests.fetch_add(1, Relaxed);
        self.rows.fetch_add(rows as u64, Relaxed);
        let ns = u32::try_from(ns).unwrap_or(u32::MAX);
        self.latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .record(ns);
    }
}

/// Every counter of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Inference requests received (answered or not).
    pub requests: AtomicU64,
    /// Requests answered 400.
    pub bad_requests: AtomicU64,
    /// Requests answered 413.
    pub too_large: AtomicU64,
    /// Requests answered 404.
    pub not_found: AtomicU64,
    /// Request handling time, receipt of the body to the answer's bytes, nanoseconds.
    pub latency: Mutex<Sketch>,
    /// The primary model.
    pub primary: ModelCounters,
    /// The shadow model.
    pub shadow: ModelCounters,
    /// The canary model.
    pub candidate: ModelCounters,
    /// Rows the shadow scored beside the primary.
    pub shadow_rows: AtomicU64,
    /// Of those, rows where the shadow predicted the primary's class.
    pub shadow_agree: AtomicU64,
    /// Shadow tasks spawned and not yet finished (a stopping server waits for them).
    pub shadow_pending: AtomicU64,
}

fn sketch(m: &Mutex<Sketch>) -> Sketch {
    m.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// One histogram in the exposition format, in seconds, from a sketch of nanoseconds.
fn histogram(out: &mut String, name: &str, labels: &str, s: &Sketch) {
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0u64;
    for (_, high, count) in s.buckets() {
        cumulative += u64::from(count);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{:e}\"}} {cumulative}",
            f64::from(high) / 1e9
        );
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
        s.count()
    );
    let sum = s.mean().map_or(0.0, |m| m * s.count() as f64 / 1e9);
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {sum:e}");
    let _ = writeln!(out, "{name}_count{braces} {}", s.count());
}

impl Metrics {
    /// The exposition: `canary` is the canary's lines, when there is one.
    pub fn render(
        &self,
        model: &str,
        shadow: bool,
        canary: Option<&super::canary::Report>,
    ) -> String {
        let mut o = String::new();
        let m = crate::limits::excerpt(model).replace(['\\', '"', '\n'], "_");
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                o,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name}{{model=\"{m}\"}} {v}"
            );
        };
        counter(
            &mut o,
            "mlprobe_requests_total",
            "Inference requests received.",
            self.requests.load(Relaxed),
        );
        let _ = writeln!(
            o,
            "# HELP mlprobe_errors_total Inference requests refused, by HTTP status.\n\
             # TYPE mlprobe_errors_total counter"
        );
        for (code, v) in [
            (400, &self.bad_requests),
            (404, &self.not_found),
            (413, &self.too_large),
        ] {
            let _ = writeln!(
                o,
                "mlprobe_errors_total{{model=\"{m}\",code=\"{code}\"}} {}",
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "# HELP mlprobe_request_duration_seconds Time from a request's body to its answer.\n\
             # TYPE mlprobe_request_duration_seconds histogram"
        );
        histogram(
            &mut o,
            "mlprobe_request_duration_seconds",
            &format!("model=\"{m}\""),
            &sketch(&self.latency),
        );
        let _ = writeln!(
            o,
            "# HELP mlprobe_inference_duration_seconds Inference time per request, by model.\n\
             # TYPE mlprobe_inference_duration_seconds histogram"
        );
        let mut variants = vec![("primary", &self.primary)];
        if shadow {
            variants.push(("shadow", &self.shadow));
        }
        if canary.is_some() {
            variants.push(("candidate", &self.candidate));
        }
        for (v, c) in &variants {
            histogram(
                &mut o,
                "mlprobe_inference_duration_seconds",
                &format!("model=\"{m}\",variant=\"{v}\""),
                &sketch(&c.latency),
            );
        }
        let _ = writeln!(
            o,
            "# HELP mlprobe_rows_total Rows scored, by model.\n# TYPE mlprobe_rows_total counter"
        );
        for (v, c) in &variants {
            let _ = writeln!(
                o,
                "mlprobe_rows_total{{model=\"{m}\",variant=\"{v}\"}} {}",
                c.rows.load(Relaxed)
            );
        }
        if shadow {
            counter(
                &mut o,
                "mlprobe_shadow_rows_total",
                "Rows the shadow model scored beside the primary.",
                self.shadow_rows.load(Relaxed),
            );
            counter(
                &mut o,
                "mlprobe_shadow_agreements_total",
                "Rows where the shadow predicted the primary's class.",
                self.shadow_agree.load(Relaxed),
            );
        }
        if let Some(r) = canary {
            let _ = writeln!(
                o,
                "# HELP mlprobe_canary_share The candidate's share of traffic (0 to 1).\n\
                 # TYPE mlprobe_canary_share gauge\nmlprobe_canary_share{{model=\"{m}\"}} {}",
                r.share_percent / 100.0
            );
            let _ = writeln!(
                o,
                "# HELP mlprobe_canary_state 1 for the canary's state now.\n\
                 # TYPE mlprobe_canary_state gauge"
            );
            for (name, state) in [
                ("running", super::canary::State::Running),
                ("rolled_back", super::canary::State::RolledBack),
                (
                    "promote_recommended",
                    super::canary::State::PromoteRecommended,
                ),
            ] {
                let _ = writeln!(
                    o,
                    "mlprobe_canary_state{{model=\"{m}\",state=\"{name}\"}} {}",
                    u8::from(r.state == state)
                );
            }
            let _ = writeln!(
                o,
                "# HELP mlprobe_canary_feedback_total Rows with feedback, by variant and outcome.\n\
                 # TYPE mlprobe_canary_feedback_total counter"
            );
            for (v, out) in [("primary", &r.primary), ("candidate", &r.candidate)] {
                let _ = writeln!(
                    o,
                    "mlprobe_canary_feedback_total{{model=\"{m}\",variant=\"{v}\",outcome=\"correct\"}} {}\n\
                     mlprobe_canary_feedback_total{{model=\"{m}\",variant=\"{v}\",outcome=\"wrong\"}} {}",
                    out.correct,
                    out.total - out.correct
                );
            }
        }
        o
    }
}
