//! Damaged frames on a device link (`mlprobe chaos --experiment link`): which fault goes on the
//! wire at each step, how a valid frame is damaged, and the accounting of what the device
//! answered against what it had to answer. The host only moves the bytes.
//!
//! A run is a sequence of *steps*; each step sends one damaged frame, then one valid inference
//! request with its own id ([`FIRST_ID`] + step). Steps go out in windows before the answers
//! are read; answers arrive in order, so a window ends at its last valid id. What the device
//! must answer: one `Error(Frame)` without an id per damaged frame, one bit-exact inference per
//! valid request, nothing else, and its own counters equal to what was sent.
//!
//! ```
//! use mlprobe_core::chaos::link::{Fault, Ledger, Slot, damage, MAX_DAMAGED};
//! # struct Zero;
//! # impl rand_core::TryRng for Zero {
//! #     type Error = core::convert::Infallible;
//! #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(0) }
//! #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(0) }
//! #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(0); Ok(()) }
//! # }
//! let mut rng = Zero; // any `rand_core` RNG; the host uses ChaCha8 from `--seed`
//! let mut slots = [Slot::Unsent; 3];
//! let mut ledger = Ledger::new(&mut slots, 2).unwrap();
//! let step = ledger.next_step(&mut rng, false).unwrap();
//! assert_eq!((step.index, step.id, step.fault), (0, 1_000_000, Fault::Corrupted));
//! // Damage the valid frame of the step ([0, COBS bytes…, 0] as it goes on the wire).
//! let mut out = [0u8; MAX_DAMAGED];
//! let n = damage(step.fault, &[0, 3, 7, 9, 0], &mut rng, &mut out).unwrap();
//! assert_eq!(&out[..n], &[0, 1, 7, 9, 0]);
//! ```

use super::below;
use crate::protocol::{DeviceError, Inference, MAX_FRAME, Response, ResponseFrame, Stats};
use core::fmt;
use rand_core::Rng;

/// A damaged frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// One byte of a valid frame replaced by another non-zero byte.
    Corrupted,
    /// A valid frame cut short (ended by the next frame's leading delimiter).
    Truncated,
    /// Random non-zero bytes.
    Garbage,
    /// More than `MAX_FRAME` bytes without a delimiter.
    Oversized,
}

impl Fault {
    /// Every fault, in the order [`Fault::draw`] picks from and [`Counts::bad_by_kind`] counts.
    pub const ALL: [Fault; 4] = [
        Fault::Corrupted,
        Fault::Truncated,
        Fault::Garbage,
        Fault::Oversized,
    ];

    /// The name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Fault::Corrupted => "corrupted",
            Fault::Truncated => "truncated",
            Fault::Garbage => "garbage",
            Fault::Oversized => "oversized",
        }
    }

    /// Its position in [`Fault::ALL`].
    pub const fn index(self) -> usize {
        match self {
            Fault::Corrupted => 0,
            Fault::Truncated => 1,
            Fault::Garbage => 2,
            Fault::Oversized => 3,
        }
    }

    /// The fault of one step: uniform over [`Fault::ALL`], except that an oversized frame is
    /// kept one draw in four and becomes garbage otherwise. Oversized frames are 300+ bytes:
    /// the byte budget of a slow UART goes to many short faults instead.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R) -> Fault {
        let fault = Fault::ALL[below(rng, Fault::ALL.len() as u64) as usize];
        if fault == Fault::Oversized && below(rng, 4) != 0 {
            Fault::Garbage
        } else {
            fault
        }
    }
}

/// The longest damaged frame [`damage`] writes: a delimiter, up to `MAX_FRAME + 32` non-zero
/// bytes, a delimiter.
pub const MAX_DAMAGED: usize = MAX_FRAME + 34;

/// Why a frame could not be damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageError {
    /// The input is not a frame as it goes on the wire: a delimiter, at least two bytes, a
    /// delimiter, at most `MAX_FRAME + 1` bytes in all.
    NotAFrame,
    /// The output buffer is shorter than `MAX_DAMAGED`.
    BufferTooSmall,
}

impl fmt::Display for DamageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAFrame => "not a wire frame (0, at least two bytes, 0; at most MAX_FRAME + 1)",
            Self::BufferTooSmall => "the output buffer is shorter than MAX_DAMAGED",
        })
    }
}

impl core::error::Error for DamageError {}

/// A non-zero byte: a zero would end the frame, which makes two frames, not a damaged one.
fn nonzero<R: Rng + ?Sized>(rng: &mut R) -> u8 {
    1 + below(rng, 255) as u8
}

/// Writes `valid` (`[0, COBS bytes…, 0]`) damaged by `fault` into `out` (at least
/// [`MAX_DAMAGED`] bytes) and returns the length written. Every damaged frame starts with a
/// delimiter; all but a truncated one end with one.
pub fn damage<R: Rng + ?Sized>(
    fault: Fault,
    valid: &[u8],
    rng: &mut R,
    out: &mut [u8],
) -> Result<usize, DamageError> {
    let body = match valid {
        [0, body @ .., 0] if body.len() >= 2 && valid.len() <= MAX_FRAME + 1 => body,
        _ => return Err(DamageError::NotAFrame),
    };
    if out.len() < MAX_DAMAGED {
        return Err(DamageError::BufferTooSmall);
    }
    out[0] = 0;
    let end = match fault {
        Fault::Corrupted => {
            let i = below(rng, body.len() as u64) as usize;
            let mut x = nonzero(rng);
            while x == body[i] {
                x = nonzero(rng);
            }
            out[1..=body.len()].copy_from_slice(body);
            out[1 + i] = x;
            out[body.len() + 1] = 0;
            body.len() + 2
        }
        Fault::Truncated => {
            let cut = 1 + below(rng, body.len() as u64 - 1) as usize;
            out[1..=cut].copy_from_slice(&body[..cut]);
            cut + 1
        }
        Fault::Garbage => random_run(1 + below(rng, 48) as usize, rng, out),
        Fault::Oversized => random_run(MAX_FRAME + 1 + below(rng, 32) as usize, rng, out),
    };
    Ok(end)
}

/// `n` random non-zero bytes after `out[0]`, then a delimiter; returns the length.
fn random_run<R: Rng + ?Sized>(n: usize, rng: &mut R, out: &mut [u8]) -> usize {
    for b in &mut out[1..=n] {
        *b = nonzero(rng);
    }
    out[n + 1] = 0;
    n + 2
}

/// The id of the first step's valid request (ids of ordinary requests stay far below it).
pub const FIRST_ID: u32 = 1_000_000;

/// The most steps a run can have: one id each from [`FIRST_ID`] to `u32::MAX`.
pub const MAX_STEPS: u64 = (u32::MAX - FIRST_ID) as u64 + 1;

/// Where one step's valid request stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Slot {
    /// Not sent yet.
    #[default]
    Unsent,
    /// Sent; its answer is due in the current window.
    Outstanding,
    /// Answered with an inference (right or wrong): a second answer is a duplicate.
    Answered,
    /// Answered with something else, or lost: a later answer is unexpected.
    Closed,
}

/// One step to send: a damaged frame of kind `fault`, then the valid request `id` for input
/// row `index`, split by a pause in its middle when `pause` is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// 0-based step, also the input row.
    pub index: u64,
    /// The valid request's id.
    pub id: u32,
    /// The damaged frame sent before it.
    pub fault: Fault,
    /// Pause in the middle of the valid frame (every 10th step, when pauses are on): a frame
    /// interrupted by silence must still be read as one.
    pub pause: bool,
}

/// More steps than ids ([`MAX_STEPS`]), or a window of zero steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// More slots than [`MAX_STEPS`].
    TooManySteps,
    /// A window of zero steps.
    EmptyWindow,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooManySteps => "more steps than request ids (MAX_STEPS)",
            Self::EmptyWindow => "a window needs at least one step",
        })
    }
}

impl core::error::Error for LedgerError {}

/// What was sent and what came back; [`Counts::violations`] says what is wrong with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Valid requests sent.
    pub valid_sent: u64,
    /// Damaged frames sent, by kind in the order of [`Fault::ALL`].
    pub bad_by_kind: [u64; 4],
    /// Valid frames interrupted by a pause.
    pub silences: u64,
    /// Valid requests answered bit-exactly.
    pub answered: u64,
    /// Valid requests answered with other logits or with something else than an inference.
    pub wrong: u64,
    /// Second answers to a request.
    pub duplicates: u64,
    /// Valid requests without an answer in their window.
    pub lost: u64,
    /// Frame errors without an id: damaged frames rejected.
    pub rejected: u64,
    /// Anything else: answers to unknown ids, unreadable frames, frames after the end.
    pub unexpected: u64,
}

impl Counts {
    /// Damaged frames sent.
    pub fn bad_frames(&self) -> u64 {
        self.bad_by_kind.iter().sum()
    }

    /// Every frame sent, valid and damaged.
    pub fn frames_sent(&self) -> u64 {
        self.valid_sent + self.bad_frames()
    }

    /// (valid requests answered bit-exactly + damaged frames rejected, at most one each) /
    /// frames sent; 1 when nothing was sent.
    pub fn score(&self) -> f64 {
        let sent = self.frames_sent();
        if sent == 0 {
            return 1.0;
        }
        (self.answered + self.rejected.min(self.bad_frames())) as f64 / sent as f64
    }

    /// What went wrong, given the device's own counters (`Stats` after the run): nothing
    /// lost, wrong or duplicated, one rejection per damaged frame, nothing unexpected, and
    /// counters equal to what was sent.
    pub fn violations(&self, device: &Stats) -> impl Iterator<Item = Violation> + use<> {
        let bad = self.bad_frames();
        let nonzero = |n: u64, v: fn(u64) -> Violation| (n > 0).then(|| v(n));
        [
            nonzero(self.lost, Violation::Lost),
            nonzero(self.wrong, Violation::Wrong),
            nonzero(self.duplicates, Violation::Duplicates),
            (self.rejected != bad).then_some(Violation::Rejections {
                rejected: self.rejected,
                sent: bad,
            }),
            nonzero(self.unexpected, Violation::Unexpected),
            (u64::from(device.served) != self.valid_sent || u64::from(device.rejected) != bad)
                .then_some(Violation::Counters {
                    served: device.served,
                    valid_sent: self.valid_sent,
                    rejected: device.rejected,
                    bad_sent: bad,
                }),
        ]
        .into_iter()
        .flatten()
    }
}

/// A failed check of a link run; `Display` is the report's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Valid requests without an answer.
    Lost(u64),
    /// Wrong answers.
    Wrong(u64),
    /// Requests answered twice.
    Duplicates(u64),
    /// Frame rejections other than one per damaged frame.
    Rejections {
        /// Rejections received.
        rejected: u64,
        /// Damaged frames sent.
        sent: u64,
    },
    /// Frames nobody asked for.
    Unexpected(u64),
    /// The device's counters disagree with what was sent.
    Counters {
        /// The device's `served`.
        served: u32,
        /// Valid requests sent.
        valid_sent: u64,
        /// The device's `rejected`.
        rejected: u32,
        /// Damaged frames sent.
        bad_sent: u64,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Lost(n) => write!(f, "{n} valid requests lost"),
            Self::Wrong(n) => write!(f, "{n} wrong answers"),
            Self::Duplicates(n) => write!(f, "{n} requests answered twice"),
            Self::Rejections { rejected, sent } => {
                write!(
                    f,
                    "{rejected} frames rejected for {sent} damaged frames sent"
                )
            }
            Self::Unexpected(n) => write!(f, "{n} unexpected frames from the device"),
            Self::Counters {
                served,
                valid_sent,
                rejected,
                bad_sent,
            } => write!(
                f,
                "device counters: served {served} (sent {valid_sent}), rejected {rejected} (sent {bad_sent})"
            ),
        }
    }
}

/// The accounting of one run over caller storage: one [`Slot`] per step (the run's length),
/// so it needs no allocation and remembers every id (a late second answer to any earlier
/// request is a duplicate, not an unexpected frame).
#[derive(Debug)]
pub struct Ledger<'s> {
    slots: &'s mut [Slot],
    window: usize,
    sent: usize,
    window_start: usize,
    counts: Counts,
}

impl<'s> Ledger<'s> {
    /// A run of `slots.len()` steps (every slot [`Slot::Unsent`]), `window` steps sent
    /// before each read of the answers.
    pub fn new(slots: &'s mut [Slot], window: usize) -> Result<Self, LedgerError> {
        if slots.len() as u64 > MAX_STEPS {
            return Err(LedgerError::TooManySteps);
        }
        if window == 0 {
            return Err(LedgerError::EmptyWindow);
        }
        slots.fill(Slot::Unsent);
        Ok(Self {
            slots,
            window,
            sent: 0,
            window_start: 0,
            counts: Counts::default(),
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// True when every step has been sent and its window closed.
    pub fn is_done(&self) -> bool {
        self.sent == self.slots.len() && self.window_start == self.sent
    }

    /// The next step of the current window, its fault drawn from `rng` and counted as sent
    /// with its valid request; `None` when the window is full (read the answers, then
    /// [`close_window`](Self::close_window)) or every step is sent. `pauses`: split every
    /// 10th valid frame with a pause.
    pub fn next_step<R: Rng + ?Sized>(&mut self, rng: &mut R, pauses: bool) -> Option<Step> {
        if self.sent - self.window_start >= self.window || self.sent >= self.slots.len() {
            return None;
        }
        let index = self.sent as u64;
        let fault = Fault::draw(rng);
        let pause = pauses && index % 10 == 9;
        self.slots[self.sent] = Slot::Outstanding;
        self.sent += 1;
        let c = &mut self.counts;
        c.bad_by_kind[fault.index()] += 1;
        c.valid_sent += 1;
        c.silences += u64::from(pause);
        Some(Step {
            index,
            id: id_of(index),
            fault,
            pause,
        })
    }

    fn slot(&self, id: u32) -> Option<usize> {
        let i = id.checked_sub(FIRST_ID)? as usize;
        (i < self.sent).then_some(i)
    }

    /// Counts one answer read in the current window. `right(index, inference)` says whether
    /// an inference is bit-exact for step `index`'s row. Returns true when the frame answers
    /// the window's last request: the window is complete.
    pub fn observe(
        &mut self,
        frame: &ResponseFrame,
        right: impl FnOnce(u64, &Inference) -> bool,
    ) -> bool {
        let id = match frame {
            ResponseFrame {
                id: None,
                response: Response::Error(DeviceError::Frame(_)),
            } => {
                self.counts.rejected += 1;
                return false;
            }
            ResponseFrame { id: None, .. } => {
                self.counts.unexpected += 1;
                return false;
            }
            ResponseFrame { id: Some(id), .. } => *id,
        };
        let slot = self.slot(id).map(|i| (i, self.slots[i]));
        let c = &mut self.counts;
        match slot {
            Some((i, Slot::Outstanding)) => {
                self.slots[i] = match &frame.response {
                    Response::Inference(inf) => {
                        if right(i as u64, inf) {
                            c.answered += 1;
                        } else {
                            c.wrong += 1;
                        }
                        Slot::Answered
                    }
                    _ => {
                        c.wrong += 1;
                        Slot::Closed
                    }
                };
            }
            Some((_, Slot::Answered)) => c.duplicates += 1,
            _ => c.unexpected += 1,
        }
        self.sent > 0 && id == id_of(self.sent as u64 - 1)
    }

    /// Counts a frame from the device that could not be decoded.
    pub fn observe_undecodable(&mut self) {
        self.counts.unexpected += 1;
    }

    /// Ends the current window: requests still outstanding are lost.
    pub fn close_window(&mut self) {
        for s in &mut self.slots[self.window_start..self.sent] {
            if *s == Slot::Outstanding {
                *s = Slot::Closed;
                self.counts.lost += 1;
            }
        }
        self.window_start = self.sent;
    }

    /// Counts a frame that arrived after the last window: a second answer is a duplicate,
    /// anything else unexpected.
    pub fn observe_late(&mut self, frame: &ResponseFrame) {
        let answered = frame
            .id
            .and_then(|id| self.slot(id))
            .is_some_and(|i| self.slots[i] == Slot::Answered);
        if answered {
            self.counts.duplicates += 1;
        } else {
            self.counts.unexpected += 1;
        }
    }
}

/// The id of step `index`'s valid request.
fn id_of(index: u64) -> u32 {
    FIRST_ID.wrapping_add(index as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::FrameError;
    use core::convert::Infallible;
    use rand_chacha::ChaCha8Rng;
    use rand_chacha::rand_core::SeedableRng;

    /// Returns the given `u64`s in order, then zeros.
    struct Seq<'a>(&'a [u64]);

    impl rand_core::TryRng for Seq<'_> {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok((self.try_next_u64()? >> 32) as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let (x, rest) = self.0.split_first().map_or((0, &[][..]), |(x, r)| (*x, r));
            self.0 = rest;
            Ok(x)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }

    /// `below(n)` of `top(k, n)` is `k`: the smallest u64 whose scaled top bits give `k`.
    fn top(k: u64, n: u64) -> u64 {
        ((u128::from(k) << 64).div_ceil(u128::from(n))) as u64
    }

    const VALID: [u8; 6] = [0, 4, 17, 9, 33, 0];

    #[test]
    fn faults_are_drawn_uniformly_with_oversized_thinned_to_a_quarter() {
        let draw = |xs: &[u64]| Fault::draw(&mut Seq(xs));
        assert_eq!(draw(&[top(0, 4)]), Fault::Corrupted);
        assert_eq!(draw(&[top(1, 4)]), Fault::Truncated);
        assert_eq!(draw(&[top(2, 4)]), Fault::Garbage);
        // Oversized needs a second draw of 0 out of 4.
        assert_eq!(draw(&[top(3, 4), top(0, 4)]), Fault::Oversized);
        assert_eq!(draw(&[top(3, 4), top(1, 4)]), Fault::Garbage);
        assert_eq!(draw(&[top(3, 4), top(3, 4)]), Fault::Garbage);
        for (k, f) in Fault::ALL.iter().enumerate() {
            assert_eq!(f.index(), k);
        }
        assert_eq!(Fault::Oversized.name(), "oversized");
    }

    #[test]
    fn a_seeded_run_damages_frames_as_it_always_has() {
        // ChaCha8 from seed 0, one draw and one damage per step, as
        // `mlprobe chaos --experiment link --seed 0` does: the faults and the CRC-32 of every
        // damaged frame, pinned so that a change to the draws cannot go unnoticed.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut out = [0u8; MAX_DAMAGED];
        let mut names = crate::StdVec::new();
        let mut crcs = crate::StdVec::new();
        for _ in 0..10 {
            let fault = Fault::draw(&mut rng);
            let n = damage(fault, &VALID, &mut rng, &mut out).unwrap();
            names.push(fault.name());
            crcs.push(crate::crc::crc32(&out[..n]));
        }
        assert_eq!(names, GOLDEN_FAULTS);
        assert_eq!(crcs, GOLDEN_CRCS);
    }

    const GOLDEN_FAULTS: [&str; 10] = [
        "garbage",
        "garbage",
        "garbage",
        "truncated",
        "corrupted",
        "garbage",
        "garbage",
        "corrupted",
        "corrupted",
        "corrupted",
    ];
    const GOLDEN_CRCS: [u32; 10] = [
        0x5fbd030a, 0xdb8b2548, 0xe78da5b1, 0xf19d3ce4, 0xdb6b9b4b, 0x3b9bd528, 0x5c70e0d2,
        0x0f4f80d7, 0x153e9ec2, 0x761865c2,
    ];

    #[test]
    fn corruption_replaces_one_byte_with_another_non_zero_byte() {
        let mut out = [0xAAu8; MAX_DAMAGED];
        // Byte 1 of the body (17); the first replacement drawn is 17 itself (1 + 16), so a
        // second one is drawn: 1 + 127.
        let xs = [top(1, 4), top(16, 255), top(127, 255)];
        let n = damage(Fault::Corrupted, &VALID, &mut Seq(&xs), &mut out).unwrap();
        assert_eq!(&out[..n], &[0, 4, 128, 9, 33, 0]);
    }

    #[test]
    fn truncation_keeps_a_proper_prefix_without_the_end_delimiter() {
        let mut out = [0u8; MAX_DAMAGED];
        let n = damage(Fault::Truncated, &VALID, &mut Seq(&[0]), &mut out).unwrap();
        assert_eq!(&out[..n], &[0, 4]);
        let n = damage(Fault::Truncated, &VALID, &mut Seq(&[u64::MAX]), &mut out).unwrap();
        assert_eq!(&out[..n], &[0, 4, 17, 9]);
    }

    #[test]
    fn garbage_and_oversized_are_runs_of_non_zero_bytes() {
        let mut out = [0u8; MAX_DAMAGED];
        let xs = [top(2, 48), 0, top(254, 255), top(9, 255)];
        let n = damage(Fault::Garbage, &VALID, &mut Seq(&xs), &mut out).unwrap();
        assert_eq!(&out[..n], &[0, 1, 255, 10, 0]);
        let n = damage(Fault::Oversized, &VALID, &mut Seq(&[u64::MAX]), &mut out).unwrap();
        assert_eq!(n, MAX_DAMAGED);
        assert_eq!((out[0], out[n - 1]), (0, 0));
        assert!(out[1..n - 1].iter().all(|&b| b == 1));
        let n = damage(Fault::Oversized, &VALID, &mut Seq(&[0]), &mut out).unwrap();
        assert_eq!(n, MAX_FRAME + 3);
    }

    #[test]
    fn only_wire_frames_are_damaged_into_a_large_enough_buffer() {
        let mut out = [0u8; MAX_DAMAGED];
        for bad in [&[][..], &[0, 5, 0], &[1, 5, 6, 0], &[0, 5, 6, 7]] {
            let r = damage(Fault::Corrupted, bad, &mut Seq(&[]), &mut out);
            assert_eq!(r, Err(DamageError::NotAFrame), "{bad:?}");
        }
        let mut long = [1u8; MAX_FRAME + 2];
        (long[0], long[MAX_FRAME + 1]) = (0, 0);
        let r = damage(Fault::Garbage, &long, &mut Seq(&[]), &mut out);
        assert_eq!(r, Err(DamageError::NotAFrame));
        let r = damage(
            Fault::Garbage,
            &VALID,
            &mut Seq(&[]),
            &mut out[..MAX_DAMAGED - 1],
        );
        assert_eq!(r, Err(DamageError::BufferTooSmall));
    }

    fn inference(bits: u32) -> Response {
        Response::Inference(Inference {
            class: 0,
            logits: [f32::from_bits(bits)].into_iter().collect(),
            cost: 0,
        })
    }

    fn answer(id: u32, bits: u32) -> ResponseFrame {
        ResponseFrame {
            id: Some(id),
            response: inference(bits),
        }
    }

    fn rejection() -> ResponseFrame {
        ResponseFrame {
            id: None,
            response: Response::Error(DeviceError::Frame(FrameError::BadChecksum)),
        }
    }

    /// Right when the single logit's bits are the step index.
    fn right(index: u64, i: &Inference) -> bool {
        i.logits.first().map(|v| u64::from(v.to_bits())) == Some(index)
    }

    fn stats(served: u32, rejected: u32) -> Stats {
        Stats {
            served,
            rejected,
            stack_peak: 0,
            stack_size: 0,
        }
    }

    #[test]
    fn a_clean_run_passes_with_score_one() {
        let mut slots = [Slot::Unsent; 5];
        let mut l = Ledger::new(&mut slots, 2).unwrap();
        let mut rng = Seq(&[]);
        let mut windows = 0;
        while !l.is_done() {
            let mut ids = crate::StdVec::new();
            while let Some(s) = l.next_step(&mut rng, true) {
                assert_eq!(s.id, FIRST_ID + s.index as u32);
                assert_eq!(s.fault, Fault::Corrupted);
                ids.push(s.id);
            }
            assert!(ids.len() <= 2);
            for (k, &id) in ids.iter().enumerate() {
                assert!(!l.observe(&rejection(), right));
                let last = l.observe(&answer(id, id - FIRST_ID), right);
                assert_eq!(last, k + 1 == ids.len());
            }
            l.close_window();
            windows += 1;
        }
        assert_eq!(windows, 3);
        let c = *l.counts();
        assert_eq!((c.valid_sent, c.bad_frames(), c.frames_sent()), (5, 5, 10));
        assert_eq!(c.bad_by_kind, [5, 0, 0, 0]);
        assert_eq!((c.answered, c.rejected, c.silences), (5, 5, 0));
        assert_eq!(c.score(), 1.0);
        assert_eq!(c.violations(&stats(5, 5)).count(), 0);
    }

    #[test]
    fn every_tenth_step_pauses_when_pauses_are_on() {
        let mut slots = [Slot::Unsent; 20];
        let mut l = Ledger::new(&mut slots, 20).unwrap();
        let pauses: crate::StdVec<_> = core::iter::from_fn(|| l.next_step(&mut Seq(&[]), true))
            .filter(|s| s.pause)
            .map(|s| s.index)
            .collect();
        assert_eq!(pauses, [9, 19]);
        assert_eq!(l.counts().silences, 2);
        let mut slots = [Slot::Unsent; 20];
        let mut l = Ledger::new(&mut slots, 20).unwrap();
        while l.next_step(&mut Seq(&[]), false).is_some() {}
        assert_eq!(l.counts().silences, 0);
    }

    #[test]
    fn lost_wrong_duplicate_and_unexpected_answers_are_each_counted() {
        let mut slots = [Slot::Unsent; 4];
        let mut l = Ledger::new(&mut slots, 4).unwrap();
        while l.next_step(&mut Seq(&[]), false).is_some() {}
        let id = |k: u32| FIRST_ID + k;
        // Step 0 right, step 1 wrong logits, step 2 an error, step 3 never answered.
        assert!(!l.observe(&answer(id(0), 0), right));
        assert!(!l.observe(&answer(id(1), 7), right));
        let error = ResponseFrame {
            id: Some(id(2)),
            response: Response::Error(DeviceError::Model),
        };
        assert!(!l.observe(&error, right));
        // A second answer to step 0 is a duplicate; to step 2 (closed), unexpected; so are
        // unknown ids, ids not sent yet, and errors without an id that are not frame errors.
        assert!(!l.observe(&answer(id(0), 0), right));
        assert!(!l.observe(&answer(id(2), 2), right));
        assert!(!l.observe(&answer(7, 0), right));
        l.observe_undecodable();
        let no_id = ResponseFrame {
            id: None,
            response: Response::Stats(stats(0, 0)),
        };
        assert!(!l.observe(&no_id, right));
        l.close_window();
        assert!(l.is_done());
        // After the run: a late answer to step 1 (answered, wrongly) is a duplicate; to step
        // 3 (lost), unexpected.
        l.observe_late(&answer(id(1), 1));
        l.observe_late(&answer(id(3), 3));
        l.observe_late(&rejection());
        let c = *l.counts();
        assert_eq!((c.answered, c.wrong, c.lost), (1, 2, 1));
        assert_eq!((c.duplicates, c.unexpected, c.rejected), (2, 6, 0));
        assert_eq!(c.score(), 1.0 / 8.0);
        let v: crate::StdVec<_> = c.violations(&stats(3, 4)).collect();
        assert_eq!(
            v,
            [
                Violation::Lost(1),
                Violation::Wrong(2),
                Violation::Duplicates(2),
                Violation::Rejections {
                    rejected: 0,
                    sent: 4
                },
                Violation::Unexpected(6),
                Violation::Counters {
                    served: 3,
                    valid_sent: 4,
                    rejected: 4,
                    bad_sent: 4
                },
            ]
        );
        let text: crate::StdVec<_> = v.iter().map(|v| format!("{v}")).collect();
        assert_eq!(
            text,
            [
                "1 valid requests lost",
                "2 wrong answers",
                "2 requests answered twice",
                "0 frames rejected for 4 damaged frames sent",
                "6 unexpected frames from the device",
                "device counters: served 3 (sent 4), rejected 4 (sent 4)",
            ]
        );
    }

    #[test]
    fn the_score_counts_at_most_one_rejection_per_damaged_frame() {
        let c = Counts {
            valid_sent: 2,
            bad_by_kind: [1, 0, 1, 0],
            answered: 2,
            rejected: 5,
            ..Counts::default()
        };
        assert_eq!(c.score(), 1.0);
        assert_eq!(Counts::default().score(), 1.0);
        let v: crate::StdVec<_> = c.violations(&stats(2, 2)).collect();
        assert_eq!(
            v,
            [Violation::Rejections {
                rejected: 5,
                sent: 2
            }]
        );
    }

    #[test]
    fn ledgers_need_a_window_and_ids_for_every_step() {
        let mut none: [Slot; 0] = [];
        assert_eq!(
            Ledger::new(&mut none, 0).err(),
            Some(LedgerError::EmptyWindow)
        );
        let mut l = Ledger::new(&mut none, 1).unwrap();
        assert!(l.is_done());
        assert_eq!(l.next_step(&mut Seq(&[]), true), None);
        assert_eq!(MAX_STEPS, 4_293_967_296);
        assert_eq!(id_of(MAX_STEPS - 1), u32::MAX);
    }
}
