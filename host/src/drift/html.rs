//! The HTML page of `mlprobe drift --report DIR` (`drift.html`): the table of the text report
//! and one chart per column, reference against current — grouped bars of the shares on 20
//! shared equal-width bins for a numeric column, of the 20 most frequent categories (and
//! "(other)") for a categorical one. Built from the report's own SVG and page helpers.

use super::compare::Side;
use super::{CategoryCount, DriftReport};
use crate::report::html::{card_html, page};
use crate::report::svg::{esc, grouped_bar_chart};

/// Bars per numeric chart.
const BINS: usize = 20;
/// Categories drawn; the rest are one "(other)" bar.
const TOP_CATEGORIES: usize = 20;

/// One column's chart data: shares of each side per bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// Bar labels.
    pub labels: Vec<String>,
    /// The reference's shares.
    pub reference: Vec<f64>,
    /// The current table's shares.
    pub current: Vec<f64>,
    /// X axis label.
    pub x_label: String,
}

impl Chart {
    /// Shares on 20 equal-width bins over both sides' range (right-closed; a sketched
    /// side's counts are estimated within its bins).
    pub fn numeric(reference: &Side, current: &Side) -> Self {
        let (a, b) = (
            reference.range().unwrap_or((0.0, 0.0)),
            current.range().unwrap_or((0.0, 0.0)),
        );
        let (lo, hi) = (a.0.min(b.0), a.1.max(b.1));
        let finite = lo.is_finite() && hi.is_finite();
        let width = if finite && hi > lo {
            (hi - lo) / BINS as f64
        } else {
            1.0
        };
        let edges: Vec<f64> = (1..BINS).map(|k| lo + width * k as f64).collect();
        let shares = |s: &Side| {
            let n = s.len().max(1) as f64;
            super::compare::bin_counts(s, &edges)
                .iter()
                .map(|&c| c as f64 / n)
                .collect::<Vec<f64>>()
        };
        Self {
            labels: (0..BINS)
                .map(|k| format!("{:.3}", lo + width * (k as f64 + 0.5)))
                .collect(),
            reference: shares(reference),
            current: shares(current),
            x_label: "value (bin centre)".into(),
        }
    }

    /// Shares of the most frequent categories.
    pub fn categorical(categories: &[CategoryCount]) -> Self {
        let (nr, nc) = categories
            .iter()
            .fold((0u64, 0u64), |(a, b), c| (a + c.reference, b + c.current));
        let mut sorted: Vec<&CategoryCount> = categories.iter().collect();
        sorted.sort_by(|x, y| {
            (y.reference + y.current)
                .cmp(&(x.reference + x.current))
                .then(x.value.cmp(&y.value))
        });
        let share = |c: u64, n: u64| c as f64 / n.max(1) as f64;
        let mut chart = Self {
            labels: Vec::new(),
            reference: Vec::new(),
            current: Vec::new(),
            x_label: "category".into(),
        };
        for c in sorted.iter().take(TOP_CATEGORIES) {
            chart.labels.push(c.value.clone());
            chart.reference.push(share(c.reference, nr));
            chart.current.push(share(c.current, nc));
        }
        if sorted.len() > TOP_CATEGORIES {
            let rest = &sorted[TOP_CATEGORIES..];
            chart.labels.push("(other)".into());
            chart
                .reference
                .push(share(rest.iter().map(|c| c.reference).sum(), nr));
            chart
                .current
                .push(share(rest.iter().map(|c| c.current).sum(), nc));
        }
        chart
    }
}

/// `drift.html` for `report`.
pub fn render(report: &DriftReport) -> String {
    let mut body = format!(
        "<p class=\"meta\">{} against reference {} · Benjamini–Hochberg at alpha {} · {}</p>",
        esc(&report.current),
        esc(&report.reference),
        report.alpha,
        if report.passed {
            "no drift".to_string()
        } else {
            format!("drift in: {}", esc(&report.drifted.join(", ")))
        }
    );
    body += "<pre>";
    body += &esc(&report.human());
    body += "</pre><div class=\"grid\">";
    for c in &report.columns {
        let Some(chart) = &c.chart else {
            continue;
        };
        let title = format!("{}{}", c.column, if c.drifted { " (drift)" } else { "" });
        body += &card_html(&grouped_bar_chart(
            &title,
            &chart.labels,
            &[
                ("reference".to_string(), chart.reference.clone()),
                ("current".to_string(), chart.current.clone()),
            ],
            &chart.x_label,
            "share of values",
        ));
    }
    body += "</div>";
    page("mlprobe drift", &body)
}
