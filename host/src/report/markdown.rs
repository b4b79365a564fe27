//! A Markdown summary (GitHub-flavoured, as `$GITHUB_STEP_SUMMARY` and GitLab render it): for a
//! run, a headline and a table of its stages; then a headline with the verdict and counts, and
//! one table row per case.
//!
//! Cells are escaped: `|` becomes `\|`, line breaks become `<br>`, and `<` and `&` become
//! entities so a message cannot open an HTML tag or spell an entity.

use super::sections::{self, Table, Tone};
use super::{Exporter, Report, Status};
use crate::error::Result;
use std::fmt::Write;

/// The Markdown format (`summary.md`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "summary.md"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>> {
        let mut out = String::new();
        if report.run.is_some() {
            let passed = report.passed();
            let _ = write!(
                out,
                "# {}: {}\n\n{}\n\n| stage | verdict | seconds | summary |\n|---|---|---|---|\n",
                report.name,
                if passed { "passed" } else { "FAILED" },
                cell(&report.banner()),
            );
            for st in &report.suites {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.2} | {} |",
                    st.name,
                    st.status().word(),
                    st.duration_s,
                    cell(&st.summary)
                );
            }
            out.push('\n');
            for (title, tables) in sections::all(report) {
                if tables.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "## {title}\n");
                for t in &tables {
                    table(&mut out, t);
                }
            }
        }
        cases(&mut out, report);
        Ok(out.into_bytes())
    }
}

/// The verdict, the counts and one row per case.
fn cases(out: &mut String, report: &Report) {
    let verdict = if report.passed() {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(out, "## {}: {verdict}\n", cell(&report.name));
    let _ = writeln!(
        out,
        "{} checks: {} passed, {} failed, {} errors, {} skipped.\n",
        report.tests(),
        report.tests() - report.failures() - report.errors() - report.skipped(),
        report.failures(),
        report.errors(),
        report.skipped()
    );
    out.push_str("| Suite | Check | Result | Details |\n");
    out.push_str("| --- | --- | --- | --- |\n");
    for suite in &report.suites {
        for case in suite.reported_cases().iter() {
            let result = match &case.status {
                Status::Passed => "✅ pass",
                Status::Failed { .. } => "❌ fail",
                Status::Error { .. } => "⚠️ error",
                Status::Skipped { .. } => "⏭️ skipped",
            };
            let message = match case.status {
                Status::Passed => "",
                _ => case.detail(),
            };
            let details = match (message.is_empty(), case.summary.is_empty()) {
                (true, _) => case.summary.clone(),
                (false, true) => message.to_string(),
                (false, false) => format!("{message}\n{}", case.summary),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {result} | {} |",
                cell(&suite.name),
                cell(&case.name),
                cell(&details)
            );
        }
    }
}

/// Rows of a table past which the Markdown stops (the HTML has them all).
pub const MAX_ROWS: usize = 25;

/// A table with its caption in bold above it; past [`MAX_ROWS`] rows, a line says how many
/// more the HTML has.
fn table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "**{}**\n", cell(&t.caption));
    if t.folded {
        // The long list of what held: counted in its caption, listed in report.html.
        let _ = writeln!(out, "(listed in report.html)\n");
        return;
    }
    let head: Vec<String> = t.head.iter().map(|h| cell(h)).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(t.head.len()));
    for row in t.rows.iter().take(MAX_ROWS) {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c.tone {
                Tone::Bad => format!("**{}**", cell(&c.text)),
                _ => cell(&c.text),
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if t.rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "\n{} more rows in report.html.",
            t.rows.len() - MAX_ROWS
        );
    }
    out.push('\n');
}

/// Escapes a table cell.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Case, RunInfo, StageStatus, Suite};

    fn render(report: &Report) -> String {
        String::from_utf8(Markdown.export(report).unwrap()).unwrap()
    }

    #[test]
    fn renders_a_table_with_one_row_per_case() {
        let mut s = Suite::new("thresholds");
        s.push(Case::passed("accuracy >= 0.9", "c").with_summary("0.95"));
        s.push(Case::failed(
            "f1 | macro",
            "c",
            "0.5 < 0.8\nsee log",
            "threshold",
        ));
        let md = render(&Report::new("mlprobe eval").with_suite(s));
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "## mlprobe eval: ❌ failed");
        assert_eq!(
            lines[2],
            "2 checks: 1 passed, 1 failed, 0 errors, 0 skipped."
        );
        let table: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.starts_with('|'))
            .collect();
        assert_eq!(table[0], "| Suite | Check | Result | Details |");
        assert_eq!(table[1], "| --- | --- | --- | --- |");
        assert_eq!(
            table[2],
            "| thresholds | accuracy >= 0.9 | ✅ pass | 0.95 |"
        );
        assert_eq!(
            table[3],
            "| thresholds | f1 \\| macro | ❌ fail | 0.5 &lt; 0.8<br>see log |"
        );
        // Every row has the header's number of cells (unescaped pipes only).
        for row in &table {
            assert_eq!(row.replace("\\|", "").matches('|').count(), 5, "{row}");
        }
    }

    #[test]
    fn a_run_starts_with_its_stage_table() {
        let mut train = Suite::new("train");
        train.status = Some(StageStatus::Passed);
        train.duration_s = 1.234;
        train.summary = "13-32-3 | 42 epochs".into();
        let mut device = Suite::new("device");
        device.status = Some(StageStatus::Skipped);
        device.notes = vec!["no QEMU".into()];
        let mut r = Report::new("mlprobe run")
            .with_suite(train)
            .with_suite(device);
        r.run = Some(RunInfo {
            mlprobe: "0.1.0".into(),
            dataset: "wine.csv".into(),
            ..RunInfo::default()
        });
        let md = render(&r);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "# mlprobe run: passed");
        assert_eq!(
            lines[2],
            "passed, 1 stage skipped (device: no QEMU), 1 without checks (train)"
        );
        // Provenance: started_unix_s 0 is the epoch.
        assert!(md.contains("## Provenance\n\n**Run**\n"));
        assert!(md.contains("| data | wine.csv |"));
        assert!(md.contains("| started | 1970-01-01T00:00:00Z |"));
        assert_eq!(
            lines[6],
            "| train | PASSED | 1.23 | 13-32-3 \\| 42 epochs |"
        );
        assert_eq!(lines[7], "| device | SKIPPED | 0.00 |  |");
        assert!(md.contains("## mlprobe run: ✅ passed"));
        assert!(md.contains("| device | device | ⏭️ skipped | no QEMU |"));
    }
}
