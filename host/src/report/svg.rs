//! Small, dependency-free SVG charts for the self-contained HTML report: line charts (training
//! curves, robustness curves, posterior densities), bar charts (latency histograms) and
//! heat maps (confusion matrices). Every chart is one `<svg>` element with a `<title>`, so a
//! browser (or a test) can find and count them.

use std::fmt::Write;

/// Colours of successive series (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

const W: f64 = 560.0;
const H: f64 = 300.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for XML/HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a line chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// Axis options of a line chart.
#[derive(Clone, Debug, Default)]
pub struct Axes {
    /// Label under the x axis.
    pub x_label: String,
    /// Label beside the y axis.
    pub y_label: String,
    /// Logarithmic x axis (positive x only).
    pub log_x: bool,
    /// Fixed y range, else from the data.
    pub y_range: Option<(f64, f64)>,
}

/// "Nice" tick values covering `[lo, hi]` (Heckbert, "Nice numbers for graph labels",
/// Graphics Gems, 1990).
pub fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let nice = |x: f64, round: bool| {
        let e = x.log10().floor();
        let f = x / 10f64.powf(e);
        let n = if round {
            if f < 1.5 {
                1.0
            } else if f < 3.0 {
                2.0
            } else if f < 7.0 {
                5.0
            } else {
                10.0
            }
        } else if f <= 1.0 {
            1.0
        } else if f <= 2.0 {
            2.0
        } else if f <= 5.0 {
            5.0
        } else {
            10.0
        };
        n * 10f64.powf(e)
    };
    let range = nice(hi - lo, false);
    let step = nice(range / (count.max(2) - 1) as f64, true);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut t = start;
    while t <= hi + step * 1e-9 {
        if t >= lo - step * 1e-9 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        }
        t += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

fn frame(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"><title>{t}</title><rect x="0" y="0" width="{W}" height="{H}" fill="white"/><text x="{cx}" y="18" text-anchor="middle" class="ct">{t}</text>"#,
        t = esc(title),
        cx = W / 2.0
    );
}

/// A line chart of one or more series.
pub fn line_chart(title: &str, series: &[Series], axes: &Axes) -> String {
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let tx = |x: f64| {
        if axes.log_x {
            x.max(f64::MIN_POSITIVE).log10()
        } else {
            x
        }
    };
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in pts {
        if axes.log_x && x <= 0.0 {
            continue;
        }
        x0 = x0.min(tx(x));
        x1 = x1.max(tx(x));
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if let Some((a, b)) = axes.y_range {
        (y0, y1) = (a, b);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (tx(x) - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
    let mut out = String::new();
    frame(&mut out, title);
    // Grid and ticks.
    for t in ticks(y0, y1, 5) {
        let y = sy(t);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tk">{l}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            l = fmt_tick(t)
        );
    }
    let xticks: Vec<(f64, String)> = if axes.log_x {
        (x0.floor() as i32..=x1.ceil() as i32)
            .map(|e| 10f64.powi(e))
            .filter(|&v| tx(v) >= x0 - 1e-9 && tx(v) <= x1 + 1e-9)
            .map(|v| (v, fmt_tick(v)))
            .collect()
    } else {
        ticks(x0, x1, 6)
            .into_iter()
            .map(|v| (v, fmt_tick(v)))
            .collect()
    };
    for (v, l) in xticks {
        let x = sx(v);
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{y2}" stroke="#f0f0f0"/><text x="{x:.1}" y="{ty}" text-anchor="middle" class="tk">{l}</text>"##,
            y2 = TOP + ph,
            ty = TOP + ph + 16.0,
            l = esc(&l)
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx}" y="{ly}" text-anchor="middle" class="al">{xl}</text><text transform="translate(14 {cy}) rotate(-90)" text-anchor="middle" class="al">{yl}</text>"##,
        cx = LEFT + pw / 2.0,
        ly = H - 8.0,
        cy = TOP + ph / 2.0,
        xl = esc(&axes.x_label),
        yl = esc(&axes.y_label)
    );
    for (k, s) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let d: Vec<String> = s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!axes.log_x || *x > 0.0))
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y.clamp(y0, y1))))
            .collect();
        if d.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
            d.join(" "),
            esc(&s.name)
        );
        if d.len() <= 40 {
            for p in &d {
                let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(out, r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>"#);
            }
        }
        let ly = TOP + 14.0 + 16.0 * k as f64;
        let _ = write!(
            out,
            r#"<rect x="{lx}" y="{ry}" width="12" height="3" fill="{color}"/><text x="{tx}" y="{ty}" class="lg">{n}</text>"#,
            lx = LEFT + 10.0,
            ry = ly - 4.0,
            tx = LEFT + 26.0,
            ty = ly,
            n = esc(&s.name)
        );
    }
    out.push_str("</svg>");
    out
}

/// A bar chart: one bar per `(label, value)`.
pub fn bar_chart(title: &str, bars: &[(String, f64)], x_label: &str, y_label: &str) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max).max(1e-12);
    let mut out = String::new();
    frame(&mut out, title);
    for t in ticks(0.0, max, 5) {
        let y = TOP + ph - t / max * ph;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tk">{l}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            l = fmt_tick(t)
        );
    }
    let n = bars.len().max(1) as f64;
    let bw = pw / n;
    let every = (bars.len() / 8).max(1);
    for (k, (label, v)) in bars.iter().enumerate() {
        let h = v / max * ph;
        let x = LEFT + k as f64 * bw;
        let _ = write!(
            out,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"><title>{l}: {v}</title></rect>"#,
            y = TOP + ph - h,
            w = (bw - 1.0).max(0.5),
            c = PALETTE[0],
            l = esc(label)
        );
        if k % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{cx:.1}" y="{ty}" text-anchor="middle" class="tk">{l}</text>"#,
                cx = x + bw / 2.0,
                ty = TOP + ph + 16.0,
                l = esc(label)
            );
        }
    }
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx}" y="{ly}" text-anchor="middle" class="al">{xl}</text><text transform="translate(14 {cy}) rotate(-90)" text-anchor="middle" class="al">{yl}</text></svg>"##,
        cx = LEFT + pw / 2.0,
        ly = H - 8.0,
        cy = TOP + ph / 2.0,
        xl = esc(x_label),
        yl = esc(y_label)
    );
    out
}

/// A grouped bar chart: for each label one bar per series, side by side, in the series'
/// colours, with a legend (reference against current in `mlprobe drift`).
pub fn grouped_bar_chart(
    title: &str,
    labels: &[String],
    series: &[(String, Vec<f64>)],
    x_label: &str,
    y_label: &str,
) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let max = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let mut out = String::new();
    frame(&mut out, title);
    for t in ticks(0.0, max, 5) {
        let y = TOP + ph - t / max * ph;
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{tx}" y="{ty:.1}" text-anchor="end" class="tk">{l}</text>"##,
            x2 = W - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            l = fmt_tick(t)
        );
    }
    let gw = pw / labels.len().max(1) as f64;
    let bw = (gw - 2.0).max(0.5) / series.len().max(1) as f64;
    let every = (labels.len() / 8).max(1);
    for (k, label) in labels.iter().enumerate() {
        let x0 = LEFT + k as f64 * gw + 1.0;
        for (j, (name, values)) in series.iter().enumerate() {
            let v = values.get(k).copied().unwrap_or(0.0);
            let h = v / max * ph;
            let _ = write!(
                out,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}" fill-opacity="0.85"><title>{l} ({n}): {v}</title></rect>"#,
                x = x0 + j as f64 * bw,
                y = TOP + ph - h,
                w = bw.max(0.5),
                c = PALETTE[j % PALETTE.len()],
                l = esc(label),
                n = esc(name)
            );
        }
        if k % every == 0 {
            let _ = write!(
                out,
                r#"<text x="{cx:.1}" y="{ty}" text-anchor="middle" class="tk">{l}</text>"#,
                cx = x0 + gw / 2.0,
                ty = TOP + ph + 16.0,
                l = esc(label)
            );
        }
    }
    for (j, (name, _)) in series.iter().enumerate() {
        let x = LEFT + 8.0 + j as f64 * 110.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{c}"/><text x="{tx}" y="{ty}" class="lg">{n}</text>"#,
            y = TOP + 6.0,
            c = PALETTE[j % PALETTE.len()],
            tx = x + 14.0,
            ty = TOP + 15.0,
            n = esc(name)
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/><text x="{cx}" y="{ly}" text-anchor="middle" class="al">{xl}</text><text transform="translate(14 {cy}) rotate(-90)" text-anchor="middle" class="al">{yl}</text></svg>"##,
        cx = LEFT + pw / 2.0,
        ly = H - 8.0,
        cy = TOP + ph / 2.0,
        xl = esc(x_label),
        yl = esc(y_label)
    );
    out
}

/// A heat map of a count matrix (rows = true label, columns = prediction for a confusion
/// matrix), each cell labelled with its count.
pub fn heatmap(title: &str, matrix: &[Vec<u32>], row_label: &str, col_label: &str) -> String {
    let n = matrix.len().max(1);
    let cols = matrix.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let size = ((H - TOP - BOTTOM) / n as f64).min((W - LEFT - RIGHT) / cols as f64);
    let max = matrix.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut out = String::new();
    frame(&mut out, title);
    for (r, row) in matrix.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let a = f64::from(v) / max;
            let (x, y) = (LEFT + c as f64 * size, TOP + r as f64 * size);
            let _ = write!(
                out,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{size:.1}" height="{size:.1}" fill="rgba(0,114,178,{a:.3})" stroke="#fff"><title>true {r}, predicted {c}: {v}</title></rect>"##
            );
            if size >= 14.0 {
                let _ = write!(
                    out,
                    r#"<text x="{cx:.1}" y="{cy:.1}" text-anchor="middle" class="{cls}">{v}</text>"#,
                    cx = x + size / 2.0,
                    cy = y + size / 2.0 + 4.0,
                    cls = if a > 0.6 { "cw" } else { "tk" }
                );
            }
        }
        let _ = write!(
            out,
            r#"<text x="{tx}" y="{ty:.1}" text-anchor="end" class="tk">{r}</text>"#,
            tx = LEFT - 6.0,
            ty = TOP + r as f64 * size + size / 2.0 + 4.0
        );
    }
    for c in 0..cols {
        let _ = write!(
            out,
            r#"<text x="{cx:.1}" y="{ty:.1}" text-anchor="middle" class="tk">{c}</text>"#,
            cx = LEFT + c as f64 * size + size / 2.0,
            ty = TOP + n as f64 * size + 14.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="{cx:.1}" y="{ly}" text-anchor="middle" class="al">{xl}</text><text transform="translate(14 {cy:.1}) rotate(-90)" text-anchor="middle" class="al">{yl}</text></svg>"#,
        cx = LEFT + cols as f64 * size / 2.0,
        ly = H - 8.0,
        cy = TOP + n as f64 * size / 2.0,
        xl = esc(col_label),
        yl = esc(row_label)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(
            ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(
            ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
    }

    #[test]
    fn charts_are_single_svg_elements_with_titles_and_escaped_text() {
        let s = Series {
            name: "loss <train>".into(),
            points: vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)],
        };
        let c = line_chart(
            "Training & loss",
            &[s],
            &Axes {
                x_label: "epoch".into(),
                ..Axes::default()
            },
        );
        assert!(c.starts_with("<svg") && c.ends_with("</svg>"));
        assert!(c.contains("<title>Training &amp; loss</title>"));
        assert!(c.contains("loss &lt;train&gt;"));
        assert_eq!(c.matches("<polyline").count(), 1);
        let b = bar_chart("h", &[("1".into(), 3.0), ("2".into(), 0.0)], "x", "y");
        assert_eq!(b.matches("<rect x=").count(), 4); // background, 2 bars, plot border
        let h = heatmap("cm", &[vec![5, 0], vec![1, 4]], "true", "predicted");
        assert!(h.contains("true 1, predicted 0: 1"));
    }

    #[test]
    fn log_axis_skips_non_positive_x() {
        let s = Series {
            name: "a".into(),
            points: vec![(0.0, 1.0), (1e-4, 0.9), (1e-2, 0.5)],
        };
        let c = line_chart(
            "t",
            &[s],
            &Axes {
                log_x: true,
                ..Axes::default()
            },
        );
        assert!(c.contains("0.0001") || c.contains("1e-4"));
    }
}
