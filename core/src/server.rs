//! The device side of the [`protocol`](crate::protocol): a [`Server`] turns request bytes into
//! response bytes over a compiled-in model, so the firmware is a loop that moves bytes between
//! its UART and [`Server::feed`], and everything else is tested on the host with a mock clock.
//!
//! ```
//! use mlprobe_core::mlp::{Dims, Mlp, Model};
//! use mlprobe_core::protocol::{self, *};
//! use mlprobe_core::server::{Clock, Ident, Server, StackMeter};
//! use mlprobe_core::transform::{Fill, Standardizer};
//!
//! struct Ticks(u32);
//! impl Clock for Ticks {
//!     fn now(&mut self) -> u32 { self.0 += 10; self.0 }
//!     fn cost(&self, start: u32, end: u32) -> u32 { end.wrapping_sub(start) }
//!     fn unit(&self) -> CostUnit { CostUnit::Cycles }
//!     fn hz(&self) -> u32 { 1_000_000 }
//! }
//! struct NoStack;
//! impl StackMeter for NoStack {
//!     fn peak_bytes(&self) -> u32 { 0 }
//!     fn size_bytes(&self) -> u32 { 0 }
//! }
//!
//! let dims = Dims::new(1, 1, 2).unwrap();
//! // hidden = relu(x); logits = [h, -h]
//! let mlp = Mlp::from_array(dims, [1.0, 0.0, 1.0, -1.0, 0.0, 0.0]);
//! let model = Model::new(Standardizer::new([0.0f32], [1.0f32], Fill::Mean).unwrap(), mlp).unwrap();
//! let ident = Ident { board: "doc", firmware: [0, 1, 0], model_crc: 0 };
//! let mut server = Server::<_, _, _, 4>::new(&model, Ticks(0), NoStack, ident).unwrap();
//!
//! let mut wire = [0u8; MAX_FRAME];
//! let request = RequestFrame { id: 1, request: Request::Infer { features: [3.0].into_iter().collect() } };
//! let n = protocol::encode(&request, &mut wire).unwrap();
//! let mut out = [0u8; MAX_FRAME];
//! let mut reply = 0;
//! for &b in &wire[..n] {
//!     if let Some(len) = server.feed(b, &mut out) { reply = len; }
//! }
//! let resp: ResponseFrame = protocol::decode(&mut out[..reply - 1]).unwrap();
//! let Response::Inference(inf) = resp.response else { panic!() };
//! assert_eq!((inf.class, &inf.logits[..], inf.cost), (0, &[3.0, -3.0][..], 10));
//! ```

use crate::mlp::{Dims, MlpError, Model, argmax};
use crate::protocol::{
    CostUnit, Decoded, DeviceError, FrameDecoder, Inference, Info, LimitError, MAX_FRAME, MAX_NAME,
    PROTOCOL_VERSION, Request, RequestFrame, Response, ResponseFrame, Stats, check_dims,
};
use core::fmt;

/// A cost counter: SysTick under QEMU, the DWT cycle counter on hardware, a mock in tests.
pub trait Clock {
    /// A raw timestamp.
    fn now(&mut self) -> u32;
    /// The cost between two timestamps taken with [`now`](Self::now), in [`unit`](Self::unit)s.
    fn cost(&self, start: u32, end: u32) -> u32;
    /// What [`cost`](Self::cost) counts.
    fn unit(&self) -> CostUnit;
    /// The CPU clock in Hz.
    fn hz(&self) -> u32;
}

/// A model the server can run: [`Model`] itself (by reference), a firmware's zero-sized handle
/// to its compiled-in `static` model (so the compiler sees the dimensions as constants and
/// unrolls the dense loops), or any other inference (`mlprobe-agent` adapts a user's
/// "features in, outputs out" function to this trait).
pub trait Infer {
    /// The dimensions the device reports (for a model that is not an MLP, its inputs and
    /// outputs, with the hidden widths it wants to show, possibly none).
    fn dims(&self) -> Dims;
    /// The scratch [`infer`](Self::infer) needs (the model's `Dims::scratch_len` unless the
    /// implementation says otherwise).
    fn scratch_len(&self) -> usize {
        self.dims().scratch_len()
    }
    /// Logits for one raw input row, as [`Model::infer`]: a slice of `scratch`.
    fn infer<'s>(&mut self, raw: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError>;
}

impl<F: AsRef<[f32]>, P: AsRef<[f32]>> Infer for &Model<F, P> {
    #[inline(always)]
    fn dims(&self) -> Dims {
        Model::dims(self)
    }

    #[inline(always)]
    fn infer<'s>(&mut self, raw: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError> {
        Model::infer(self, raw, scratch)
    }
}

impl<M: Infer + ?Sized> Infer for &mut M {
    #[inline(always)]
    fn dims(&self) -> Dims {
        (**self).dims()
    }

    #[inline(always)]
    fn scratch_len(&self) -> usize {
        (**self).scratch_len()
    }

    #[inline(always)]
    fn infer<'s>(&mut self, raw: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError> {
        (**self).infer(raw, scratch)
    }
}

/// The stack high-water mark (a painted stack on the device).
pub trait StackMeter {
    /// Most stack used since boot, in bytes.
    fn peak_bytes(&self) -> u32;
    /// The stack's size in bytes.
    fn size_bytes(&self) -> u32;
}

/// No stack to measure (an in-process server, a firmware that does not paint its stack): 0 of
/// 0 bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStack;

impl StackMeter for NoStack {
    fn peak_bytes(&self) -> u32 {
        0
    }
    fn size_bytes(&self) -> u32 {
        0
    }
}

/// No cost counter: every cost is 0, reported as [`CostUnit::Unmeasured`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClock;

impl Clock for NoClock {
    fn now(&mut self) -> u32 {
        0
    }
    fn cost(&self, _: u32, _: u32) -> u32 {
        0
    }
    fn unit(&self) -> CostUnit {
        CostUnit::Unmeasured
    }
    fn hz(&self) -> u32 {
        0
    }
}

/// Who answers: reported in [`Info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ident<'a> {
    /// The board name (at most [`MAX_NAME`] bytes; copied when the server is built).
    pub board: &'a str,
    /// The firmware version.
    pub firmware: [u16; 3],
    /// The checksum of the model file compiled in (its last 4 bytes).
    pub model_crc: u32,
}

/// Why a [`Server`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ServerError {
    /// The board name is longer than `MAX_NAME` bytes.
    NameTooLong,
    /// The model does not fit the protocol (more inputs than `MAX_FEATURES`, more classes than
    /// `MAX_LOGITS`, …): which limit, from [`check_dims`].
    ModelTooLarge(LimitError),
    /// The scratch buffer `S` is shorter than the model's [`Infer::scratch_len`].
    ScratchTooSmall,
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NameTooLong => "the board name is longer than MAX_NAME bytes",
            Self::ModelTooLarge(e) => return e.fmt(f),
            Self::ScratchTooSmall => "the scratch buffer is shorter than the model's scratch_len",
        })
    }
}

impl core::error::Error for ServerError {}

/// Serves protocol requests over one model. `S` is the scratch length (at least the model's
/// `Dims::scratch_len`), so the whole server can live in a `static` or on the stack.
pub struct Server<M, C, K, const S: usize> {
    model: M,
    clock: C,
    stack: K,
    info: Info,
    decoder: FrameDecoder<MAX_FRAME>,
    scratch: [f32; S],
    served: u32,
    rejected: u32,
}

impl<M, C, K, const S: usize> Server<M, C, K, S> {
    /// A server that is not set up yet: it answers until [`configure`](Self::configure)d, but
    /// with an [`Info`] of protocol 0, no board and no shape, which the host refuses. Its
    /// state is zero but for `model`, `clock` and `stack`, so a `static` that holds it costs no
    /// flash when they are zero too (it goes to `.bss`): for a front end that sets its server
    /// up at run time, as the agent's C API does.
    pub const fn unconfigured(model: M, clock: C, stack: K) -> Self {
        Self {
            model,
            clock,
            stack,
            info: Info {
                protocol: 0,
                board: heapless::String::new(),
                firmware: [0; 3],
                clock_hz: 0,
                cost_unit: CostUnit::Instructions,
                inputs: 0,
                hidden: heapless::Vec::new(),
                outputs: 0,
                model_crc: 0,
            },
            decoder: FrameDecoder::new(),
            scratch: [0.0; S],
            served: 0,
            rejected: 0,
        }
    }
}

impl<M, C, K, const S: usize> Server<M, C, K, S>
where
    M: Infer,
    C: Clock,
    K: StackMeter,
{
    /// A server for `model`, checking that its sizes fit the protocol and the scratch buffer.
    pub fn new(model: M, clock: C, stack: K, ident: Ident<'_>) -> Result<Self, ServerError> {
        let info = Self::describe(&model, &clock, ident)?;
        Ok(Self {
            model,
            clock,
            stack,
            info,
            decoder: FrameDecoder::new(),
            scratch: [0.0; S],
            served: 0,
            rejected: 0,
        })
    }

    /// Sets the server up (again) for `model`, in place, with the checks of
    /// [`new`](Self::new): the counters restart from zero and a partly received frame is
    /// forgotten. On error the server is left as it was.
    pub fn configure(
        &mut self,
        model: M,
        clock: C,
        stack: K,
        ident: Ident<'_>,
    ) -> Result<(), ServerError> {
        self.info = Self::describe(&model, &clock, ident)?;
        self.model = model;
        self.clock = clock;
        self.stack = stack;
        self.decoder.clear();
        self.served = 0;
        self.rejected = 0;
        Ok(())
    }

    /// The [`Info`] of `model` measured by `clock`, if the model fits the protocol and the
    /// scratch buffer and the board name fits [`MAX_NAME`].
    fn describe(model: &M, clock: &C, ident: Ident<'_>) -> Result<Info, ServerError> {
        let d = model.dims();
        check_dims(&d).map_err(ServerError::ModelTooLarge)?;
        if model.scratch_len() > S {
            return Err(ServerError::ScratchTooSmall);
        }
        let board = heapless::String::<MAX_NAME>::try_from(ident.board)
            .map_err(|_| ServerError::NameTooLong)?;
        Ok(Info {
            protocol: PROTOCOL_VERSION,
            board,
            firmware: ident.firmware,
            clock_hz: clock.hz(),
            cost_unit: clock.unit(),
            // In range: checked above.
            inputs: d.inputs() as u16,
            // Fits: `Dims` has at most MAX_LAYERS - 1 hidden widths, `Info` room for as many.
            hidden: heapless::Vec::from_slice(d.hidden()).unwrap_or_default(),
            outputs: d.outputs() as u16,
            model_crc: ident.model_crc,
        })
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        Stats {
            served: self.served,
            rejected: self.rejected,
            stack_peak: self.stack.peak_bytes(),
            stack_size: self.stack.size_bytes(),
        }
    }

    /// What [`Request::Info`] answers.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Runs the model on one raw row: the class, the logits and the measured cost.
    #[inline]
    pub fn infer(&mut self, features: &[f32]) -> Result<Inference, DeviceError> {
        let d = self.model.dims();
        if features.len() != d.inputs() {
            return Err(DeviceError::FeatureCount {
                expected: d.inputs() as u16,
                found: features.len().min(usize::from(u16::MAX)) as u16,
            });
        }
        let start = self.clock.now();
        // The inference must end before the second reading. The clock's reads are volatile
        // accesses, the arithmetic is not, and LLVM is free to move it across them: on the
        // Cortex-M0 it moved an int8 model's integer layers past the second reading, which
        // then timed 9,187 of its 16,375 instructions (issue 17). `black_box` makes the logits
        // needed before the second reading.
        let result = core::hint::black_box(self.model.infer(features, &mut self.scratch));
        let end = self.clock.now();
        let logits = result.map_err(|_| DeviceError::Model)?;
        let cost = self.clock.cost(start, end);
        Ok(Inference {
            class: argmax(logits) as u16,
            // Fits: `check_dims` bounded the outputs by MAX_LOGITS in `new`.
            logits: heapless::Vec::from_slice(logits).map_err(|_| DeviceError::Model)?,
            cost,
        })
    }

    /// Answers one request.
    pub fn handle(&mut self, request: &Request) -> Response {
        let response = match request {
            Request::Ping | Request::Info => Response::Info(self.info.clone()),
            Request::Infer { features } => match self.infer(features) {
                Ok(i) => Response::Inference(i),
                Err(e) => Response::Error(e),
            },
            Request::Stats => Response::Stats(self.stats()),
            Request::Reset => {
                self.served = 0;
                self.rejected = 0;
                // The reset itself is not counted, so the answer shows zeroed counters.
                return Response::Stats(self.stats());
            }
        };
        if matches!(response, Response::Error(_)) {
            self.rejected = self.rejected.wrapping_add(1);
        } else {
            self.served = self.served.wrapping_add(1);
        }
        response
    }

    /// Answers one decoded frame (or the error of a frame that could not be decoded).
    pub fn handle_frame(&mut self, frame: Decoded<RequestFrame>) -> ResponseFrame {
        match frame {
            Decoded::Ok(RequestFrame { id, request }) => ResponseFrame {
                id: Some(id),
                response: self.handle(&request),
            },
            Decoded::Err(e) => {
                self.rejected = self.rejected.wrapping_add(1);
                ResponseFrame {
                    id: None,
                    response: Response::Error(DeviceError::Frame(e)),
                }
            }
        }
    }

    /// Feeds one received byte. When it ends a frame, the response frame is encoded into `out`
    /// (at least [`MAX_FRAME`] bytes) and its length returned: send `out[..len]`.
    pub fn feed(&mut self, byte: u8, out: &mut [u8]) -> Option<usize> {
        let frame = self.decoder.push::<RequestFrame>(byte)?;
        let response = self.handle_frame(frame);
        // Every response fits MAX_FRAME (a unit test of `protocol`); a smaller `out` is the
        // caller's bug and is answered with silence rather than a panic.
        crate::protocol::encode(&response, out).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec as Vec;
    use crate::mlp::{Dims, Mlp, param_count};
    use crate::protocol::{FrameError, decode, encode};
    use crate::transform::{Fill, Standardizer};

    struct MockClock(u32);
    impl Clock for MockClock {
        fn now(&mut self) -> u32 {
            self.0 = self.0.wrapping_add(7);
            self.0
        }
        fn cost(&self, start: u32, end: u32) -> u32 {
            end.wrapping_sub(start) * 40
        }
        fn unit(&self) -> CostUnit {
            CostUnit::Instructions
        }
        fn hz(&self) -> u32 {
            25_000_000
        }
    }
    struct MockStack;
    impl StackMeter for MockStack {
        fn peak_bytes(&self) -> u32 {
            512
        }
        fn size_bytes(&self) -> u32 {
            4096
        }
    }

    const P: usize = param_count(3, 4, 2);
    type M = Model<[f32; 3], [f32; P]>;

    fn model() -> M {
        let dims = Dims::new(3, 4, 2).unwrap();
        let params = core::array::from_fn(|k| (k as f32 * 0.37).sin());
        let norm = Standardizer::new([1.0, 2.0, 3.0], [0.5, 1.0, 2.0], Fill::Mean).unwrap();
        Model::new(norm, Mlp::from_array(dims, params)).unwrap()
    }

    fn ident() -> Ident<'static> {
        Ident {
            board: "mock",
            firmware: [1, 2, 3],
            model_crc: 0xDEAD_BEEF,
        }
    }

    /// Sends `wire` byte by byte; returns every response.
    fn exchange(s: &mut Server<&M, MockClock, MockStack, 9>, wire: &[u8]) -> Vec<ResponseFrame> {
        let mut out = [0u8; MAX_FRAME];
        let mut got = Vec::new();
        for &b in wire {
            if let Some(n) = s.feed(b, &mut out) {
                got.push(decode(&mut out[..n - 1]).unwrap());
            }
        }
        got
    }

    fn frame(id: u32, request: Request) -> Vec<u8> {
        let mut out = [0u8; MAX_FRAME];
        let n = encode(&RequestFrame { id, request }, &mut out).unwrap();
        out[..n].to_vec()
    }

    fn features(v: &[f32]) -> Request {
        Request::Infer {
            features: v.iter().copied().collect(),
        }
    }

    #[test]
    fn infer_matches_the_model_bit_for_bit() {
        let m = model();
        let mut s = Server::new(&m, MockClock(0), MockStack, ident()).unwrap();
        let x = [0.3, -7.5, 1e-3];
        let got = exchange(&mut s, &frame(11, features(&x)));
        let mut scratch = [0.0; 9];
        let want = m.infer(&x, &mut scratch).unwrap();
        let [
            ResponseFrame {
                id: Some(11),
                response: Response::Inference(i),
            },
        ] = &got[..]
        else {
            panic!("{got:?}")
        };
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&i.logits), bits(want));
        assert_eq!(usize::from(i.class), argmax(want));
        assert_eq!(i.cost, 7 * 40);
    }

    #[test]
    fn info_ping_stats_reset() {
        let m = model();
        let mut s = Server::new(&m, MockClock(0), MockStack, ident()).unwrap();
        let mut wire = frame(1, Request::Ping);
        wire.extend(frame(2, Request::Info));
        wire.extend(frame(3, features(&[1.0, 2.0])));
        wire.extend(frame(4, Request::Stats));
        wire.extend(frame(5, Request::Reset));
        wire.extend(frame(6, Request::Stats));
        let got = exchange(&mut s, &wire);
        assert_eq!(got.len(), 6);
        let Response::Info(info) = &got[0].response else {
            panic!()
        };
        assert_eq!(
            (
                info.inputs,
                &info.hidden[..],
                info.outputs,
                info.board.as_str()
            ),
            (3, &[4u16][..], 2, "mock")
        );
        assert_eq!((info.clock_hz, info.model_crc), (25_000_000, 0xDEAD_BEEF));
        assert_eq!(got[1].response, got[0].response);
        assert_eq!(
            got[2].response,
            Response::Error(DeviceError::FeatureCount {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            got[3].response,
            Response::Stats(Stats {
                served: 2,
                rejected: 1,
                stack_peak: 512,
                stack_size: 4096
            })
        );
        let zero = Response::Stats(Stats {
            served: 0,
            rejected: 0,
            stack_peak: 512,
            stack_size: 4096,
        });
        assert_eq!(got[4].response, zero);
        assert_eq!(got[5].response, zero);
    }

    #[test]
    fn bad_frames_between_good_requests_are_answered_with_errors() {
        let m = model();
        let mut s = Server::new(&m, MockClock(0), MockStack, ident()).unwrap();
        let good = frame(1, features(&[1.0, 2.0, 3.0]));
        let mut corrupted = frame(2, features(&[1.0, 2.0, 3.0]));
        corrupted[5] ^= 0x04;
        let mut wire = Vec::new();
        wire.extend(&good);
        wire.extend(&corrupted);
        wire.extend(&good[..good.len() / 2]); // truncated …
        wire.push(0); // … and ended by the next frame's leading delimiter
        wire.extend(&good);
        wire.extend(core::iter::repeat_n(0x11, MAX_FRAME + 1));
        wire.push(0);
        wire.extend(&good);
        let got = exchange(&mut s, &wire);
        let kinds: Vec<_> = got
            .iter()
            .map(|r| match &r.response {
                Response::Inference(_) => Ok(r.id),
                Response::Error(DeviceError::Frame(e)) => Err(*e),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds.len(), 6);
        assert_eq!(kinds[0], Ok(Some(1)));
        assert_eq!(kinds[1], Err(FrameError::BadChecksum));
        assert!(kinds[2].is_err());
        assert_eq!(kinds[3], Ok(Some(1)));
        assert_eq!(kinds[4], Err(FrameError::Oversized));
        assert_eq!(kinds[5], Ok(Some(1)));
        assert_eq!((s.stats().served, s.stats().rejected), (3, 3));
    }

    #[test]
    fn construction_checks_sizes() {
        let m = model();
        assert_eq!(
            Server::<_, _, _, 8>::new(&m, MockClock(0), MockStack, ident()).err(),
            Some(ServerError::ScratchTooSmall)
        );
        let long = Ident {
            board: "a board name that is far too long",
            ..ident()
        };
        assert_eq!(
            Server::<_, _, _, 9>::new(&m, MockClock(0), MockStack, long).err(),
            Some(ServerError::NameTooLong)
        );
        // 20 classes: more logits than a response carries.
        let d = Dims::new(1, 1, 20).unwrap();
        let norm = Standardizer::new([0.0f32], [1.0f32], Fill::Mean).unwrap();
        let wide = Model::new(norm, Mlp::new(d, vec![0.0; d.param_count()]).unwrap()).unwrap();
        let e = Server::<_, _, _, 22>::new(&wide, MockClock(0), MockStack, ident()).err();
        assert_eq!(
            e,
            Some(ServerError::ModelTooLarge(LimitError::Logits { found: 20 }))
        );
        assert!(e.unwrap().to_string().contains("MAX_LOGITS = 16"));
    }
}
