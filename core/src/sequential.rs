//! A sequential A/B monitor: feed it events (or cumulative counts at each look) and read the
//! decision, without inflating false positives however often you look.
//!
//! Two tests, both from [`crate::abtest`]:
//!
//! - [`Method::Msprt`]: the mixture SPRT's always-valid p-value ([`Msprt`], Johari et al.
//!   2017); any number of looks, no planned end; stops when the p-value reaches alpha.
//! - [`Method::ObrienFleming`]: group-sequential boundaries with Lan–DeMets O'Brien–Fleming
//!   spending ([`ObfBoundaries`]) over a planned maximum of events (the horizon); stops when
//!   the pooled z statistic crosses the look's boundary.
//!
//! A look is taken after every `look_every` events and at the horizon; events after a stop or
//! after the horizon are not counted. The monitor holds no buffer (an O'Brien–Fleming design
//! carries its 3.2 KiB integration grid), so it can live in a `static` on a device.
//!
//! ```
//! use core::num::NonZeroU64;
//! use mlprobe_core::sequential::{Decision, Method, Plan, Sequential, Side};
//! let plan = Plan {
//!     method: Method::Msprt { tau: 0.05 },
//!     alpha: 0.05,
//!     look_every: NonZeroU64::new(100).unwrap(),
//!     horizon: None,
//! };
//! let mut monitor = Sequential::new(plan).unwrap();
//! // Alternating arms; the treatment converts 1 in 4, the control 1 in 10.
//! let mut i = 0u64;
//! while monitor.decision() == Decision::Continue {
//!     let (treatment, k) = (i % 2 == 1, i / 2);
//!     monitor.record(treatment, if treatment { k % 4 == 0 } else { k % 10 == 0 });
//!     i += 1;
//! }
//! assert_eq!(monitor.decision(), Decision::Stop(Side::Treatment));
//! assert_eq!(monitor.last_look().unwrap().events, 300);
//! ```

use crate::abtest::{
    self, AbError, Alternative, MAX_LOOKS, Msprt, ObfBoundaries, Variant, check_alpha,
};
use core::num::NonZeroU64;

/// The sequential test.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// Mixture SPRT with mixing scale `tau` (the size of difference in rates you expect).
    Msprt {
        /// Standard deviation of the effects mixed over; positive and finite.
        tau: f64,
    },
    /// Lan–DeMets O'Brien–Fleming group-sequential boundaries; needs a horizon.
    ObrienFleming,
}

/// What a [`Sequential`] monitor runs.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Plan {
    /// The test.
    pub method: Method,
    /// Two-sided significance level, in (0, 1).
    pub alpha: f64,
    /// Look after every this many events ([`Sequential::record`]).
    pub look_every: NonZeroU64,
    /// The planned maximum of events: the last look, and the information fractions of the
    /// O'Brien–Fleming boundaries (which require it). `None`: no end (mSPRT only).
    pub horizon: Option<NonZeroU64>,
}

impl Plan {
    /// Looks on the `look_every` schedule up to the horizon (`None` without a horizon).
    pub fn planned_looks(&self) -> Option<u64> {
        self.horizon
            .map(|h| h.get().div_ceil(self.look_every.get()))
    }
}

/// The arm with the higher rate when the test stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Side {
    /// The control converts more.
    Control,
    /// The treatment converts more.
    Treatment,
}

/// Where the monitor stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Decision {
    /// Keep collecting events.
    Continue,
    /// The rates differ: the test stopped at the last look.
    Stop(Side),
    /// The horizon was reached without a stop: no difference shown.
    Horizon,
}

/// One look's statistics.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Look {
    /// 1-based number of the look.
    pub number: u64,
    /// Events seen at the look.
    pub events: u64,
    /// The pooled z statistic (treatment − control); `None` while an arm has no event.
    pub z: Option<f64>,
    /// The O'Brien–Fleming boundary of the look; `None` for the mSPRT.
    pub boundary: Option<f64>,
    /// The mSPRT's always-valid p-value after the look; `None` for O'Brien–Fleming.
    pub p_value: Option<f64>,
}

/// The test's running state.
#[derive(Clone, Debug, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocation in core: the O'Brien–Fleming grid is held inline, as documented"
)]
enum Test {
    Msprt(Msprt),
    Obf(ObfBoundaries),
}

/// A sequential test over a stream of events or a series of looks at cumulative counts.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequential {
    plan: Plan,
    test: Test,
    control: Variant,
    treatment: Variant,
    events: u64,
    looks: u64,
    last: Option<Look>,
    decision: Decision,
}

impl Sequential {
    /// A monitor before its first event. Errors: alpha outside (0, 1), an mSPRT `tau` that is
    /// not positive and finite, an O'Brien–Fleming plan without a horizon
    /// ([`AbError::NoHorizon`]) or with more than [`MAX_LOOKS`] looks on its schedule.
    pub fn new(plan: Plan) -> Result<Self, AbError> {
        check_alpha(plan.alpha)?;
        let test = match plan.method {
            Method::Msprt { tau } => Test::Msprt(Msprt::new(tau, plan.alpha)?),
            Method::ObrienFleming => match plan.planned_looks() {
                None => return Err(AbError::NoHorizon),
                Some(n) if n > MAX_LOOKS as u64 => return Err(AbError::TooManyLooks),
                Some(_) => Test::Obf(ObfBoundaries::new(plan.alpha)?),
            },
        };
        Ok(Self {
            plan,
            test,
            control: Variant::new(),
            treatment: Variant::new(),
            events: 0,
            looks: 0,
            last: None,
            decision: Decision::Continue,
        })
    }

    /// Counts one event of the treatment (`treatment`) or the control, and looks when the
    /// schedule says so. After a stop or at the horizon the event is not counted.
    pub fn record(&mut self, treatment: bool, converted: bool) -> Decision {
        if self.decision != Decision::Continue {
            return self.decision;
        }
        if treatment {
            self.treatment.record(converted);
        } else {
            self.control.record(converted);
        }
        self.events += 1;
        let horizon = self.plan.horizon.map(NonZeroU64::get);
        if self.events.is_multiple_of(self.plan.look_every.get()) || horizon == Some(self.events) {
            self.take_look();
        }
        self.decision
    }

    /// Looks at cumulative counts (a schedule of the caller's, `look_every` unused). The
    /// events must exceed the previous look's and not pass the horizon
    /// ([`AbError::LookOutOfOrder`]). After a stop or at the horizon nothing changes.
    pub fn look_at(&mut self, control: Variant, treatment: Variant) -> Result<Decision, AbError> {
        if self.decision != Decision::Continue {
            return Ok(self.decision);
        }
        let events = control.total().saturating_add(treatment.total());
        let horizon = self.plan.horizon.map_or(u64::MAX, NonZeroU64::get);
        if events <= self.events || events > horizon {
            return Err(AbError::LookOutOfOrder);
        }
        (self.control, self.treatment, self.events) = (control, treatment, events);
        self.take_look();
        Ok(self.decision)
    }

    fn take_look(&mut self) {
        self.looks += 1;
        let (c, t) = (&self.control, &self.treatment);
        let z = if c.total() > 0 && t.total() > 0 {
            abtest::ztest(c, t, self.plan.alpha, Alternative::TwoSided)
                .ok()
                .map(|r| r.z)
        } else {
            None
        };
        let (stop, boundary, p_value) = match &mut self.test {
            Test::Msprt(test) => {
                test.update(c, t);
                (test.rejected(), None, Some(test.p_value()))
            }
            Test::Obf(design) => {
                // A horizon is set (`new`) and events grow up to it: the fraction is in range.
                let horizon = self.plan.horizon.map_or(u64::MAX, NonZeroU64::get);
                let b = design.look(self.events as f64 / horizon as f64).ok();
                (
                    matches!((z, b), (Some(z), Some(b)) if z.abs() >= b),
                    b,
                    None,
                )
            }
        };
        self.last = Some(Look {
            number: self.looks,
            events: self.events,
            z,
            boundary,
            p_value,
        });
        self.decision = if stop {
            Decision::Stop(if t.rate() > c.rate() {
                Side::Treatment
            } else {
                Side::Control
            })
        } else if self.plan.horizon.map(NonZeroU64::get) == Some(self.events) {
            Decision::Horizon
        } else {
            Decision::Continue
        };
    }

    /// The decision after the last look.
    pub const fn decision(&self) -> Decision {
        self.decision
    }

    /// The last look taken (the stopping look after a stop).
    pub const fn last_look(&self) -> Option<Look> {
        self.last
    }

    /// Looks taken.
    pub const fn looks(&self) -> u64 {
        self.looks
    }

    /// Events counted (up to the stop or the horizon).
    pub const fn events(&self) -> u64 {
        self.events
    }

    /// The control's counts.
    pub const fn control(&self) -> &Variant {
        &self.control
    }

    /// The treatment's counts.
    pub const fn treatment(&self) -> &Variant {
        &self.treatment
    }

    /// The mSPRT's always-valid p-value so far (1 before a look); `None` for O'Brien–Fleming.
    pub fn p_value(&self) -> Option<f64> {
        match &self.test {
            Test::Msprt(test) => Some(test.p_value()),
            Test::Obf(_) => None,
        }
    }

    /// The plan.
    pub const fn plan(&self) -> &Plan {
        &self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(method: Method, every: u64, horizon: Option<u64>) -> Plan {
        Plan {
            method,
            alpha: 0.05,
            look_every: NonZeroU64::new(every).unwrap(),
            horizon: horizon.and_then(NonZeroU64::new),
        }
    }

    const MSPRT: Method = Method::Msprt { tau: 0.05 };

    /// The events of `tests/tests/ab.rs`'s stream: alternating arms (control first), the
    /// control converting every 10th of its events, the treatment every `period`-th.
    fn stream(n: u64, period: u64) -> impl Iterator<Item = (bool, bool)> {
        (0..n).map(move |i| {
            let (treatment, k) = (i % 2 == 1, i / 2);
            (
                treatment,
                if treatment {
                    k % period == 0
                } else {
                    k % 10 == 0
                },
            )
        })
    }

    fn run(plan: Plan, events: impl Iterator<Item = (bool, bool)>) -> Sequential {
        let mut m = Sequential::new(plan).unwrap();
        for (treatment, converted) in events {
            if m.record(treatment, converted) != Decision::Continue {
                break;
            }
        }
        m
    }

    fn counts(m: &Sequential) -> [u64; 4] {
        let (c, t) = (m.control(), m.treatment());
        [c.conversions(), c.total(), t.conversions(), t.total()]
    }

    // The literal numbers below are those `mlprobe ab sequential --json` printed for the same
    // streams before the event loop moved into this monitor.
    #[test]
    fn msprt_stops_on_a_real_difference() {
        let m = run(plan(MSPRT, 100, Some(20_000)), stream(20_000, 4));
        assert_eq!(m.decision(), Decision::Stop(Side::Treatment));
        let look = m.last_look().unwrap();
        assert_eq!((look.number, look.events, m.events()), (3, 300, 300));
        assert_eq!(look.z, Some(3.481785817699015));
        assert_eq!(look.p_value, Some(0.04981964199832966));
        assert_eq!(m.p_value(), look.p_value);
        assert_eq!(look.boundary, None);
        assert_eq!(counts(&m), [15, 150, 38, 150]);
    }

    #[test]
    fn obrien_fleming_stops_at_the_boundary() {
        let m = run(
            plan(Method::ObrienFleming, 1000, Some(20_000)),
            stream(20_000, 4),
        );
        assert_eq!(m.plan().planned_looks(), Some(20));
        assert_eq!(m.decision(), Decision::Stop(Side::Treatment));
        let look = m.last_look().unwrap();
        assert_eq!((look.number, look.events), (2, 2000));
        assert_eq!(look.z, Some(8.827348295047496));
        assert_eq!(look.boundary, Some(6.9913517070745));
        assert_eq!((look.p_value, m.p_value()), (None, None));
        assert_eq!(counts(&m), [100, 1000, 250, 1000]);
        // A shorter horizon: the first look's boundary is the design's first.
        let m = run(
            plan(Method::ObrienFleming, 1000, Some(5000)),
            stream(20_000, 4),
        );
        let look = m.last_look().unwrap();
        assert_eq!((look.number, look.events), (1, 1000));
        assert_eq!(look.z, Some(6.2418778393235925));
        assert_eq!(look.boundary, Some(4.876884948790762));
        // Looks that do not divide the horizon: the last fraction is 1.
        let m = run(
            plan(Method::ObrienFleming, 7, Some(1000)),
            stream(20_000, 4),
        );
        assert_eq!(m.plan().planned_looks(), Some(143));
        let look = m.last_look().unwrap();
        assert_eq!((look.number, look.events), (51, 357));
        assert_eq!(look.z, Some(3.772983675099416));
        assert_eq!(look.boundary, Some(3.678689024200139));
        assert_eq!(counts(&m), [18, 179, 45, 178]);
    }

    #[test]
    fn identical_arms_reach_the_horizon() {
        for (method, boundary, p) in [
            (MSPRT, None, Some(1.0)),
            (Method::ObrienFleming, Some(2.155047584710701), None),
        ] {
            let m = run(plan(method, 100, Some(4000)), stream(4000, 10));
            assert_eq!(m.decision(), Decision::Horizon);
            assert_eq!((m.looks(), m.events()), (40, 4000));
            let look = m.last_look().unwrap();
            assert_eq!(look.z, Some(0.0));
            assert_eq!(look.boundary, boundary);
            assert_eq!(m.p_value(), p);
            assert_eq!(counts(&m), [200, 2000, 200, 2000]);
        }
    }

    // Degenerate streams: no conversions at all (the pooled variance is 0: z = 0, no
    // evidence), and one arm without events (no z at all); neither ever stops.
    #[test]
    fn degenerate_streams_never_stop() {
        let none = || (0..500u64).map(|i| (i % 2 == 0, false));
        let m = run(plan(MSPRT, 100, Some(500)), none());
        assert_eq!((m.decision(), m.looks()), (Decision::Horizon, 5));
        assert_eq!(m.last_look().unwrap().z, Some(0.0));
        assert_eq!(m.p_value(), Some(1.0));
        let m = run(plan(Method::ObrienFleming, 1, Some(500)), none());
        assert_eq!((m.decision(), m.looks()), (Decision::Horizon, 500));
        assert_eq!(m.last_look().unwrap().z, Some(0.0));
        assert_eq!(m.last_look().unwrap().boundary, Some(2.215806515123404));
        let control_only = || (0..500u64).map(|i| (false, i % 7 == 0));
        let m = run(plan(MSPRT, 100, Some(500)), control_only());
        assert_eq!((m.decision(), m.looks()), (Decision::Horizon, 5));
        assert_eq!(m.last_look().unwrap().z, None);
        assert_eq!(m.p_value(), Some(1.0));
        assert_eq!(counts(&m), [72, 500, 0, 0]);
        let m = run(plan(Method::ObrienFleming, 100, Some(500)), control_only());
        assert_eq!(m.last_look().unwrap().z, None);
        assert_eq!(m.last_look().unwrap().boundary, Some(2.031032043705636));
        // Before any event: no look, the mSPRT's p-value is 1.
        let m = Sequential::new(plan(MSPRT, 100, None)).unwrap();
        assert_eq!(
            (m.decision(), m.last_look(), m.p_value()),
            (Decision::Continue, None, Some(1.0))
        );
    }

    // The horizon ends the stream: events after it are not counted, and its look is taken
    // even off the schedule (2, 4, … with a horizon of 3: looks at 2 and 3).
    #[test]
    fn the_horizon_is_the_last_look() {
        let events = [(false, true), (true, false), (false, true), (true, true)];
        let m = run(
            plan(Method::ObrienFleming, 2, Some(3)),
            events.iter().copied(),
        );
        assert_eq!(
            (m.decision(), m.looks(), m.events()),
            (Decision::Horizon, 2, 3)
        );
        let look = m.last_look().unwrap();
        assert_eq!(look.z, Some(-1.732050807568877));
        assert_eq!(look.boundary, Some(1.9928841455475776));
        let mut m = m;
        assert_eq!(m.record(true, true), Decision::Horizon);
        assert_eq!(m.events(), 3);
    }

    #[test]
    fn looks_at_counts_match_looks_at_events() {
        let by_event = run(
            plan(Method::ObrienFleming, 7, Some(1000)),
            stream(20_000, 4),
        );
        let mut by_look = Sequential::new(plan(Method::ObrienFleming, 7, Some(1000))).unwrap();
        let (mut c, mut t) = (Variant::new(), Variant::new());
        for (i, (treatment, converted)) in stream(1000, 4).enumerate() {
            if treatment {
                t.record(converted);
            } else {
                c.record(converted);
            }
            if (i + 1) % 7 == 0 && by_look.look_at(c, t).unwrap() != Decision::Continue {
                break;
            }
        }
        assert_eq!(by_look, by_event);
        // Counts must grow, and stay within the horizon.
        let mut m = Sequential::new(plan(MSPRT, 1, Some(10))).unwrap();
        let v = |c, n| Variant::from_counts(c, n).unwrap();
        assert_eq!(m.look_at(v(1, 2), v(1, 2)), Ok(Decision::Continue));
        assert_eq!(m.look_at(v(1, 2), v(1, 2)), Err(AbError::LookOutOfOrder));
        assert_eq!(m.look_at(v(1, 6), v(1, 5)), Err(AbError::LookOutOfOrder));
        assert_eq!(m.look_at(v(1, 5), v(1, 5)), Ok(Decision::Horizon));
    }

    #[test]
    fn invalid_plans_are_typed_errors() {
        let err = |p: Plan| Sequential::new(p).err();
        assert_eq!(
            err(Plan {
                alpha: 1.0,
                ..plan(MSPRT, 1, None)
            }),
            Some(AbError::AlphaOutOfRange)
        );
        assert_eq!(
            err(plan(Method::Msprt { tau: 0.0 }, 1, None)),
            Some(AbError::TauOutOfRange)
        );
        assert_eq!(
            err(plan(Method::ObrienFleming, 1, None)),
            Some(AbError::NoHorizon)
        );
        assert_eq!(
            err(plan(Method::ObrienFleming, 1, Some(MAX_LOOKS as u64 + 1))),
            Some(AbError::TooManyLooks)
        );
        assert_eq!(
            err(plan(Method::ObrienFleming, 1, Some(MAX_LOOKS as u64))),
            None
        );
        assert_eq!(plan(MSPRT, 100, None).planned_looks(), None);
    }
}
