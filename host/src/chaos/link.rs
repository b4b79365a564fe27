//! `chaos --experiment link`: damaged frames mixed into valid traffic on a device link. Which
//! fault goes out at each step, how a frame is damaged and what the answers must be are
//! [`mlprobe_core::chaos::link`]'s; this file moves the bytes. On the host the same requests
//! go to core's device server in this process ([`Loopback`]).

use super::{Ctx, Measured, Scored};
use crate::device::{Session, Tolerance, link_error};
use crate::error::{Error, Result};
use crate::link::{Client, Link, LinkError};
use crate::model_io::HostModel;
use mlprobe_core::chaos::link::{Fault, Ledger, MAX_DAMAGED, MAX_STEPS, Slot, damage};
use mlprobe_core::protocol::{CostUnit, MAX_FRAME, Request};
use mlprobe_core::server::{self, Ident, NoStack, Server};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of the link experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOptions {
    /// Damaged frames to send, each followed by a valid request (`--faults`).
    pub faults: u64,
    /// A pause of this many ms in the middle of every 10th valid request (`--silence-ms`).
    pub silence_ms: u64,
    /// Steps sent before reading the answers (`--window`).
    pub window: usize,
    /// How close an answer's logits must be to the host's to be right (`--atol`, `--ulps`;
    /// bit for bit by default).
    pub tolerance: Tolerance,
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self {
            faults: 1000,
            silence_ms: 5,
            window: 16,
            tolerance: Tolerance::EXACT,
        }
    }
}

impl LinkOptions {
    /// Rejects what no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        super::at_least_one("--window", self.window as u64)?;
        if self.faults > MAX_STEPS {
            return Err(Error::Usage(format!(
                "--faults {}: at most {MAX_STEPS} (one request id each)",
                self.faults
            )));
        }
        Ok(())
    }
}

/// Damaged frames sent, by kind.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FaultCounts {
    /// One byte replaced.
    pub corrupted: u64,
    /// Random non-zero bytes.
    pub garbage: u64,
    /// Longer than a frame may be.
    pub oversized: u64,
    /// Cut short.
    pub truncated: u64,
}

/// What the link experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct LinkResult {
    /// Valid and damaged.
    pub frames_sent: u64,
    /// Valid requests.
    pub valid_requests: u64,
    /// Damaged frames.
    pub bad_frames: u64,
    /// Damaged frames by kind.
    pub bad_frames_by_kind: FaultCounts,
    /// Valid frames interrupted by a pause.
    pub silences: u64,
    /// The pause.
    pub silence_ms: u64,
    /// Valid requests answered correctly: bit for bit, or within `tolerance`.
    pub answered_correctly: u64,
    /// Damaged frames rejected.
    pub rejected: u64,
    /// Valid requests never answered.
    pub lost: u64,
    /// Wrong answers.
    pub wrong: u64,
    /// Second answers.
    pub duplicates: u64,
    /// Frames nobody asked for.
    pub unexpected: u64,
    /// The device's count of requests served.
    pub device_served: u32,
    /// The device's count of frames rejected.
    pub device_rejected: u32,
    /// How long the run took.
    pub seconds: f64,
    /// Steps per window.
    pub window: usize,
    /// How close an answer had to be to the host's to count as correct.
    pub tolerance: Tolerance,
}

/// Runs the experiment on `device`, or on core's server in process.
pub fn run(ctx: &Ctx, o: &LinkOptions, device: Option<&mut Session>) -> Result<Scored> {
    match device {
        Some(s) => on_link(ctx, o, s.client()),
        None => on_link(ctx, o, &mut Client::new(Loopback::new(&ctx.model)?)),
    }
}

fn on_link<L: Link>(ctx: &Ctx, o: &LinkOptions, client: &mut Client<L>) -> Result<Scored> {
    let model = &*ctx.model;
    let inputs = ctx.inputs();
    let mut scratch = vec![0.0; model.dims().scratch_len()];
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let dev = link_error("chaos link");
    client
        .wait_ready(Duration::from_secs(10))
        .map_err(link_error("waiting for the device"))?;
    client.call(Request::Reset).map_err(&dev)?;
    let timeout = Duration::from_secs(5);
    client.set_timeout(timeout);
    let started = Instant::now();
    // `faults` fits memory: `validate` bounds it by the id space.
    let mut slots = vec![Slot::Unsent; o.faults as usize];
    let mut ledger = Ledger::new(&mut slots, o.window)
        .map_err(|e| Error::Usage(format!("--faults / --window: {e}")))?;
    let mut damaged = [0u8; MAX_DAMAGED];
    while !ledger.is_done() {
        while let Some(step) = ledger.next_step(&mut rng, o.silence_ms > 0) {
            let request = Request::Infer {
                features: inputs.row(step.index).iter().copied().collect(),
            };
            let frame = Client::<L>::encode(step.id, request).map_err(&dev)?;
            let n = damage(step.fault, &frame, &mut rng, &mut damaged)
                .map_err(|e| Error::Internal(format!("damaging a frame: {e}")))?;
            client.send_raw(&damaged[..n]).map_err(&dev)?;
            if step.pause {
                // Silence in the middle of a valid frame: it must still be read as one.
                let half = frame.len() / 2;
                client.send_raw(&frame[..half]).map_err(&dev)?;
                std::thread::sleep(Duration::from_millis(o.silence_ms));
                client.send_raw(&frame[half..]).map_err(&dev)?;
            } else {
                client.send_raw(&frame).map_err(&dev)?;
            }
        }
        // Answers: one error per damaged frame, one inference per valid request, in order.
        loop {
            match client.recv() {
                Ok(frame) => {
                    let right = |index: u64, answer: &mlprobe_core::protocol::Inference| {
                        model
                            .infer(inputs.row(index), &mut scratch)
                            .is_ok_and(|want| {
                                want.len() == answer.logits.len()
                                    && want
                                        .iter()
                                        .zip(&answer.logits)
                                        .all(|(&h, &d)| o.tolerance.accepts(d, h))
                            })
                    };
                    if ledger.observe(&frame, right) {
                        break;
                    }
                }
                Err(LinkError::Frame { .. }) => ledger.observe_undecodable(),
                Err(_) => break,
            }
        }
        ledger.close_window();
    }
    // Nothing more may arrive: no late duplicates, no answers to damaged frames.
    client.set_timeout(Duration::from_millis(300));
    while let Ok(frame) = client.recv() {
        ledger.observe_late(&frame);
    }
    client.set_timeout(timeout);
    let stats = match client.call(Request::Stats).map_err(&dev)? {
        mlprobe_core::protocol::Response::Stats(s) => s,
        other => return Err(Error::Device(format!("unexpected answer: {other:?}"))),
    };
    let c = *ledger.counts();
    let kind = |f: Fault| c.bad_by_kind[f.index()];
    Ok(Scored {
        score: c.score(),
        definition: "(valid requests answered correctly (bit for bit, or within --atol/--ulps) + \
                     damaged frames rejected) / frames sent",
        violations: c.violations(&stats).map(|v| v.to_string()).collect(),
        measured: Measured::Link(LinkResult {
            frames_sent: c.frames_sent(),
            valid_requests: c.valid_sent,
            bad_frames: c.bad_frames(),
            bad_frames_by_kind: FaultCounts {
                corrupted: kind(Fault::Corrupted),
                garbage: kind(Fault::Garbage),
                oversized: kind(Fault::Oversized),
                truncated: kind(Fault::Truncated),
            },
            silences: c.silences,
            silence_ms: o.silence_ms,
            answered_correctly: c.answered,
            rejected: c.rejected,
            lost: c.lost,
            wrong: c.wrong,
            duplicates: c.duplicates,
            unexpected: c.unexpected,
            device_served: stats.served,
            device_rejected: stats.rejected,
            seconds: started.elapsed().as_secs_f64(),
            window: o.window,
            tolerance: o.tolerance,
        }),
    })
}

impl LinkResult {
    /// The measurements as text.
    pub fn human(&self) -> String {
        let kinds = serde_json::to_string(&self.bad_frames_by_kind).unwrap_or_default();
        format!(
            "{} frames: {} valid requests, {} damaged ({kinds}), {} silences of {} ms\n\
             answered correctly {}  rejected {}  lost {}  wrong {}  duplicates {}  unexpected {}  ({:.1} s)\n",
            self.frames_sent,
            self.valid_requests,
            self.bad_frames,
            self.silences,
            self.silence_ms,
            self.answered_correctly,
            self.rejected,
            self.lost,
            self.wrong,
            self.duplicates,
            self.unexpected,
            self.seconds
        )
    }
}

/// Core's device server in this process, behind a [`Link`]: `chaos link --target host`
/// exercises the same request handler as the firmware without a device.
pub struct Loopback {
    server: Box<Server<SharedModel, NsClock, NoStack, LOOPBACK_SCRATCH>>,
    rx: VecDeque<u8>,
}

/// Scratch of the in-process server (enough for 4,096 hidden units and the protocol's limits).
const LOOPBACK_SCRATCH: usize = 4096 + 64 + 64;

/// Nanoseconds as the cost clock of the in-process server.
pub struct NsClock(Instant);

impl server::Clock for NsClock {
    fn now(&mut self) -> u32 {
        self.0.elapsed().as_nanos() as u32
    }
    fn cost(&self, start: u32, end: u32) -> u32 {
        end.wrapping_sub(start)
    }
    fn unit(&self) -> CostUnit {
        CostUnit::Cycles
    }
    fn hz(&self) -> u32 {
        1_000_000_000
    }
}

/// The shared model as core's [`server::Infer`].
pub struct SharedModel(Arc<HostModel>);

impl server::Infer for SharedModel {
    fn dims(&self) -> mlprobe_core::mlp::Dims {
        self.0.dims()
    }
    fn infer<'s>(
        &mut self,
        raw: &[f32],
        scratch: &'s mut [f32],
    ) -> std::result::Result<&'s [f32], mlprobe_core::mlp::MlpError> {
        self.0.infer(raw, scratch)
    }
}

impl Loopback {
    /// The name of the in-process link.
    pub const NAME: &'static str = "in-process core::server";

    /// A server for `model`.
    pub fn new(model: &Arc<HostModel>) -> Result<Self> {
        let server = Server::new(
            SharedModel(model.clone()),
            NsClock(Instant::now()),
            NoStack,
            Ident {
                board: "host-loopback",
                firmware: [0, 0, 0],
                model_crc: 0,
            },
        )
        .map_err(|e| Error::Usage(format!("the model does not fit the device protocol: {e}")))?;
        Ok(Self {
            server: Box::new(server),
            rx: VecDeque::new(),
        })
    }
}

impl Link for Loopback {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = [0u8; MAX_FRAME];
        for &b in bytes {
            if let Some(n) = self.server.feed(b, &mut out) {
                self.rx.extend(&out[..n]);
            }
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rx.is_empty() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.rx.len());
        for (b, x) in buf.iter_mut().zip(self.rx.drain(..n)) {
            *b = x;
        }
        Ok(n)
    }
    fn set_timeout(&mut self, _: Duration) -> std::io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        Self::NAME.into()
    }
}
