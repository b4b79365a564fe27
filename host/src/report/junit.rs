//! JUnit XML, the format GitHub Actions (test-reporter actions), GitLab
//! (`artifacts:reports:junit`) and Jenkins (`junit` step) read, written by `quick-junit`.
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
//! A case without a classname gets the report's and the suite's (`mlprobe.run.eval`). An
//! attribute value loses its line breaks to XML's attribute-value normalisation, so a failure
//! message of several lines is also the element's text; characters XML 1.0 forbids (control
//! characters, ANSI escapes) are dropped.

use super::{Case, Exporter, Report, Status};
use crate::error::{Error, Result};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The JUnit XML format (`junit.xml`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Junit;

impl Exporter for Junit {
    fn file_name(&self) -> &'static str {
        "junit.xml"
    }

    fn export(&self, report: &Report) -> Result<Vec<u8>> {
        let mut out = quick_junit::Report::new(report.name.as_str());
        out.set_time(seconds(report.time_s()));
        let group = report.name.replace(' ', ".");
        for suite in &report.suites {
            let mut ts = TestSuite::new(suite.name.as_str());
            ts.set_time(seconds(suite.time_s()));
            ts.add_properties(suite.properties.iter().map(property));
            for case in suite.reported_cases().iter() {
                let classname = match case.classname.as_str() {
                    "" => format!("{group}.{}", suite.name),
                    c => c.to_string(),
                };
                ts.add_test_case(test_case(case, classname));
            }
            out.add_test_suite(ts);
        }
        let mut bytes = Vec::new();
        out.serialize(&mut bytes)
            .map_err(|e| Error::Internal(format!("writing JUnit XML: {e}")))?;
        Ok(bytes)
    }
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

fn property((name, value): &(String, String)) -> Property {
    Property::new(name.as_str(), value.as_str())
}

fn test_case(case: &Case, classname: String) -> TestCase {
    let status = match &case.status {
        Status::Passed => TestCaseStatus::success(),
        Status::Failed {
            message,
            kind,
            detail,
        } => non_success(NonSuccessKind::Failure, message, kind, detail),
        Status::Error { message, kind } => non_success(NonSuccessKind::Error, message, kind, ""),
        Status::Skipped { message } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(message.as_str());
            s
        }
    };
    let mut tc = TestCase::new(case.name.as_str(), status);
    tc.set_classname(classname)
        .set_time(seconds(case.time_s))
        .add_properties(case.properties.iter().map(property));
    if !case.summary.is_empty() {
        tc.set_system_out(case.summary.as_str());
    }
    tc
}

fn non_success(kind: NonSuccessKind, message: &str, ty: &str, detail: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(ty);
    let text = if detail.is_empty() && message.contains('\n') {
        message
    } else {
        detail
    };
    if !text.is_empty() {
        s.set_description(text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{StageStatus, Suite};

    fn render(report: &Report) -> String {
        String::from_utf8(Junit.export(report).unwrap()).unwrap()
    }

    #[test]
    fn parses_as_xml_with_the_junit_structure_and_counts() {
        let xml = render(&crate::report::tests::sample());
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        assert_eq!(root.attribute("name"), Some("mlprobe eval"));
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
        let error = suites[0]
            .descendants()
            .find(|n| n.has_tag_name("error"))
            .unwrap();
        assert_eq!(
            (error.attribute("message"), error.attribute("type")),
            (Some("not measured"), Some("missing"))
        );
        let out = suites[0]
            .descendants()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        assert_eq!(out.text(), Some("p99 <120> & \"quoted\"\nsecond line"));
        // A message's line break survives in the element's text; a forbidden control
        // character is dropped.
        let f2 = suites[1]
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(f2.text(), Some("a\nb"));
        let skipped = suites[1]
            .descendants()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap();
        assert_eq!(skipped.attribute("message"), Some("empty slice"));
        let bell = suites[1]
            .descendants()
            .find(|n| n.attribute("classname") == Some("c<l>"))
            .unwrap();
        assert_eq!(bell.attribute("name"), Some("bell"));
        assert_eq!(bell.attribute("time").unwrap().parse::<f64>(), Ok(0.25));
        let prop = suites[0]
            .children()
            .find(|n| n.has_tag_name("properties"))
            .unwrap();
        assert_eq!(
            prop.first_element_child().unwrap().attribute("value"),
            Some("wine.mlp")
        );
        let case_prop = suites[0]
            .descendants()
            .filter(|n| n.has_tag_name("property"))
            .find(|n| n.attribute("name") == Some("actual"))
            .unwrap();
        assert_eq!(case_prop.attribute("value"), Some("0.95"));
    }

    #[test]
    fn stages_without_checks_are_one_case_and_checks_take_the_stage_classname() {
        let mut train = Suite::new("train");
        train.status = Some(StageStatus::Passed);
        train.duration_s = 2.0;
        train.summary = "trained".into();
        let mut eval = Suite::new("eval");
        eval.status = Some(StageStatus::Failed);
        eval.push(Case::check("accuracy >= 0.99", false, "0.98"));
        let xml = render(
            &Report::new("mlprobe run")
                .with_suite(train)
                .with_suite(eval),
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(cases[0].attribute("name"), Some("train"));
        assert_eq!(cases[0].attribute("classname"), Some("mlprobe.run.train"));
        assert_eq!(cases[0].attribute("time").unwrap().parse::<f64>(), Ok(2.0));
        assert_eq!(cases[1].attribute("classname"), Some("mlprobe.run.eval"));
        let failure = cases[1].first_element_child().unwrap();
        assert_eq!(
            (failure.attribute("message"), failure.attribute("type")),
            (Some("0.98"), Some("gate"))
        );
        assert_eq!(doc.root_element().attribute("failures"), Some("1"));
    }

    #[test]
    fn empty_report_is_valid() {
        let xml = render(&Report::new("empty"));
        let doc = roxmltree::Document::parse(&xml).unwrap();
        assert_eq!(doc.root_element().attribute("tests"), Some("0"));
    }
}
