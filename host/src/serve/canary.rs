//! The canary: a share of the traffic answered by a candidate model, sticky per unit; outcomes
//! arriving later (`POST /v2/feedback`) feed core's always-valid sequential test
//! ([`mlprobe_core::sequential`], the mixture SPRT), and a candidate significantly worse than
//! the primary is rolled back (its share set to 0) while the server keeps serving.
//!
//! A unit (the `x-mlprobe-unit` header, else the request's `id`) goes to the candidate when
//! its FNV-1a hash modulo 10,000 is below the share in basis points, so the same unit always
//! sees the same model while the share is unchanged. A request with neither is assigned by a
//! counter (every `10000 / share`-th request, spread by the same hash).
//!
//! The answers awaiting feedback are kept by id (the variant and the predicted classes), at
//! most [`MAX_PENDING`]; beyond that an answer is served but not tracked, and counted.

use mlprobe_core::sequential::{Decision, Method, Plan, Sequential, Side};
use serde::Serialize;
use std::collections::HashMap;
use std::num::NonZeroU64;

/// Answers awaiting feedback, at most.
pub const MAX_PENDING: usize = 1 << 20;

/// Which model answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// The model in place.
    Primary,
    /// The canary.
    Candidate,
}

/// Where the canary stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Serving its share, no decision yet.
    Running,
    /// Significantly worse: its share is 0.
    RolledBack,
    /// Significantly better: promoting it is the operator's call (the share is unchanged).
    PromoteRecommended,
}

/// FNV-1a, 64 bits: a stable hash of a unit (the same in every run and on every machine).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Per-variant outcome counts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Outcomes {
    /// Rows answered.
    pub answered: u64,
    /// Rows with feedback.
    pub total: u64,
    /// Rows with feedback whose answer was right.
    pub correct: u64,
    /// `correct / total`, `null` without feedback.
    pub accuracy: Option<f64>,
}

/// `GET /v2/canary`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The candidate's share of traffic now, percent.
    pub share_percent: f64,
    /// The share it started with.
    pub initial_share_percent: f64,
    /// `running`, `rolled_back` or `promote_recommended`.
    pub state: State,
    /// `continue`, `promote` or `roll back`.
    pub decision: &'static str,
    /// The primary's outcomes.
    pub primary: Outcomes,
    /// The candidate's outcomes.
    pub candidate: Outcomes,
    /// The always-valid p-value of the last look (mSPRT), `null` before any.
    pub p_value: Option<f64>,
    /// The test's level.
    pub alpha: f64,
    /// Answers awaiting feedback.
    pub pending: usize,
    /// Answers not tracked because [`MAX_PENDING`] were awaiting feedback.
    pub untracked: u64,
    /// Feedback for an id that was never answered or already had its feedback.
    pub unknown_feedback: u64,
}

/// The canary's state: share, assignments awaiting feedback, the sequential test.
#[derive(Debug)]
pub struct Canary {
    share_bp: u64,
    initial_bp: u64,
    counter: u64,
    state: State,
    monitor: Sequential,
    alpha: f64,
    pending: HashMap<String, (Variant, Vec<u8>)>,
    outcomes: [Outcomes; 2],
    untracked: u64,
    unknown_feedback: u64,
}

/// What a feedback did.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedbackError {
    /// No answer awaits feedback under this id.
    Unknown,
    /// The labels do not fit the answer (count, or a class beyond the model's).
    Invalid(String),
}

impl Canary {
    /// A canary answering `percent` of the traffic, tested at `alpha` with mixing scale `tau`
    /// (the size of a difference in accuracy worth finding).
    pub fn new(percent: f64, alpha: f64, tau: f64) -> Result<Self, String> {
        if !(percent > 0.0 && percent <= 100.0) {
            return Err(format!(
                "--canary-percent: {percent} is not above 0 and at most 100"
            ));
        }
        let monitor = Sequential::new(Plan {
            method: Method::Msprt { tau },
            alpha,
            look_every: NonZeroU64::MIN,
            horizon: None,
        })
        .map_err(|e| format!("--canary-alpha / --canary-tau: {e}"))?;
        let bp = (percent * 100.0).round() as u64;
        Ok(Self {
            share_bp: bp,
            initial_bp: bp,
            counter: 0,
            state: State::Running,
            monitor,
            alpha,
            pending: HashMap::new(),
            outcomes: [Outcomes::default(); 2],
            untracked: 0,
            unknown_feedback: 0,
        })
    }

    /// The variant that answers a request of this unit (`None`: no unit given).
    pub fn assign(&mut self, unit: Option<&str>) -> Variant {
        let h = match unit {
            Some(u) => fnv1a(u.as_bytes()),
            None => {
                self.counter = self.counter.wrapping_add(1);
                fnv1a(&self.counter.to_le_bytes())
            }
        };
        if h % 10_000 < self.share_bp {
            Variant::Candidate
        } else {
            Variant::Primary
        }
    }

    /// Records an answer of `variant` with these predicted classes, awaiting feedback under
    /// `id` (an answer without an id cannot get feedback).
    pub fn answered(&mut self, id: Option<&str>, variant: Variant, classes: Vec<u8>) {
        self.outcomes[variant as usize].answered += classes.len() as u64;
        let Some(id) = id else { return };
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(id) {
            self.untracked += 1;
            return;
        }
        self.pending.insert(id.to_string(), (variant, classes));
    }

    /// The true classes of an answered request's rows: counted, tested, and the candidate
    /// rolled back when it is significantly worse.
    pub fn feedback(&mut self, id: &str, labels: &[u64]) -> Result<(), FeedbackError> {
        let Some((variant, classes)) = self.pending.get(id) else {
            self.unknown_feedback += 1;
            return Err(FeedbackError::Unknown);
        };
        if labels.len() != classes.len() {
            return Err(FeedbackError::Invalid(format!(
                "the answer to `{}` has {} rows; give `label` for one row or `labels` with one \
                 class per row",
                crate::limits::excerpt(id),
                classes.len()
            )));
        }
        let (variant, classes) = (*variant, classes.clone());
        self.pending.remove(id);
        let o = &mut self.outcomes[variant as usize];
        for (&label, &class) in labels.iter().zip(&classes) {
            let correct = label == u64::from(class);
            o.total += 1;
            o.correct += u64::from(correct);
            if self.state == State::Running {
                let d = self.monitor.record(variant == Variant::Candidate, correct);
                match d {
                    Decision::Stop(Side::Control) => {
                        self.state = State::RolledBack;
                        self.share_bp = 0;
                    }
                    Decision::Stop(Side::Treatment) => self.state = State::PromoteRecommended,
                    Decision::Continue | Decision::Horizon => {}
                }
            }
        }
        for o in &mut self.outcomes {
            o.accuracy = (o.total > 0).then(|| o.correct as f64 / o.total as f64);
        }
        Ok(())
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.state
    }

    /// The canary's report.
    pub fn report(&self) -> Report {
        Report {
            share_percent: self.share_bp as f64 / 100.0,
            initial_share_percent: self.initial_bp as f64 / 100.0,
            state: self.state,
            decision: match self.state {
                State::Running => "continue",
                State::RolledBack => "roll back",
                State::PromoteRecommended => "promote",
            },
            primary: self.outcomes[Variant::Primary as usize],
            candidate: self.outcomes[Variant::Candidate as usize],
            p_value: self.monitor.last_look().and_then(|l| l.p_value),
            alpha: self.alpha,
            pending: self.pending.len(),
            untracked: self.untracked,
            unknown_feedback: self.unknown_feedback,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_sticky_and_near_the_share() {
        let mut c = Canary::new(20.0, 0.05, 0.05).unwrap();
        let units: Vec<String> = (0..10_000).map(|i| format!("user-{i}")).collect();
        let first: Vec<Variant> = units.iter().map(|u| c.assign(Some(u))).collect();
        let again: Vec<Variant> = units.iter().map(|u| c.assign(Some(u))).collect();
        assert_eq!(first, again);
        let share = first.iter().filter(|&&v| v == Variant::Candidate).count();
        assert!((1_800..2_200).contains(&share), "{share}");
        let anonymous = (0..10_000)
            .filter(|_| c.assign(None) == Variant::Candidate)
            .count();
        assert!((1_800..2_200).contains(&anonymous), "{anonymous}");
    }

    #[test]
    fn a_worse_candidate_is_rolled_back_and_feedback_is_checked() {
        let mut c = Canary::new(50.0, 0.05, 0.05).unwrap();
        assert_eq!(c.feedback("nobody", &[0]), Err(FeedbackError::Unknown));
        c.answered(Some("two"), Variant::Primary, vec![1, 2]);
        assert!(matches!(
            c.feedback("two", &[1]),
            Err(FeedbackError::Invalid(_))
        ));
        assert_eq!(c.feedback("two", &[1, 0]), Ok(()));
        // The candidate is right 1 time in 2, the primary always.
        for i in 0..2_000u32 {
            let id = format!("r{i}");
            let v = c.assign(Some(&id));
            c.answered(Some(&id), v, vec![0]);
            let label = if v == Variant::Candidate && i % 2 == 0 {
                1
            } else {
                0
            };
            c.feedback(&id, &[label]).unwrap();
            if c.state() != State::Running {
                break;
            }
        }
        let r = c.report();
        assert_eq!(r.state, State::RolledBack);
        assert_eq!((r.share_percent, r.initial_share_percent), (0.0, 50.0));
        assert!(r.p_value.unwrap() <= 0.05);
        // Rolled back: nothing goes to the candidate any more.
        assert!((0..1000).all(|i| c.assign(Some(&format!("u{i}"))) == Variant::Primary));
    }
}
