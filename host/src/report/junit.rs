//! JUnit XML, the format GitHub Actions (test-reporter actions), GitLab (`artifacts:reports:junit`)
//! and Jenkins (`junit` step) read.
//!
//! The shape is the common subset of those readers (the "Jenkins/Ant" JUnit schema,
//! <https://github.com/testmoapp/junitxml>):
//!
//! ```text
//! <testsuites name tests failures errors skipped time>
//!   <testsuite name tests failures errors skipped time>
//!     <properties><property name value/></properties>
//!     <testcase name classname time>
//!       <properties>…</properties>
//!       <failure message type>detail</failure> | <error message type/> | <skipped message/>
//!       <system-out>summary</system-out>
//!     </testcase>
//! ```
//!
//! Text is escaped for XML 1.0: `& < > " '` become entities, line breaks in attributes become
//! character references (so they survive attribute-value normalisation), and the control
//! characters XML 1.0 forbids become U+FFFD.

use super::{Case, Report, Status, Suite};
use std::fmt::Write;

/// The report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.6}\">",
        attr(&report.name),
        report.tests(),
        report.failures(),
        report.errors(),
        report.skipped(),
        report.time_s()
    );
    for suite in &report.suites {
        render_suite(&mut out, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

fn render_suite(out: &mut String, suite: &Suite) {
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.6}\">",
        attr(&suite.name),
        suite.tests(),
        suite.failures(),
        suite.errors(),
        suite.skipped(),
        suite.time_s()
    );
    render_properties(out, &suite.properties, "    ");
    for case in &suite.cases {
        render_case(out, case);
    }
    out.push_str("  </testsuite>\n");
}

fn render_case(out: &mut String, case: &Case) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.6}\"",
        attr(&case.name),
        attr(&case.classname),
        case.time_s
    );
    if case.properties.is_empty() && case.summary.is_empty() && case.status == Status::Passed {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    render_properties(out, &case.properties, "      ");
    match &case.status {
        Status::Passed => {}
        Status::Failed {
            message,
            kind,
            detail,
        } => {
            let _ = write!(
                out,
                "      <failure message=\"{}\" type=\"{}\"",
                attr(message),
                attr(kind)
            );
            if detail.is_empty() {
                out.push_str("/>\n");
            } else {
                let _ = writeln!(out, ">{}</failure>", text(detail));
            }
        }
        Status::Error { message, kind } => {
            let _ = writeln!(
                out,
                "      <error message=\"{}\" type=\"{}\"/>",
                attr(message),
                attr(kind)
            );
        }
        Status::Skipped { message } => {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(message));
        }
    }
    if !case.summary.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            text(&case.summary)
        );
    }
    out.push_str("    </testcase>\n");
}

fn render_properties(out: &mut String, properties: &[(String, String)], indent: &str) {
    if properties.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}<properties>");
    for (name, value) in properties {
        let _ = writeln!(
            out,
            "{indent}  <property name=\"{}\" value=\"{}\"/>",
            attr(name),
            attr(value)
        );
    }
    let _ = writeln!(out, "{indent}</properties>");
}

/// True for characters XML 1.0 allows (§2.2 `Char`).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Escapes text for an attribute value (double-quoted).
pub fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes element content.
pub fn text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut t = Suite::new("thresholds");
        t.properties.push(("model".into(), "wine.mlp".into()));
        t.push(
            Case::passed("accuracy >= 0.9", "mlprobe.eval.thresholds")
                .with_property("actual", 0.95),
        );
        t.push(
            Case::failed(
                "latency_p99_us <= 100",
                "mlprobe.eval.thresholds",
                "latency_p99_us 120 violates max 100",
                "threshold",
            )
            .with_summary("p99 <120> & \"quoted\"\nsecond line"),
        );
        t.push(Case::new(
            "memory_bytes <= 10",
            "mlprobe.eval.thresholds",
            Status::Error {
                message: "not measured".into(),
                kind: "missing".into(),
            },
        ));
        let mut s = Suite::new("slice: alcohol > 13 & label != 'x'");
        s.push(Case::new(
            "accuracy >= 0.9",
            "mlprobe.eval.slice",
            Status::Skipped {
                message: "empty slice".into(),
            },
        ));
        s.push(Case::failed("bell\u{7}", "c<l>", "a\nb", "regression").with_time(0.25));
        Report {
            name: "mlprobe eval".into(),
            suites: vec![t, s],
        }
    }

    #[test]
    fn parses_as_xml_with_the_junit_structure_and_counts() {
        let xml = render(&sample());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let counts =
            |n: roxmltree::Node, a: &str| n.attribute(a).unwrap().parse::<usize>().unwrap();
        assert_eq!(
            ["tests", "failures", "errors", "skipped"].map(|a| counts(root, a)),
            [5, 2, 1, 1]
        );
        let suites: Vec<_> = root
            .children()
            .filter(|n| n.has_tag_name("testsuite"))
            .collect();
        assert_eq!(suites.len(), 2);
        assert_eq!(
            suites[1].attribute("name"),
            Some("slice: alcohol > 13 & label != 'x'")
        );
        for suite in &suites {
            let cases: Vec<_> = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            assert_eq!(counts(*suite, "tests"), cases.len());
            let failures = cases
                .iter()
                .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
                .count();
            assert_eq!(counts(*suite, "failures"), failures);
            for c in &cases {
                assert!(c.attribute("name").is_some() && c.attribute("classname").is_some());
                assert!(c.attribute("time").unwrap().parse::<f64>().is_ok());
            }
        }
        let failure = suites[0]
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            failure.attribute("message"),
            Some("latency_p99_us 120 violates max 100")
        );
        assert_eq!(failure.attribute("type"), Some("threshold"));
        let out = suites[0]
            .descendants()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        assert_eq!(out.text(), Some("p99 <120> & \"quoted\"\nsecond line"));
        // Line breaks in attributes survive; a forbidden control character is replaced.
        let f2 = suites[1]
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(f2.attribute("message"), Some("a\nb"));
        let bell = suites[1]
            .descendants()
            .find(|n| n.attribute("classname") == Some("c<l>"))
            .unwrap();
        assert_eq!(bell.attribute("name"), Some("bell\u{FFFD}"));
        assert_eq!(bell.attribute("time"), Some("0.250000"));
        let prop = suites[0]
            .children()
            .find(|n| n.has_tag_name("properties"))
            .unwrap();
        assert_eq!(
            prop.first_element_child().unwrap().attribute("value"),
            Some("wine.mlp")
        );
    }

    #[test]
    fn empty_report_is_valid() {
        let xml = render(&Report::new("empty"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    }
}
