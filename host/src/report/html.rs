//! The self-contained HTML report of `mlprobe run`: one file, inline CSS and SVG charts, no
//! script and no network access, so it opens anywhere (a CI artifact, a mail attachment).

use super::sections::{self, Table, Tone};
use super::svg::{self, Axes, Series, esc};
use super::{Exporter, Line, Report, StageStatus};
use crate::error::Result;
use mlprobe_core::special;

/// The HTML format (`report.html`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Html;

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>> {
        Ok(render(report).into_bytes())
    }
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}\
main{max-width:1180px;margin:0 auto;padding:24px}h1{margin:0 0 4px}h2{margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}\
.meta{color:#666}.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}\
.passed{background:#2e7d32}.failed{background:#c62828}.skipped{background:#757575}.error{background:#ef6c00}\
table{border-collapse:collapse;background:#fff;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}.grid{display:flex;flex-wrap:wrap;gap:16px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}\
svg.chart{max-width:100%;height:auto}.ct{font-size:13px;font-weight:600}.tk{font-size:10px;fill:#555}.al{font-size:11px;fill:#333}.lg{font-size:11px}\
.cw{font-size:10px;fill:#fff}pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto;max-height:420px}\
.ok{color:#2e7d32}.ko{color:#c62828;font-weight:600}details{margin:6px 0}\
caption{text-align:left;font-weight:600;padding:2px 0}.banner{font-size:15px;margin:6px 0 0}";

/// A standalone page in the report's style (`mlprobe drift --report`): `title` in the head and
/// as the heading, `body` (HTML) below it.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title><style>{CSS}</style></head><body><main><h1>{t}</h1>{body}</main></body></html>\n",
        t = esc(title)
    )
}

/// A chart or a block in a bordered card, as the report lays them out in a `grid` div.
pub fn card_html(inner: &str) -> String {
    card(inner)
}

fn badge(status: StageStatus) -> String {
    let class = match status {
        StageStatus::Passed => "passed",
        StageStatus::Failed => "failed",
        StageStatus::Skipped => "skipped",
        StageStatus::Error => "error",
    };
    format!(r#"<span class="badge {class}">{}</span>"#, status.word())
}

fn series(lines: &[Line]) -> Vec<Series> {
    lines
        .iter()
        .map(|l| Series {
            name: l.name.clone(),
            points: l.points.clone(),
        })
        .collect()
}

fn card(inner: &str) -> String {
    format!(r#"<div class="card">{inner}</div>"#)
}

fn missing(what: &str) -> String {
    format!(
        r#"<p class="meta">{}: no data (the stage was skipped or failed; see the gate summary).</p>"#,
        esc(what)
    )
}

/// Densities of the two Beta posteriors on a common grid (mean ± 6 standard deviations).
fn posterior_lines(r: &Report) -> Vec<Line> {
    let Some(p) = &r.charts.posteriors else {
        return Vec::new();
    };
    let arms = [&p.control, &p.treatment];
    let (mut lo, mut hi) = (1.0f64, 0.0f64);
    for (_, b) in arms {
        let n = b.alpha + b.beta;
        let mean = b.alpha / n;
        let sd = (b.alpha * b.beta / (n * n * (n + 1.0))).sqrt();
        lo = lo.min(mean - 6.0 * sd);
        hi = hi.max(mean + 6.0 * sd);
    }
    let (lo, hi) = (lo.max(0.0), hi.min(1.0));
    arms.iter()
        .map(|(name, b)| {
            let points = (0..=200)
                .map(|k| {
                    let x = lo + (hi - lo) * k as f64 / 200.0;
                    let y = special::beta_pdf(b.alpha, b.beta, x);
                    (x, if y.is_finite() { y } else { 0.0 })
                })
                .collect();
            Line {
                name: format!("{name}: Beta({:.0}, {:.0})", b.alpha, b.beta),
                points,
            }
        })
        .collect()
}

/// The page: a run's context, the stage table, the charts, the checks and each stage's figures.
fn render(r: &Report) -> String {
    let passed = r.passed();
    let mut h = String::new();
    h += &format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>mlprobe report: {}</title><style>{CSS}</style></head><body><main>",
        esc(r.run.as_ref().map_or(&r.name, |run| &run.dataset))
    );
    h += &format!(
        "<h1>mlprobe report {}</h1><p class=\"banner\">{}</p>",
        badge(if passed {
            StageStatus::Passed
        } else {
            StageStatus::Failed
        }),
        esc(&r.banner())
    );
    if r.run.is_some() {
        h += "<h2>Provenance</h2><div class=\"grid\">";
        for t in [sections::run_table(r), sections::inputs_table(r)]
            .into_iter()
            .flatten()
        {
            h += &card(&table(&t));
        }
        h += "</div>";
    }

    // Gate summary.
    h += "<h2>Gates</h2><table><tr><th>stage</th><th>verdict</th><th>seconds</th><th>summary</th></tr>";
    for st in &r.suites {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
            esc(&st.name),
            badge(st.status()),
            st.duration_s,
            esc(&st.summary)
        );
    }
    h += "</table>";
    // Training and evaluation.
    h += "<h2>Training and evaluation</h2><div class=\"grid\">";
    let loss: Vec<Line> = r
        .charts
        .training
        .iter()
        .filter(|l| l.name.contains("loss"))
        .cloned()
        .collect();
    let acc: Vec<Line> = r
        .charts
        .training
        .iter()
        .filter(|l| !l.name.contains("loss"))
        .cloned()
        .collect();
    if loss.is_empty() && acc.is_empty() {
        h += &missing("Training curves");
    } else {
        let ax = |y: &str| Axes {
            x_label: "epoch".into(),
            y_label: y.into(),
            ..Axes::default()
        };
        h += &card(&svg::line_chart(
            "Loss per epoch",
            &series(&loss),
            &ax("cross-entropy"),
        ));
        h += &card(&svg::line_chart(
            "Accuracy per epoch",
            &series(&acc),
            &Axes {
                y_range: Some((0.0, 1.0)),
                ..ax("accuracy")
            },
        ));
    }
    if r.charts.confusion.is_empty() {
        h += &missing("Confusion matrix");
    } else {
        h += &card(&svg::heatmap(
            "Confusion matrix (held-out rows)",
            &r.charts.confusion,
            "true label",
            "predicted label",
        ));
    }
    h += &tables(&[sections::per_class(r)]);
    h += "</div>";
    h += &section(
        "Slices",
        &[sections::slices(r), sections::segments(r)],
        "no slice named, and no segment search",
    );
    let expectations: Vec<_> = sections::expectations(r).into_iter().map(Some).collect();
    h += &section(
        "Expectations",
        &expectations,
        "the expect stage did not run",
    );

    // Latency.
    h += "<h2>Latency and load</h2><div class=\"grid\">";
    if r.charts.latency.is_empty() {
        h += &missing("Latency");
    }
    for l in &r.charts.latency {
        // Whole-number values (instruction counts) are bars of their own; fractional ones
        // (microseconds) are bins named by their upper bound.
        // The last bin of a binned histogram is open: it holds every sample above the bin
        // before it (the slowest ones), so its label says so.
        let exact = l.histogram.iter().all(|&(v, _)| v.fract() == 0.0);
        let last = l.histogram.len().saturating_sub(1);
        let bars: Vec<(String, f64)> = l
            .histogram
            .iter()
            .enumerate()
            .map(|(k, &(v, c))| {
                let label = match k {
                    _ if exact => format!("{v:.0}"),
                    k if k == last && k > 0 => format!(">{:.3}", l.histogram[k - 1].0),
                    _ => format!("≤{v:.3}"),
                };
                (label, c as f64)
            })
            .collect();
        let mut inner = svg::bar_chart(
            &chart_title(l),
            &bars,
            &if exact {
                l.unit.clone()
            } else {
                format!("{} (bucket upper bound)", l.unit)
            },
            "count",
        );
        inner += "<table><tr>";
        for (name, _) in &l.percentiles {
            inner += &format!("<th>{}</th>", esc(name));
        }
        inner += "</tr><tr>";
        for (_, v) in &l.percentiles {
            inner += &format!("<td>{v:.3}</td>");
        }
        inner += "</tr></table>";
        h += &card(&inner);
    }

    let over_time = sections::load_over_time(r);
    if !over_time.is_empty() {
        h += &card(&svg::line_chart(
            "p99 latency over the load run",
            &series(&over_time),
            &Axes {
                x_label: "seconds into the run".into(),
                y_label: "p99 latency (µs) of the interval".into(),
                ..Axes::default()
            },
        ));
    }
    h += &tables(&[sections::load(r)]);
    h += "</div>";

    // Robustness.
    h += "<h2>Chaos: bit flips, damaged inputs, a faulty link</h2><div class=\"grid\">";
    if r.charts.bitflip.is_empty() {
        h += &missing("Bit-flip robustness");
    } else {
        h += &card(&svg::line_chart(
            "Accuracy under random weight bit flips",
            &series(&r.charts.bitflip),
            &Axes {
                x_label: "bit-error rate".into(),
                y_label: "accuracy".into(),
                log_x: true,
                y_range: Some((0.0, 1.0)),
            },
        ));
    }
    h += &tables(&[
        sections::bitflips(r),
        sections::input_faults(r),
        sections::link_faults(r),
    ]);
    h += "</div>";

    // A/B.
    h += "<h2>A/B analysis: previous model against the new one</h2><div class=\"grid\">";
    let post = posterior_lines(r);
    if post.is_empty() {
        h += &missing("Posteriors");
    } else {
        h += &card(&svg::line_chart(
            "Posterior accuracy (Beta–Binomial)",
            &series(&post),
            &Axes {
                x_label: "accuracy on held-out rows".into(),
                y_label: "density".into(),
                ..Axes::default()
            },
        ));
    }
    h += &tables(&[sections::comparison(r)]);
    h += "</div>";

    // Checks, open where one failed.
    h += "<h2>Checks</h2>";
    for st in r
        .suites
        .iter()
        .filter(|s| !s.cases.is_empty() || !s.notes.is_empty())
    {
        let failed = st.cases.iter().filter(|c| !c.is_ok()).count();
        h += &format!(
            "<details{}><summary><b>{}</b>: {} checks, {} failed, {} notes</summary><ul>",
            if failed > 0 { " open" } else { "" },
            esc(&st.name),
            st.cases.len(),
            failed,
            st.notes.len()
        );
        for c in &st.cases {
            h += &format!(
                "<li><span class=\"{}\">{}</span> {} <span class=\"meta\">{}</span></li>",
                if c.is_ok() { "ok" } else { "ko" },
                if c.is_ok() { "✔" } else { "✘" },
                esc(&c.name),
                esc(c.detail())
            );
        }
        for n in &st.notes {
            h += &format!("<li class=\"meta\">note: {}</li>", esc(n));
        }
        h += "</ul></details>";
    }

    // Details.
    h += "<h2>Raw figures (each stage's JSON)</h2>";
    for st in &r.suites {
        let json = serde_json::to_string_pretty(&st.details).unwrap_or_default();
        h += &format!(
            "<details><summary>{} {}</summary><pre>{}</pre></details>",
            esc(&st.name),
            badge(st.status()),
            esc(&json)
        );
    }
    h += "</main></body></html>\n";
    h
}

/// A table as HTML, its caption above it; good and bad cells coloured.
fn table(t: &Table) -> String {
    let mut h = if t.folded {
        format!(
            "<details><summary><b>{}</b></summary><table>",
            esc(&t.caption)
        )
    } else {
        format!("<table><caption>{}</caption>", esc(&t.caption))
    };
    if t.head.iter().any(|c| !c.is_empty()) {
        h += "<tr>";
        for c in &t.head {
            h += &format!("<th>{}</th>", esc(c));
        }
        h += "</tr>";
    }
    for row in &t.rows {
        h += "<tr>";
        for c in row {
            let class = match c.tone {
                Tone::Plain => "",
                Tone::Good => " class=\"ok\"",
                Tone::Bad => " class=\"ko\"",
            };
            h += &format!("<td{class}>{}</td>", esc(&c.text));
        }
        h += "</tr>";
    }
    h += "</table>";
    if t.folded {
        h += "</details>";
    }
    h
}

/// Each table that has rows, in a card.
fn tables(ts: &[Option<Table>]) -> String {
    ts.iter().flatten().map(|t| card(&table(t))).collect()
}

/// A section of tables, or a line saying why it is empty.
fn section(title: &str, ts: &[Option<Table>], empty: &str) -> String {
    let inner = tables(ts);
    format!(
        "<h2>{}</h2><div class=\"grid\">{}</div>",
        esc(title),
        if inner.is_empty() {
            format!("<p class=\"meta\">{}.</p>", esc(empty))
        } else {
            inner
        }
    )
}

/// A latency chart's title, named by what it measures: time on the host, instructions under
/// QEMU (a count that stands for time, not a time).
fn chart_title(l: &super::LatencyChart) -> String {
    if l.unit == "instructions" {
        format!("Instructions per inference on {}", l.target)
    } else {
        format!("Latency on {} ({})", l.target, l.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{BetaParams, Case, Posteriors, RunInfo, Suite};

    #[test]
    fn a_run_is_one_page_with_a_chart_per_data_series_and_no_script() {
        let mut eval = Suite::new("eval");
        eval.status = Some(StageStatus::Failed);
        eval.push(Case::check("accuracy >= 0.99", false, "0.98 <"));
        let mut r = Report::new("mlprobe run").with_suite(eval);
        r.run = Some(RunInfo {
            dataset: "wine & co.csv".into(),
            ..RunInfo::default()
        });
        let html = String::from_utf8(Html.export(&r).unwrap()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && !html.contains("<script"));
        assert!(
            html.contains("FAILED, 1 stage failed (eval)") && html.contains("wine &amp; co.csv")
        );
        assert!(html.contains("<details open><summary><b>eval</b>: 1 checks, 1 failed"));
        assert!(html.contains("0.98 &lt;"));
        assert_eq!(html.matches("<svg").count(), 0, "no chart data, no chart");
        r.charts.confusion = vec![vec![3, 1], vec![0, 4]];
        r.charts.training.push(Line {
            name: "loss".into(),
            points: vec![(1.0, 0.9), (2.0, 0.5)],
        });
        r.charts.posteriors = Some(Posteriors {
            control: (
                "previous".into(),
                BetaParams {
                    alpha: 5.0,
                    beta: 2.0,
                },
            ),
            treatment: (
                "new".into(),
                BetaParams {
                    alpha: 6.0,
                    beta: 1.0,
                },
            ),
        });
        let html = String::from_utf8(Html.export(&r).unwrap()).unwrap();
        // loss, accuracy (empty but drawn beside it), confusion, posteriors
        assert_eq!(html.matches("<svg").count(), 4);
    }
}
