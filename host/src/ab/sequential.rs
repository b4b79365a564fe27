//! `mlprobe ab sequential`: a sequential test over a file of `variant,converted` events, run
//! by [`mlprobe_core::sequential::Sequential`]: the first look at which it stopped, if any.

use super::{Arm, core_error, unit, usage};
use crate::error::{Error, Result};
use mlprobe_core::abtest::{AbError, MAX_LOOKS, Msprt};
use mlprobe_core::sequential::{Decision, Method, Plan, Sequential};
use serde::Serialize;
use std::fmt::Write as _;
use std::num::NonZeroU64;
use std::path::Path;

/// The sequential test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SequentialMethod {
    /// Mixture SPRT (Johari et al. 2017): an always-valid p-value, any number of looks.
    Msprt,
    /// Lan–DeMets O'Brien–Fleming group-sequential boundaries over a planned maximum of events.
    Obf,
}

/// Options of [`sequential()`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SequentialOptions {
    /// The test (`--method`, default mSPRT).
    pub method: SequentialMethod,
    /// Significance level (`--alpha`, default 0.05).
    pub alpha: f64,
    /// mSPRT's mixing scale (`--tau`, default 0.05): the difference in rates you expect.
    pub tau: f64,
    /// Look after every this many events (`--look-every`, default 100).
    pub look_every: u64,
    /// O'Brien–Fleming's planned maximum of events (`--max-events`); `None`: the events given.
    pub max_events: Option<u64>,
}

impl Default for SequentialOptions {
    fn default() -> Self {
        Self {
            method: SequentialMethod::Msprt,
            alpha: 0.05,
            tau: 0.05,
            look_every: 100,
            max_events: None,
        }
    }
}

impl SequentialOptions {
    /// Checks the level, the schedule and (for the mSPRT) the mixing scale.
    pub fn validate(&self) -> Result<()> {
        unit("--alpha", self.alpha)?;
        if self.look_every == 0 {
            return Err(usage("--look-every", "must be at least 1"));
        }
        if self.max_events == Some(0) {
            return Err(usage("--max-events", "must be at least 1"));
        }
        if self.method == SequentialMethod::Msprt {
            Msprt::new(self.tau, self.alpha).map_err(|_| {
                usage(
                    "--tau",
                    format!("must be positive and finite, got {}", self.tau),
                )
            })?;
        }
        Ok(())
    }
}

/// One event of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The treatment's (else the control's).
    pub treatment: bool,
    /// Whether it converted.
    pub converted: bool,
}

/// `control`/`A` (false) or `treatment`/`B` (true), any case; else the message.
pub(super) fn parse_variant(variant: &str) -> std::result::Result<bool, String> {
    match variant.to_ascii_lowercase().as_str() {
        "control" | "a" => Ok(false),
        "treatment" | "b" => Ok(true),
        _ => Err(format!(
            "variant must be control/treatment or A/B, got '{}'",
            crate::limits::excerpt(variant)
        )),
    }
}

/// Reads a CSV of events in arrival order: `variant,converted` rows, the variant
/// `control`/`treatment` or `A`/`B`, converted `1`/`0`, `true`/`false` or `yes`/`no` (any
/// case); a header row `variant,converted` before the first event is optional. A malformed
/// row is an [`Error::Parse`] at its line and field; a file without events, [`Error::File`].
pub fn read_events(path: &Path) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    crate::data::read_records(path, |line, record| {
        let parse_err = |column: usize, message: String| Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let &[variant, converted] = record else {
            return Err(parse_err(
                record.len().min(2) + 1,
                format!(
                    "expected two fields, variant,converted; found {}",
                    record.len()
                ),
            ));
        };
        if events.is_empty()
            && variant.eq_ignore_ascii_case("variant")
            && converted.eq_ignore_ascii_case("converted")
        {
            return Ok(());
        }
        let treatment = parse_variant(variant).map_err(|m| parse_err(1, m))?;
        let converted = match converted.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" => true,
            "0" | "false" | "no" => false,
            _ => {
                return Err(parse_err(
                    2,
                    format!(
                        "converted must be 1/0 or true/false, got '{}'",
                        crate::limits::excerpt(converted)
                    ),
                ));
            }
        };
        events.push(Event {
            treatment,
            converted,
        });
        Ok(())
    })?;
    if events.is_empty() {
        return Err(Error::file(
            path,
            "no events: expected rows of variant,converted",
        ));
    }
    Ok(events)
}

/// The report of `ab sequential` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequentialReport {
    /// The test.
    pub method: SequentialMethod,
    /// Significance level.
    pub alpha: f64,
    /// Events given.
    pub events: u64,
    /// Events analysed (up to the stop, or all; `obf` stops at `max_events`).
    pub analysed: u64,
    /// Events between looks.
    pub look_every: u64,
    /// Looks taken.
    pub looks: u64,
    /// Looks planned (`obf`); `null` for `msprt`.
    pub planned_looks: Option<u64>,
    /// Whether the test stopped: the rates differ.
    pub stopped: bool,
    /// 1-based look at which the test stopped; `null` when it did not.
    pub stopped_at_look: Option<u64>,
    /// Events seen at that look.
    pub stopped_at_event: Option<u64>,
    /// The always-valid p-value at the stop or at the last look (`msprt`); `null` for `obf`.
    pub p_value: Option<f64>,
    /// The pooled z statistic (treatment − control) at the stop or the last look.
    pub z: Option<f64>,
    /// The `obf` boundary at that look; `null` for `msprt`.
    pub boundary: Option<f64>,
    /// `msprt`'s mixing scale; `null` for `obf`.
    pub tau: Option<f64>,
    /// The control's counts over the events analysed.
    pub control: Arm,
    /// The treatment's counts over the events analysed.
    pub treatment: Arm,
    /// The planned maximum of events (for the text report; not in the JSON).
    #[serde(skip)]
    pub horizon: u64,
}

/// Runs the test over `events` in order, looking every `look_every` events and at the last
/// event (`msprt`) or at `max_events` (`obf`).
pub fn sequential(events: &[Event], options: &SequentialOptions) -> Result<SequentialReport> {
    options.validate()?;
    let o = options;
    let n_events = events.len() as u64;
    let horizon = match o.method {
        SequentialMethod::Msprt => n_events,
        SequentialMethod::Obf => o.max_events.unwrap_or(n_events),
    };
    let plan = Plan {
        method: match o.method {
            SequentialMethod::Msprt => Method::Msprt { tau: o.tau },
            SequentialMethod::Obf => Method::ObrienFleming,
        },
        alpha: o.alpha,
        look_every: NonZeroU64::new(o.look_every)
            .ok_or_else(|| usage("--look-every", "must be at least 1"))?,
        horizon: Some(
            NonZeroU64::new(horizon).ok_or_else(|| usage("--events", "no events to analyse"))?,
        ),
    };
    let planned = plan.planned_looks().unwrap_or_default();
    let mut monitor = Sequential::new(plan).map_err(|e| match e {
        AbError::TooManyLooks => usage(
            "--look-every",
            format!("{planned} looks over {horizon} events; at most {MAX_LOOKS} (look less often)"),
        ),
        e => core_error(e),
    })?;
    for e in events {
        if monitor.record(e.treatment, e.converted) != Decision::Continue {
            break;
        }
    }
    let last = monitor.last_look();
    let stop = matches!(monitor.decision(), Decision::Stop(_))
        .then_some(last)
        .flatten();
    let obf = o.method == SequentialMethod::Obf;
    Ok(SequentialReport {
        method: o.method,
        alpha: o.alpha,
        events: n_events,
        analysed: monitor.events(),
        look_every: o.look_every,
        looks: monitor.looks(),
        planned_looks: obf.then_some(planned),
        stopped: stop.is_some(),
        stopped_at_look: stop.map(|l| l.number),
        stopped_at_event: stop.map(|l| l.events),
        p_value: monitor.p_value(),
        z: last.and_then(|l| l.z),
        boundary: last.and_then(|l| l.boundary),
        tau: (!obf).then_some(o.tau),
        control: Arm::from(monitor.control()),
        treatment: Arm::from(monitor.treatment()),
        horizon,
    })
}

impl SequentialReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = format!(
            "Sequential test ({}) at alpha = {}, a look every {} events:\n",
            match self.tau {
                Some(tau) => format!("mSPRT, tau = {tau}"),
                None => format!("O'Brien–Fleming over {} events", self.horizon),
            },
            self.alpha,
            self.look_every
        );
        match (self.stopped_at_look, self.stopped_at_event) {
            (Some(look), Some(at)) => {
                let _ = writeln!(s, "  stopped at look {look} (event {at}): the rates differ");
            }
            _ => {
                let _ = writeln!(
                    s,
                    "  did not stop in {} looks over {} events",
                    self.looks, self.analysed
                );
            }
        }
        let _ = writeln!(
            s,
            "  control {}/{}, treatment {}/{}",
            self.control.conversions,
            self.control.total,
            self.treatment.conversions,
            self.treatment.total
        );
        if let Some(p) = self.p_value {
            let _ = writeln!(s, "  always-valid p = {p:.6}");
        }
        if let (Some(z), Some(b)) = (self.z, self.boundary) {
            let _ = writeln!(s, "  |z| = {:.4} against the boundary {b:.4}", z.abs());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn events_accept_every_spelling_and_an_optional_header() {
        let f = file(
            "Variant , Converted\n\n  a , TRUE\n b,no\n\"A\",yes\nB,1\n   \ncontrol,false\nTreatment,0\n",
        );
        let events = read_events(f.path()).unwrap();
        let pairs: Vec<(bool, bool)> = events.iter().map(|e| (e.treatment, e.converted)).collect();
        assert_eq!(
            pairs,
            [
                (false, true),
                (true, false),
                (false, true),
                (true, true),
                (false, false),
                (true, false)
            ]
        );
    }

    #[track_caller]
    fn parse_error_at(text: &str, want_line: u64, want_column: usize) {
        let f = file(text);
        match read_events(f.path()) {
            Err(Error::Parse { line, column, .. }) => {
                assert_eq!((line, column), (want_line, want_column), "{text:?}")
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn bad_rows_are_located() {
        parse_error_at("variant,converted\ncontrol,1\ntreatment,maybe\n", 3, 2);
        parse_error_at("variant,converted\nfoo,1\n", 2, 1);
        parse_error_at("control,1\ncontrol\n", 2, 2);
        parse_error_at("control,1,2\n", 1, 3);
        parse_error_at("variant,converted\ncontrol,1\n,1\n", 3, 1);
        // A header after the first event is a bad row.
        parse_error_at("control,1\nvariant,converted\n", 2, 1);
        let f = file("variant,converted\n\n");
        assert!(matches!(read_events(f.path()), Err(Error::File { .. })));
    }

    #[test]
    fn options_name_their_flag() {
        let bad = |o: SequentialOptions, flag: &str| match sequential(
            &[Event {
                treatment: true,
                converted: true,
            }],
            &o,
        ) {
            Err(Error::Usage(m)) => assert!(m.starts_with(flag), "{m}"),
            other => panic!("{other:?}"),
        };
        let o = SequentialOptions::default();
        bad(SequentialOptions { alpha: 1.0, ..o }, "--alpha");
        bad(SequentialOptions { look_every: 0, ..o }, "--look-every");
        bad(
            SequentialOptions {
                max_events: Some(0),
                ..o
            },
            "--max-events",
        );
        bad(SequentialOptions { tau: 0.0, ..o }, "--tau");
        bad(
            SequentialOptions {
                method: SequentialMethod::Obf,
                look_every: 1,
                max_events: Some(1001),
                ..o
            },
            "--look-every",
        );
        assert!(matches!(sequential(&[], &o), Err(Error::Usage(m)) if m.starts_with("--events")));
    }
}
