//! A Markdown summary: a headline with the verdict and counts, then one table row per case
//! (GitHub-flavoured Markdown, as `$GITHUB_STEP_SUMMARY` and GitLab render it).
//!
//! Cells are escaped: `|` becomes `\|`, line breaks become `<br>`, and `<` and `&` become
//! entities so a message cannot open an HTML tag or spell an entity.

use super::{Report, Status};
use std::fmt::Write;

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
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
        for case in &suite.cases {
            let (result, message) = match &case.status {
                Status::Passed => ("✅ pass", ""),
                Status::Failed { message, .. } => ("❌ fail", message.as_str()),
                Status::Error { message, .. } => ("⚠️ error", message.as_str()),
                Status::Skipped { message } => ("⏭️ skipped", message.as_str()),
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
    out
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
    use crate::report::{Case, Suite};

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
        let md = render(&crate::report::Report {
            name: "mlprobe eval".into(),
            suites: vec![s],
        });
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
}
