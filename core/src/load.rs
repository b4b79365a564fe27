//! Load generation that does not lie about latency: the schedule, the drop rule and the tallies
//! of `mlprobe load`, behind a tiny [`Clock`] so they run (and are tested) with a mock clock.
//!
//! Two models of load, as in wrk2 and k6:
//!
//! - **open** ([`Mode::Open`]): requests are *due* at a constant rate whatever the target does
//!   (request `i` at `start + i / rate`). Latency is measured from the moment a request was
//!   due, not from when a worker got round to sending it. A target that stalls therefore shows
//!   the stall in every request that queued behind it, which is what its users would see. This
//!   is Gil Tene's fix for *coordinated omission* ("How NOT to Measure Latency", 2015; wrk2's
//!   `-R`): a closed loop that waits for each answer before sending the next request stops
//!   sending while the target stalls, so the stall is recorded once instead of once per
//!   request that should have been sent.
//! - **closed** ([`Mode::Closed`]): each worker sends back to back and latency is the service
//!   time. Useful for capacity ("how fast can it go"), misleading for latency under a rate.
//!
//! Every request is accounted for: a request that could not even be sent within
//! [`Plan::max_lateness_ns`] of its due time is **dropped** (counted, not sent; the generator
//! catches up instead of sending a burst of stale requests); one sent more than
//! [`Plan::late_ns`] after it was due is counted **late** (and its latency includes the wait).
//! `successful + failed + dropped = total` holds by construction: [`Tally::total`] is that sum.
//!
//! ```
//! use core::cell::Cell;
//! use mlprobe_core::load::{drive, Clock, Counter, Mode, Plan, Tally, Target};
//!
//! struct Mock(Cell<u64>);
//! impl Clock for Mock {
//!     fn now(&self) -> u64 { self.0.get() }
//!     fn sleep_until(&self, t: u64) { self.0.set(self.0.get().max(t)) }
//! }
//! // A target that takes 100 µs, and 50 ms on every 100th request.
//! struct Slow<'c>(&'c Mock);
//! impl Target for Slow<'_> {
//!     fn call(&mut self, i: u64) -> bool {
//!         let t = if i % 100 == 99 { 50_000_000 } else { 100_000 };
//!         self.0.0.set(self.0.0.get() + t);
//!         true
//!     }
//! }
//! let clock = Mock(Cell::new(0));
//! let plan = Plan::new(Mode::open(1000.0), Some(1000), None);
//! let mut tally = Tally::new();
//! drive(&plan, 0, &clock, &Counter::new(), &mut Slow(&clock), &mut tally);
//! assert_eq!(tally.total(), 1000);
//! // Half the requests queued behind a stall: the p99 shows it.
//! assert!(tally.latency.quantile(0.99).unwrap() > 40_000_000);
//! ```

use crate::sketch::Sketch;
use core::cell::Cell;

/// A monotonic clock in nanoseconds (from any origin), and a way to wait for a moment.
///
/// The host's is the standard library's `Instant` with a sleep-then-spin wait; tests use a mock that
/// jumps to the deadline.
pub trait Clock {
    /// Nanoseconds since the clock's origin.
    fn now(&self) -> u64;
    /// Returns at or after `deadline` (a value of [`now`](Self::now)).
    fn sleep_until(&self, deadline: u64);
}

/// A target under load: one request at a time per worker.
pub trait Target {
    /// Serves request `index`; `true` when it succeeded.
    fn call(&mut self, index: u64) -> bool;
}

impl<T: Target + ?Sized> Target for &mut T {
    fn call(&mut self, index: u64) -> bool {
        (**self).call(index)
    }
}

/// Hands out request indices `0, 1, 2, …` to the workers that share it (a `Cell` counter here,
/// an atomic one on the host).
pub trait Claim {
    /// The next index, or `None` when every request has been handed out.
    fn claim(&self) -> Option<u64>;
    /// Claims at once every index below `end` not yet handed out (none past the limit) and
    /// returns how many that was: [`drive`] drops a run of missed arrivals in one step.
    fn claim_below(&self, end: u64) -> u64;
}

/// A single-threaded [`Claim`], optionally bounded.
#[derive(Debug, Default)]
pub struct Counter {
    next: Cell<u64>,
    limit: Option<u64>,
}

impl Counter {
    /// An unbounded counter (the [`Plan`] bounds the run).
    pub const fn new() -> Self {
        Self {
            next: Cell::new(0),
            limit: None,
        }
    }

    /// A counter that hands out `limit` indices.
    pub const fn with_limit(limit: u64) -> Self {
        Self {
            next: Cell::new(0),
            limit: Some(limit),
        }
    }
}

impl Claim for Counter {
    fn claim(&self) -> Option<u64> {
        let i = self.next.get();
        if self.limit.is_some_and(|l| i >= l) {
            return None;
        }
        self.next.set(i + 1);
        Some(i)
    }

    fn claim_below(&self, end: u64) -> u64 {
        let end = self.limit.map_or(end, |l| end.min(l));
        let next = self.next.get();
        if next >= end {
            return 0;
        }
        self.next.set(end);
        end - next
    }
}

/// Open or closed load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Requests due at a constant rate: one every `period_ns` nanoseconds.
    Open {
        /// Nanoseconds between due times (`1e9 / rate`).
        period_ns: f64,
    },
    /// Each worker sends its next request as soon as the previous one is answered.
    Closed,
}

impl Mode {
    /// Open load at `rate` requests per second (a rate ≤ 0 or not finite is treated as
    /// one request per second: the host validates the flag).
    pub fn open(rate: f64) -> Self {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            1.0
        };
        Mode::Open {
            period_ns: 1e9 / rate,
        }
    }
}

/// What to run: the mode and when to stop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Open or closed.
    pub mode: Mode,
    /// Stop after this many requests (with the [`Claim`] bounding them too).
    pub requests: Option<u64>,
    /// Stop after this many nanoseconds: in open mode no request is due at or after
    /// `start + duration`; in closed mode no request is sent at or after it.
    pub duration_ns: Option<u64>,
    /// A request not sent within this long of its due time is dropped (open mode).
    pub max_lateness_ns: u64,
    /// A request sent more than this long after its due time counts as late (open mode).
    pub late_ns: u64,
}

impl Plan {
    /// Default [`max_lateness_ns`](Self::max_lateness_ns): 1 s.
    pub const MAX_LATENESS_NS: u64 = 1_000_000_000;
    /// Default [`late_ns`](Self::late_ns): 1 ms.
    pub const LATE_NS: u64 = 1_000_000;

    /// A plan with the default lateness limits.
    pub const fn new(mode: Mode, requests: Option<u64>, duration_ns: Option<u64>) -> Self {
        Self {
            mode,
            requests,
            duration_ns,
            max_lateness_ns: Self::MAX_LATENESS_NS,
            late_ns: Self::LATE_NS,
        }
    }

    /// When request `index` is due (open mode): `start + round(index · period)`; `start` in
    /// closed mode.
    pub fn due(&self, start: u64, index: u64) -> u64 {
        match self.mode {
            // f64 is exact for index · period below 2^53 ns (104 days).
            Mode::Open { period_ns } => start + libm::round(index as f64 * period_ns) as u64,
            Mode::Closed => start,
        }
    }

    /// The first index due at or after `t` (open mode; 0 in closed mode): the number of
    /// requests due before `t`. Computed, then corrected by a step or two against
    /// [`due`](Self::due) so it agrees with it exactly despite rounding.
    pub fn first_due_at_or_after(&self, start: u64, t: u64) -> u64 {
        let Mode::Open { period_ns } = self.mode else {
            return 0;
        };
        if t <= start {
            return 0;
        }
        // Offsets from `start`, as in `due` (monotonic in the index); the float-to-int casts
        // saturate, so a far `t` (an unbounded run's end) cannot overflow.
        let offset = |i: u64| libm::round(i as f64 * period_ns) as u64;
        let t = t - start;
        let mut i = libm::ceil(t as f64 / period_ns) as u64;
        while i > 0 && offset(i - 1) >= t {
            i -= 1;
        }
        while offset(i) < t {
            i += 1;
        }
        i
    }

    /// The end of the run, when it is bounded in time.
    pub fn end(&self, start: u64) -> Option<u64> {
        self.duration_ns.map(|d| start.saturating_add(d))
    }
}

/// What happened to one request. Latencies and lateness are in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered. `latency` is from the due time (open) or the send time (closed).
    Ok {
        /// Nanoseconds until the answer.
        latency: u64,
        /// Nanoseconds from due to sent (0 in closed mode).
        lateness: u64,
    },
    /// The target failed it.
    Failed {
        /// Nanoseconds until the failure.
        latency: u64,
        /// Nanoseconds from due to sent.
        lateness: u64,
    },
    /// Not sent: it could not be sent within [`Plan::max_lateness_ns`] of its due time.
    Dropped {
        /// Nanoseconds from due to the moment it was dropped.
        lateness: u64,
    },
}

/// Where [`drive`] records outcomes: a [`Tally`], or the host's per-interval tallies.
pub trait Record {
    /// Records one request's outcome.
    fn record(&mut self, outcome: Outcome, late_ns: u64);
    /// Records `count` dropped requests at once (as many [`Outcome::Dropped`]).
    fn record_dropped(&mut self, count: u64);
}

/// Counters and latency sketches of a run (or of one interval of it); mergeable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Answered requests.
    pub successful: u64,
    /// Requests the target failed.
    pub failed: u64,
    /// Requests not sent because they were too late.
    pub dropped: u64,
    /// Requests sent more than [`Plan::late_ns`] after they were due (included in
    /// `successful` or `failed`).
    pub late: u64,
    /// Latency of answered requests, nanoseconds (saturating at `u32::MAX`, 4.29 s).
    pub latency: Sketch,
    /// Lateness of sent requests (due → sent), nanoseconds.
    pub lateness: Sketch,
}

impl Default for Tally {
    fn default() -> Self {
        Self::new()
    }
}

fn ns32(ns: u64) -> u32 {
    u32::try_from(ns).unwrap_or(u32::MAX)
}

impl Tally {
    /// An empty tally.
    pub const fn new() -> Self {
        Self {
            successful: 0,
            failed: 0,
            dropped: 0,
            late: 0,
            latency: Sketch::new(),
            lateness: Sketch::new(),
        }
    }

    /// Every request accounted for: `successful + failed + dropped`.
    pub const fn total(&self) -> u64 {
        self.successful + self.failed + self.dropped
    }

    /// `(failed + dropped) / total`; 0 for an empty tally.
    pub fn error_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            t => (self.failed + self.dropped) as f64 / t as f64,
        }
    }

    /// Adds `other`'s counts and sketches to this one.
    pub fn merge(&mut self, other: &Self) {
        self.successful += other.successful;
        self.failed += other.failed;
        self.dropped += other.dropped;
        self.late += other.late;
        self.latency.merge(&other.latency);
        self.lateness.merge(&other.lateness);
    }
}

impl Record for Tally {
    fn record(&mut self, outcome: Outcome, late_ns: u64) {
        let sent = |t: &mut Self, lateness: u64| {
            t.lateness.record(ns32(lateness));
            if lateness > late_ns {
                t.late += 1;
            }
        };
        match outcome {
            Outcome::Ok { latency, lateness } => {
                self.successful += 1;
                self.latency.record(ns32(latency));
                sent(self, lateness);
            }
            Outcome::Failed { lateness, .. } => {
                self.failed += 1;
                sent(self, lateness);
            }
            Outcome::Dropped { .. } => self.dropped += 1,
        }
    }

    fn record_dropped(&mut self, count: u64) {
        self.dropped += count;
    }
}

/// One worker's loop: claims indices, waits for each due time (open mode), sends, and
/// records the outcome, until the claim or the plan runs out. Run one per worker over a shared
/// [`Claim`]; `start` is the common start time on `clock`.
pub fn drive<C, Q, T, R>(
    plan: &Plan,
    start: u64,
    clock: &C,
    claim: &Q,
    target: &mut T,
    sink: &mut R,
) where
    C: Clock + ?Sized,
    Q: Claim + ?Sized,
    T: Target + ?Sized,
    R: Record + ?Sized,
{
    let end = plan.end(start);
    while let Some(i) = claim.claim() {
        if plan.requests.is_some_and(|n| i >= n) {
            return;
        }
        let (from, lateness) = match plan.mode {
            Mode::Open { .. } => {
                let due = plan.due(start, i);
                if end.is_some_and(|e| due >= e) {
                    return;
                }
                if clock.now() < due {
                    clock.sleep_until(due);
                }
                let now = clock.now();
                let lateness = now.saturating_sub(due);
                if lateness > plan.max_lateness_ns {
                    sink.record(Outcome::Dropped { lateness }, plan.late_ns);
                    // Every later request due before `now − max_lateness` is as late: drop
                    // them in one step rather than one claim each (issue 15: at 1e9 rps, one
                    // by one took 102 s for a 1 s run). They stay within the plan's bounds.
                    let mut cutoff = plan.first_due_at_or_after(start, now - plan.max_lateness_ns);
                    if let Some(e) = end {
                        cutoff = cutoff.min(plan.first_due_at_or_after(start, e));
                    }
                    if let Some(n) = plan.requests {
                        cutoff = cutoff.min(n);
                    }
                    let dropped = claim.claim_below(cutoff);
                    if dropped > 0 {
                        sink.record_dropped(dropped);
                    }
                    continue;
                }
                (due, lateness)
            }
            Mode::Closed => {
                let now = clock.now();
                if end.is_some_and(|e| now >= e) {
                    return;
                }
                (now, 0)
            }
        };
        let ok = target.call(i);
        let latency = clock.now().saturating_sub(from);
        let outcome = if ok {
            Outcome::Ok { latency, lateness }
        } else {
            Outcome::Failed { latency, lateness }
        };
        sink.record(outcome, plan.late_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mock(Cell<u64>);
    impl Clock for Mock {
        fn now(&self) -> u64 {
            self.0.get()
        }
        fn sleep_until(&self, t: u64) {
            self.0.set(self.0.get().max(t));
        }
    }

    /// Serves in `service` ns, stalls `stall` ns on every `every`-th request, fails every
    /// `fail_every`-th.
    struct Stalling<'c> {
        clock: &'c Mock,
        service: u64,
        every: u64,
        stall: u64,
        fail_every: u64,
    }
    impl Target for Stalling<'_> {
        fn call(&mut self, i: u64) -> bool {
            let mut t = self.service;
            if self.every > 0 && i % self.every == self.every - 1 {
                t += self.stall;
            }
            self.clock.0.set(self.clock.0.get() + t);
            self.fail_every == 0 || i % self.fail_every != self.fail_every - 1
        }
    }

    fn target(clock: &Mock) -> Stalling<'_> {
        // 100 µs per request, a 50 ms stall every 200 requests.
        Stalling {
            clock,
            service: 100_000,
            every: 200,
            stall: 50_000_000,
            fail_every: 0,
        }
    }

    fn run(plan: Plan, t: impl FnOnce(&Mock) -> Stalling<'_>) -> Tally {
        let clock = Mock(Cell::new(5_000));
        let mut tally = Tally::new();
        let mut target = t(&clock);
        drive(
            &plan,
            5_000,
            &clock,
            &Counter::new(),
            &mut target,
            &mut tally,
        );
        tally
    }

    #[test]
    fn open_model_p99_shows_stalls_that_closed_model_hides() {
        // 1,000 requests per second for 10,000 requests; stalls hit 0.5 % of the requests.
        let open = run(Plan::new(Mode::open(1000.0), Some(10_000), None), target);
        let closed = run(Plan::new(Mode::Closed, Some(10_000), None), target);
        assert_eq!((open.total(), closed.total()), (10_000, 10_000));
        let p99 = |t: &Tally| t.latency.quantile(0.99).unwrap();
        // Closed: 50 stalled requests of 10,000, below the 99th percentile: 100 µs.
        assert_eq!(p99(&closed), 100_000);
        // Open: after each stall about 55 requests queue (catching up 0.9 ms per request), so
        // more than a quarter of all requests wait for a stall: the p99 is close to it.
        assert!(p99(&open) > 40_000_000, "{}", p99(&open));
        assert_eq!(open.latency.max(), Some(50_100_000));
        assert!(open.late > 2000 && open.late < 3000, "{}", open.late);
        assert_eq!(open.dropped, 0);
    }

    #[test]
    fn too_late_requests_are_dropped_and_counted() {
        let mut plan = Plan::new(Mode::open(1000.0), Some(2000), None);
        plan.max_lateness_ns = 20_000_000;
        let t = run(plan, target);
        assert_eq!(t.total(), 2000);
        // Each stall leaves requests 20–50 ms late: dropped, and the generator catches up.
        assert!(
            t.dropped > 0 && t.dropped < 2000 / 200 * 31,
            "{}",
            t.dropped
        );
        assert!(t.latency.max().unwrap() <= 50_100_000);
        assert_eq!(t.successful + t.failed + t.dropped, 2000);
    }

    #[test]
    fn duration_bounds_both_modes_and_failures_are_counted() {
        fn failing(c: &Mock) -> Stalling<'_> {
            Stalling {
                fail_every: 4,
                ..target(c)
            }
        }
        // 1 s at 1,000 per second: exactly 1,000 requests are due.
        let open = run(
            Plan::new(Mode::open(1000.0), None, Some(1_000_000_000)),
            failing,
        );
        assert_eq!(open.total(), 1000);
        assert_eq!(open.failed, 250);
        assert_eq!(open.error_rate(), 0.25);
        // Closed: as many as fit in 1 s back to back (200 requests take 20 ms + a 50 ms stall).
        let closed = run(Plan::new(Mode::Closed, None, Some(1_000_000_000)), failing);
        let n = closed.total();
        assert!((2_800..3_100).contains(&n), "{n}");
        assert_eq!(closed.successful + closed.failed, n);
    }

    /// A tally that counts how often it is called.
    #[derive(Default)]
    struct Counting {
        tally: Tally,
        calls: u64,
    }
    impl Record for Counting {
        fn record(&mut self, outcome: Outcome, late_ns: u64) {
            self.calls += 1;
            self.tally.record(outcome, late_ns);
        }
        fn record_dropped(&mut self, count: u64) {
            self.calls += 1;
            self.tally.record_dropped(count);
        }
    }

    /// Issue 15: `load --rps 1e9 --duration 1` ran 102 s, dropping its missed arrivals one
    /// claim at a time. A target that stalls 3 s at the start of a 2 s run at 1e6 per second
    /// leaves 2 million arrivals: every one is accounted for, in a few calls.
    #[test]
    fn missed_arrivals_are_dropped_in_bulk_and_counted_exactly() {
        for (rate, duration_ns) in [
            (1e6, 2_000_000_000u64),
            (1e9, 1_000_000_000),
            (3e6, 1_500_000_001),
        ] {
            let plan = Plan::new(Mode::open(rate), None, Some(duration_ns));
            let clock = Mock(Cell::new(0));
            let mut target = Stalling {
                clock: &clock,
                service: 1_000,
                every: u64::MAX, // `i % every == every - 1` never holds below 2^64 − 1
                stall: 0,
                fail_every: 0,
            };
            // The first request takes 3 s.
            clock.0.set(0);
            struct First<'a, 'c>(&'a mut Stalling<'c>, bool);
            impl Target for First<'_, '_> {
                fn call(&mut self, i: u64) -> bool {
                    if !self.1 {
                        self.1 = true;
                        self.0.clock.0.set(self.0.clock.0.get() + 3_000_000_000);
                    }
                    self.0.call(i)
                }
            }
            let mut sink = Counting::default();
            drive(
                &plan,
                0,
                &clock,
                &Counter::new(),
                &mut First(&mut target, false),
                &mut sink,
            );
            // Arrivals: the indices due before the end, `ceil(duration · rate / 1e9)`.
            let arrivals = plan.first_due_at_or_after(0, duration_ns);
            let expected = libm::ceil(duration_ns as f64 * rate / 1e9) as u64;
            assert_eq!(arrivals, expected, "{rate}");
            assert_eq!(sink.tally.total(), arrivals, "{rate}");
            assert_eq!(
                sink.tally.successful, 1,
                "only the first was sent in time: {rate}"
            );
            assert_eq!(sink.tally.dropped, arrivals - 1);
            assert!(sink.calls < 10, "{} calls at {rate}", sink.calls);
        }
    }

    #[test]
    fn first_due_agrees_with_due() {
        for rate in [3.0, 7.0, 1e3, 7e6, 1e9, 2.5e9] {
            let plan = Plan::new(Mode::open(rate), None, None);
            for t in [
                0u64,
                1,
                2,
                3,
                333_333_333,
                333_333_334,
                999_999_999,
                1_000_000_000,
                5_000_000_007,
            ] {
                let i = plan.first_due_at_or_after(10, 10 + t);
                assert!(plan.due(10, i) >= 10 + t, "{rate} {t}");
                assert!(i == 0 || plan.due(10, i - 1) < 10 + t, "{rate} {t}");
            }
        }
        let closed = Plan::new(Mode::Closed, None, None);
        assert_eq!(closed.first_due_at_or_after(0, 1_000), 0);
        let open = Plan::new(Mode::open(1.0), None, None);
        assert_eq!(open.first_due_at_or_after(5, u64::MAX), 18_446_744_074);
        assert_eq!(Counter::with_limit(10).claim_below(25), 10);
        let c = Counter::new();
        assert_eq!(
            (c.claim(), c.claim_below(5), c.claim_below(3), c.claim()),
            (Some(0), 4, 0, Some(5))
        );
    }

    #[test]
    fn a_bounded_claim_ends_the_run_and_tallies_merge() {
        let clock = Mock(Cell::new(0));
        let plan = Plan::new(Mode::Closed, None, None);
        let (mut a, mut b) = (Tally::new(), Tally::new());
        let mut t = target(&clock);
        drive(&plan, 0, &clock, &Counter::with_limit(150), &mut t, &mut a);
        drive(&plan, 0, &clock, &Counter::with_limit(150), &mut t, &mut b);
        a.merge(&b);
        assert_eq!(a.total(), 300);
        assert_eq!(a.latency.count(), 300);
    }

    #[test]
    fn due_times_are_exact_and_empty_tally_is_zero() {
        let plan = Plan::new(Mode::open(3.0), None, None);
        assert_eq!(plan.due(10, 0), 10);
        assert_eq!(plan.due(10, 1), 10 + 333_333_333);
        assert_eq!(plan.due(10, 3), 10 + 1_000_000_000);
        assert_eq!(Tally::new().error_rate(), 0.0);
        assert_eq!(Mode::open(-1.0), Mode::open(1.0));
    }
}
