//! The host↔device protocol: messages defined once, framed with COBS and checked with a CRC.
//!
//! A frame on the wire is
//!
//! ```text
//! COBS( postcard(message) ‖ CRC-32(postcard(message)) as 4 little-endian bytes ) ‖ 0x00
//! ```
//!
//! - [postcard](https://docs.rs/postcard) encodes the message (varints, `f32` as its 4
//!   little-endian bytes, so logits cross the link bit for bit);
//! - the [`crc`](crate::crc) of the encoded message catches corruption that COBS alone would let
//!   through (a flipped bit inside a frame still decodes);
//! - COBS (Cheshire & Baker 1999, "Consistent Overhead Byte Stuffing") removes every zero byte,
//!   so `0x00` delimits frames and a receiver resynchronises at the next delimiter after any
//!   damage. Empty frames (two delimiters in a row) are ignored: the host sends a delimiter
//!   *before* each frame too, so a frame cut short on the wire ends there instead of swallowing
//!   the next request.
//!
//! Every size is bounded: at most [`MAX_FEATURES`] inputs, [`MAX_LOGITS`] classes and
//! [`MAX_FRAME`] bytes per frame. A frame that is oversized, not valid COBS, shorter than its
//! checksum, corrupted or not a message is reported as a [`FrameError`] by [`FrameDecoder`],
//! which then carries on with the next frame; the device answers it with
//! [`Response::Error`].
//!
//! Encoding uses postcard's COBS serializer flavor with a CRC flavor inside it
//! ([`encode`]). Decoding does not use postcard's `CobsAccumulator`: it deserializes as soon as
//! a frame ends, and the checksum must be verified between COBS decoding and deserialization,
//! so [`FrameDecoder`] is the same accumulator with that step added.
//!
//! ```
//! use mlprobe_core::protocol::{encode, Decoded, FrameDecoder, Request, RequestFrame, MAX_FRAME};
//! let mut wire = [0u8; MAX_FRAME];
//! let n = encode(&RequestFrame { id: 7, request: Request::Stats }, &mut wire).unwrap();
//! let mut dec = FrameDecoder::<MAX_FRAME>::new();
//! let mut got = None;
//! for &b in &wire[..n] {
//!     if let Some(frame) = dec.push::<RequestFrame>(b) {
//!         got = Some(frame);
//!     }
//! }
//! assert_eq!(got, Some(Decoded::Ok(RequestFrame { id: 7, request: Request::Stats })));
//! ```

use crate::mlp::{Dims, MAX_LAYERS};
use core::fmt;
use heapless::{String, Vec};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Protocol version carried in [`Info`]; bumped on any incompatible message change.
pub const PROTOCOL_VERSION: u16 = 3;
/// Most input features an inference request carries.
pub const MAX_FEATURES: usize = 64;
/// Most logits (classes) an inference response carries.
pub const MAX_LOGITS: usize = 16;
/// Longest board name in [`Info`].
pub const MAX_NAME: usize = 24;
/// Longest message plus checksum, before COBS: an inference request with [`MAX_FEATURES`]
/// values (`4·64` bytes, length, tags and a 5-byte id) fits with room to spare.
pub const MAX_PAYLOAD: usize = 300;
/// Longest frame on the wire: COBS adds one byte per 254 and the delimiter.
pub const MAX_FRAME: usize = MAX_PAYLOAD + MAX_PAYLOAD.div_ceil(254) + 2;
/// Length of the checksum inside a frame.
pub const CRC_LEN: usize = 4;

/// A model dimension the protocol cannot carry: [`check_dims`]'s answer, which the firmware's
/// build script turns into a build error (naming the limit) and [`Server::new`] into
/// `ServerError::ModelTooLarge`.
///
/// [`Server::new`]: crate::server::Server::new
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LimitError {
    /// More inputs than an inference request carries ([`MAX_FEATURES`]).
    Features {
        /// The model's inputs.
        found: usize,
    },
    /// More classes than an inference response carries logits ([`MAX_LOGITS`]).
    Logits {
        /// The model's classes.
        found: usize,
    },
}

impl LimitError {
    /// The limit's name: the constant of this module (or the field) that sets it.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::Features { .. } => "MAX_FEATURES",
            Self::Logits { .. } => "MAX_LOGITS",
        }
    }

    /// The limit's value.
    pub const fn limit(&self) -> usize {
        match self {
            Self::Features { .. } => MAX_FEATURES,
            Self::Logits { .. } => MAX_LOGITS,
        }
    }

    /// What the model has.
    pub const fn found(&self) -> usize {
        match self {
            Self::Features { found } | Self::Logits { found } => *found,
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Self::Features { .. } => "inputs",
            Self::Logits { .. } => "classes",
        };
        write!(
            f,
            "the model has {} {what}, more than the device protocol carries ({} = {})",
            self.found(),
            self.name(),
            self.limit()
        )
    }
}

impl core::error::Error for LimitError {}

/// Bytes of `n` as a postcard varint.
const fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The longest frame on the wire of a message whose postcard encoding takes `message` bytes:
/// its checksum, COBS's code bytes (one per 254 bytes and one more), the delimiter.
const fn frame_len(message: usize) -> usize {
    let payload = message + CRC_LEN;
    payload + payload.div_ceil(254) + 2
}

/// The longest frame that a model with these dimensions sends or receives: an inference
/// request of `inputs` features, a response of `outputs` logits, or an [`Info`] response (every
/// other message is shorter than the latter: a unit test checks the bound against the
/// encoder).
pub const fn longest_frame(inputs: usize, outputs: usize) -> usize {
    // id (a u32 varint), variant, length, the values
    let request = 5 + 1 + varint_len(inputs) + 4 * inputs;
    // Some(id), variant, class (a u16 varint), length, logits, cost (a u32 varint)
    let response = 1 + 5 + 1 + 3 + varint_len(outputs) + 4 * outputs + 5;
    // Some(id), variant, protocol, board, firmware, clock, cost unit, inputs, hidden widths
    // (a length and up to MAX_LAYERS - 1 u16 varints), outputs, model CRC
    let info = 1
        + 5
        + 1
        + 3
        + varint_len(MAX_NAME)
        + MAX_NAME
        + 3 * 3
        + 5
        + 1
        + 3
        + 1
        + 3 * (MAX_LAYERS - 1)
        + 3
        + 5;
    let mut longest = info;
    if request > longest {
        longest = request;
    }
    if response > longest {
        longest = response;
    }
    frame_len(longest)
}

// Every model within the count limits fits a frame.
const _: () = assert!(longest_frame(MAX_FEATURES, MAX_LOGITS) <= MAX_FRAME);

/// Whether a model of these dimensions fits the protocol: its inputs in a request, its logits
/// in a response, its messages in a frame (its hidden widths always fit [`Info`]: `Dims`
/// bounds them). A `const fn`, so that a firmware can check its compiled-in model while it is
/// built.
pub const fn check_dims(dims: &Dims) -> Result<(), LimitError> {
    let (inputs, outputs) = (dims.inputs(), dims.outputs());
    if inputs > MAX_FEATURES {
        return Err(LimitError::Features { found: inputs });
    }
    if outputs > MAX_LOGITS {
        return Err(LimitError::Logits { found: outputs });
    }
    // Every message of a model within these counts fits a frame: `longest_frame` grows with
    // both, and the assertion above checks it at the largest counts (so no frame check here,
    // which cost the device flash for an error that cannot happen).
    Ok(())
}

/// What a received frame was wrong with. Sent back inside [`DeviceError::Frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the receive buffer allows (`MAX_FRAME` bytes).
    Oversized,
    /// The frame is not valid COBS.
    BadCobs,
    /// The frame is shorter than its checksum: truncated.
    Truncated,
    /// The checksum does not match the contents: the frame is corrupted.
    BadChecksum,
    /// The checksum matches but the contents are not a message of this protocol version.
    Malformed,
    /// The output buffer is too small for the encoded frame.
    BufferFull,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Oversized => "frame longer than the receive buffer (MAX_FRAME bytes)",
            Self::BadCobs => "frame is not valid COBS",
            Self::Truncated => "frame is shorter than its checksum: truncated",
            Self::BadChecksum => "frame checksum mismatch: corrupted",
            Self::Malformed => "frame checksum matches but its contents are not a message",
            Self::BufferFull => "output buffer too small for the frame",
        })
    }
}

impl core::error::Error for FrameError {}

/// An error the device answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DeviceError {
    /// The request frame could not be read.
    Frame(FrameError),
    /// The inference request has the wrong number of features.
    FeatureCount {
        /// Features of the model.
        expected: u16,
        /// Features in the request.
        found: u16,
    },
    /// The model rejected the input (should not happen once the count is right).
    Model,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Frame(e) => write!(f, "bad request frame: {e}"),
            Self::FeatureCount { expected, found } => {
                write!(
                    f,
                    "the model takes {expected} features, the request has {found}"
                )
            }
            Self::Model => f.write_str("the model rejected the input"),
        }
    }
}

impl core::error::Error for DeviceError {}

/// What the device's cost figures count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CostUnit {
    /// Guest instructions (QEMU with `-icount shift=0`, derived from SysTick ticks).
    Instructions,
    /// CPU cycles (DWT cycle counter on hardware).
    Cycles,
    /// Microseconds (a board with only a timer).
    Microseconds,
    /// Nothing: the device has no cost counter (a firmware whose agent was given none); its
    /// costs are 0.
    Unmeasured,
}

/// A request from the host.
// No allocator on the device: the bounded vector is the message, not a pointer to it.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Request {
    /// Liveness check: answered with [`Response::Info`].
    Ping,
    /// Describe the device and its model: answered with [`Response::Info`].
    Info,
    /// Run the model on one raw (unstandardised) row: answered with [`Response::Inference`].
    Infer {
        /// The raw feature values, in the model's input order.
        features: Vec<f32, MAX_FEATURES>,
    },
    /// Counters and the stack high-water mark: answered with [`Response::Stats`].
    Stats,
    /// Zero the counters: answered with [`Response::Stats`] (the zeroed counters).
    Reset,
}

/// A request with the id its response echoes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestFrame {
    /// Chosen by the host; echoed in the response.
    pub id: u32,
    /// The request.
    pub request: Request,
}

/// The device and its model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// [`PROTOCOL_VERSION`] of the firmware.
    pub protocol: u16,
    /// The board, e.g. `qemu-mps2-an386`.
    pub board: String<MAX_NAME>,
    /// Firmware version (`major.minor.patch` of the firmware crate).
    pub firmware: [u16; 3],
    /// CPU clock in Hz.
    pub clock_hz: u32,
    /// What [`Inference::cost`] counts.
    pub cost_unit: CostUnit,
    /// Model inputs.
    pub inputs: u16,
    /// Units of each hidden layer (none for a linear classifier).
    pub hidden: Vec<u16, { MAX_LAYERS - 1 }>,
    /// Model outputs (classes).
    pub outputs: u16,
    /// The checksum stored in the model file compiled in (its last 4 bytes), to tell which
    /// model answers.
    pub model_crc: u32,
}

/// The answer to one inference request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inference {
    /// The predicted class (argmax of the logits, first maximum on ties).
    pub class: u16,
    /// The logits, bit for bit as the device computed them.
    pub logits: Vec<f32, MAX_LOGITS>,
    /// Measured cost of the inference (standardisation and forward pass), in [`Info::cost_unit`].
    pub cost: u32,
}

/// Counters of the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Requests answered with a result.
    pub served: u32,
    /// Frames and requests answered with an error.
    pub rejected: u32,
    /// Most stack used since boot, in bytes (painted stack).
    pub stack_peak: u32,
    /// Stack size in bytes.
    pub stack_size: u32,
}

/// A response from the device.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Response {
    /// Answer to [`Request::Ping`] and [`Request::Info`].
    Info(Info),
    /// Answer to [`Request::Infer`].
    Inference(Inference),
    /// Answer to [`Request::Stats`] and [`Request::Reset`].
    Stats(Stats),
    /// The request or its frame was rejected.
    Error(DeviceError),
}

/// A response with the id of its request (`None` when the request frame could not be read).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseFrame {
    /// The request's id.
    pub id: Option<u32>,
    /// The response.
    pub response: Response,
}

/// Encodes one message as a complete frame (COBS, delimiter included) into `out` and returns
/// its length. `out` of [`MAX_FRAME`] bytes fits every message of this module.
///
/// The message is serialized into `out` itself, behind room for COBS's code bytes, its
/// checksum appended, and the whole COBS-encoded in place towards the front of `out`: no
/// second buffer. (Serializing through a COBS flavor with a CRC flavor inside it gave the same
/// bytes, but every field's push went through both flavors, inlined at each call site: about
/// 0.5 KB more flash in a firmware. Serializing into a buffer on the stack cost its 300 bytes
/// of stack and the code that zeroed them.)
pub fn encode<T: Serialize>(msg: &T, out: &mut [u8]) -> Result<usize, FrameError> {
    // COBS adds at most one byte per 254 and one more; the frame ends with its delimiter.
    let room = out.len() / 254 + 1;
    let end = out.len().saturating_sub(1 + CRC_LEN);
    let body = out.get_mut(room..end).ok_or(FrameError::BufferFull)?;
    let fits = body.len() >= MAX_PAYLOAD - CRC_LEN;
    let body = if fits {
        &mut body[..MAX_PAYLOAD - CRC_LEN]
    } else {
        body
    };
    let n = match postcard::to_slice(msg, body) {
        Ok(written) => written.len(),
        Err(_) if fits => return Err(FrameError::Oversized),
        Err(_) => return Err(FrameError::BufferFull),
    };
    let crc = crate::crc::crc32(&out[room..room + n]).to_le_bytes();
    out[room + n..room + n + CRC_LEN].copy_from_slice(&crc);
    let len = cobs_in_place(out, room, n + CRC_LEN).ok_or(FrameError::BufferFull)?;
    *out.get_mut(len).ok_or(FrameError::BufferFull)? = 0;
    Ok(len + 1)
}

/// COBS-encodes the `n` bytes at `buf[from..]` into the front of `buf` and returns the encoded
/// length, with the `cobs` crate's state machine (so the bytes are those of
/// `cobs::try_encode`). In place is safe when `from` is at least COBS's overhead for `n`
/// bytes (`n / 254 + 1`): the encoder then never writes past the byte it reads. `None` when
/// `buf` is too short.
fn cobs_in_place(buf: &mut [u8], from: usize, n: usize) -> Option<usize> {
    use cobs::PushResult;
    if n == 0 {
        return Some(0);
    }
    let mut state = cobs::EncoderState::default();
    // Byte 0 is the first code byte, written when its block ends.
    let mut w = 1;
    for r in from..from + n {
        let byte = *buf.get(r)?;
        match state.push(byte) {
            PushResult::AddSingle(b) => {
                *buf.get_mut(w)? = b;
                w += 1;
            }
            PushResult::ModifyFromStartAndSkip((code_at, code)) => {
                *buf.get_mut(code_at)? = code;
                w += 1;
            }
            PushResult::ModifyFromStartAndPushAndSkip((code_at, code, b)) => {
                *buf.get_mut(code_at)? = code;
                *buf.get_mut(w)? = b;
                // A block of 254 that ends the input has no code byte after it.
                w += if r + 1 == from + n { 1 } else { 2 };
            }
        }
    }
    let (code_at, code) = state.finalize();
    if code_at < w {
        *buf.get_mut(code_at)? = code;
    }
    Some(w)
}

/// Decodes the contents of one frame (without its delimiter), in place.
pub fn decode<T: DeserializeOwned>(frame: &mut [u8]) -> Result<T, FrameError> {
    let n = cobs::decode_in_place(frame).map_err(|_| FrameError::BadCobs)?;
    let body = frame.get(..n).ok_or(FrameError::BadCobs)?;
    if n < CRC_LEN + 1 {
        return Err(FrameError::Truncated);
    }
    let (msg, tail) = body.split_at(n - CRC_LEN);
    let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
    if crate::crc::crc32(msg) != stored {
        return Err(FrameError::BadChecksum);
    }
    match postcard::take_from_bytes::<T>(msg) {
        Ok((value, [])) => Ok(value),
        _ => Err(FrameError::Malformed),
    }
}

/// One frame out of a [`FrameDecoder`].
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded<T> {
    /// A message.
    Ok(T),
    /// A frame that could not be read; the decoder goes on with the next one.
    Err(FrameError),
}

impl<T> Decoded<T> {
    /// As a `Result`.
    pub fn into_result(self) -> Result<T, FrameError> {
        match self {
            Self::Ok(v) => Ok(v),
            Self::Err(e) => Err(e),
        }
    }
}

/// Collects bytes into frames and decodes them: postcard's `CobsAccumulator` with the checksum
/// checked. `N` bounds a frame on the wire (without its delimiter); [`MAX_FRAME`] fits every
/// message. A longer frame is dropped up to its delimiter and reported as
/// [`FrameError::Oversized`].
#[derive(Clone, Debug)]
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
        }
    }

    /// Forgets a partly received frame.
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = false;
    }

    /// Bytes of the frame received so far.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Feeds one byte; returns a decoded frame (or its error) when `byte` is a delimiter that
    /// ends a non-empty frame.
    pub fn push<T: DeserializeOwned>(&mut self, byte: u8) -> Option<Decoded<T>> {
        if byte != 0 {
            if self.len < N {
                self.buf[self.len] = byte;
                self.len += 1;
            } else {
                self.overflow = true;
            }
            return None;
        }
        let (len, overflow) = (self.len, self.overflow);
        self.clear();
        if overflow {
            return Some(Decoded::Err(FrameError::Oversized));
        }
        if len == 0 {
            return None;
        }
        Some(match decode(&mut self.buf[..len]) {
            Ok(v) => Decoded::Ok(v),
            Err(e) => Decoded::Err(e),
        })
    }

    /// Feeds bytes until a frame ends; returns it with the bytes not yet fed, or `None` when all
    /// of `bytes` were consumed without completing a frame.
    pub fn feed<'a, T: DeserializeOwned>(
        &mut self,
        bytes: &'a [u8],
    ) -> Option<(Decoded<T>, &'a [u8])> {
        for (i, &b) in bytes.iter().enumerate() {
            if let Some(d) = self.push(b) {
                return Some((d, &bytes[i + 1..]));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;

    fn frame<T: Serialize>(msg: &T) -> StdVec<u8> {
        let mut out = [0u8; MAX_FRAME];
        let n = encode(msg, &mut out).unwrap();
        out[..n].to_vec()
    }

    fn decode_all<T: DeserializeOwned>(bytes: &[u8]) -> StdVec<Decoded<T>> {
        let mut d = FrameDecoder::<MAX_FRAME>::new();
        bytes.iter().filter_map(|&b| d.push(b)).collect()
    }

    fn infer(id: u32, n: usize) -> RequestFrame {
        let features = (0..n).map(|k| k as f32 * 1.5 - 3.0).collect();
        RequestFrame {
            id,
            request: Request::Infer { features },
        }
    }

    /// One message of every request variant, with ids that take one to five varint bytes.
    fn golden_requests() -> [RequestFrame; 5] {
        let r = |id, request| RequestFrame { id, request };
        [
            r(1, Request::Ping),
            r(300, Request::Info),
            r(
                70_000,
                Request::Infer {
                    features: [1.0, -2.5, 0.0].into_iter().collect(),
                },
            ),
            r(u32::MAX, Request::Stats),
            r(0, Request::Reset),
        ]
    }

    /// One message of every response variant (and of every `DeviceError` variant).
    fn golden_responses() -> [ResponseFrame; 6] {
        let r = |id, response| ResponseFrame { id, response };
        [
            r(
                Some(300),
                Response::Info(Info {
                    protocol: PROTOCOL_VERSION,
                    board: String::try_from("qemu-mps2-an386").unwrap(),
                    firmware: [0, 1, 0],
                    clock_hz: 25_000_000,
                    cost_unit: CostUnit::Instructions,
                    inputs: 13,
                    hidden: Vec::from_slice(&[32]).unwrap(),
                    outputs: 3,
                    model_crc: 0xD806_A776,
                }),
            ),
            r(
                Some(70_000),
                Response::Inference(Inference {
                    class: 1,
                    logits: [-0.0, 1.5, f32::MIN_POSITIVE].into_iter().collect(),
                    cost: 1280,
                }),
            ),
            r(
                Some(u32::MAX),
                Response::Stats(Stats {
                    served: 178,
                    rejected: 1,
                    stack_peak: 1220,
                    stack_size: 8172,
                }),
            ),
            r(
                None,
                Response::Error(DeviceError::Frame(FrameError::BadChecksum)),
            ),
            r(
                Some(5),
                Response::Error(DeviceError::FeatureCount {
                    expected: 13,
                    found: 300,
                }),
            ),
            r(Some(0), Response::Error(DeviceError::Model)),
        ]
    }

    /// Golden frames: the exact bytes on the wire for every request and response variant, so
    /// that an upgrade of postcard, COBS or the CRC cannot change the protocol silently.
    ///
    /// Generated once from this module's encoder (postcard 1.2, cobs 0.3, crc 3.4) and checked
    /// independently of it: a short Python script built each frame from postcard's wire
    /// specification (varints, `f32` as 4 little-endian bytes, enum variants by index, `Option`
    /// as 0/1), `zlib.crc32` (CRC-32/ISO-HDLC) appended little-endian, and COBS as in Cheshire
    /// & Baker's paper, and got the same bytes for all eleven (the `Info` frame again for
    /// protocol 2, whose `hidden` became a list of widths, and for protocol 3: the script
    /// re-encoded it with the version byte changed). For instance `Ping` with id 1 is
    /// the message `01 00` (id, variant 0) and its CRC `be 23 c2 58`; COBS writes `01 00` as
    /// `02 01` and the four CRC bytes as `05 be 23 c2 58`; then the delimiter `00`.
    #[test]
    fn golden_frames() {
        let requests: [&[u8]; 5] = [
            &[0x02, 0x01, 0x05, 0xbe, 0x23, 0xc2, 0x58, 0x00],
            &[0x08, 0xac, 0x02, 0x01, 0x02, 0x2f, 0x12, 0x6a, 0x00],
            &[
                0x06, 0xf0, 0xa2, 0x04, 0x02, 0x03, 0x01, 0x03, 0x80, 0x3f, 0x01, 0x03, 0x20, 0xc0,
                0x01, 0x01, 0x01, 0x05, 0x23, 0x61, 0x59, 0xf4, 0x00,
            ],
            &[
                0x0b, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x03, 0x8a, 0xb2, 0x6e, 0xe1, 0x00,
            ],
            &[0x01, 0x06, 0x04, 0xe6, 0xd6, 0xb4, 0x46, 0x00],
        ];
        for (msg, wire) in golden_requests().iter().zip(requests) {
            assert_eq!(frame(msg), wire, "{msg:?}");
            assert_eq!(decode_all::<RequestFrame>(wire), [Decoded::Ok(msg.clone())]);
        }
        let responses: [&[u8]; 6] = [
            &[
                // Protocol 3 (`0x03` after the variant): `hidden` is a list (length 1, then 32).
                0x04, 0x01, 0xac, 0x02, 0x12, 0x03, 0x0f, 0x71, 0x65, 0x6d, 0x75, 0x2d, 0x6d, 0x70,
                0x73, 0x32, 0x2d, 0x61, 0x6e, 0x33, 0x38, 0x36, 0x02, 0x01, 0x05, 0xc0, 0xf0, 0xf5,
                0x0b, 0x0e, 0x0d, 0x01, 0x20, 0x03, 0xf6, 0xce, 0x9a, 0xc0, 0x0d, 0xd1, 0x34, 0x94,
                0x85, 0x00,
            ],
            &[
                0x08, 0x01, 0xf0, 0xa2, 0x04, 0x01, 0x01, 0x03, 0x01, 0x01, 0x02, 0x80, 0x01, 0x03,
                0xc0, 0x3f, 0x01, 0x02, 0x80, 0x07, 0x80, 0x0a, 0x64, 0x72, 0xb4, 0xe4, 0x00,
            ],
            &[
                0x13, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x02, 0xb2, 0x01, 0x01, 0xc4, 0x09, 0xec,
                0x3f, 0xff, 0x9e, 0x26, 0xd2, 0x00,
            ],
            &[0x01, 0x02, 0x03, 0x06, 0x03, 0xff, 0x30, 0x0b, 0xba, 0x00],
            &[
                0x0c, 0x01, 0x05, 0x03, 0x01, 0x0d, 0xac, 0x02, 0x56, 0x59, 0xae, 0x70, 0x00,
            ],
            &[0x02, 0x01, 0x07, 0x03, 0x02, 0x96, 0x8a, 0xdb, 0x5c, 0x00],
        ];
        for (msg, wire) in golden_responses().iter().zip(responses) {
            assert_eq!(frame(msg), wire, "{msg:?}");
            assert_eq!(
                decode_all::<ResponseFrame>(wire),
                [Decoded::Ok(msg.clone())]
            );
        }
    }

    #[test]
    fn round_trip_every_message() {
        let reqs = [
            RequestFrame {
                id: 0,
                request: Request::Ping,
            },
            RequestFrame {
                id: 1,
                request: Request::Info,
            },
            infer(2, 13),
            RequestFrame {
                id: u32::MAX,
                request: Request::Stats,
            },
            RequestFrame {
                id: 4,
                request: Request::Reset,
            },
        ];
        for r in &reqs {
            let f = frame(r);
            assert_eq!(*f.last().unwrap(), 0);
            assert!(!f[..f.len() - 1].contains(&0), "COBS removes zeros");
            assert_eq!(decode_all::<RequestFrame>(&f), [Decoded::Ok(r.clone())]);
        }
        let resp = ResponseFrame {
            id: Some(9),
            response: Response::Inference(Inference {
                class: 2,
                logits: [f32::MIN_POSITIVE / 2.0, -0.0, f32::MAX]
                    .into_iter()
                    .collect(),
                cost: 1234,
            }),
        };
        let got = decode_all::<ResponseFrame>(&frame(&resp));
        assert_eq!(got, [Decoded::Ok(resp.clone())]);
        // Bit for bit, including the sign of zero and subnormals.
        if let [
            Decoded::Ok(ResponseFrame {
                response: Response::Inference(i),
                ..
            }),
        ] = &got[..]
        {
            assert_eq!(i.logits[1].to_bits(), (-0.0f32).to_bits());
            assert_eq!(i.logits[0].to_bits(), (f32::MIN_POSITIVE / 2.0).to_bits());
        }
    }

    #[test]
    fn largest_messages_fit_a_frame() {
        let f = frame(&infer(u32::MAX, MAX_FEATURES));
        assert!(f.len() <= MAX_FRAME, "{} > {MAX_FRAME}", f.len());
        let info = ResponseFrame {
            id: Some(u32::MAX),
            response: Response::Info(Info {
                protocol: u16::MAX,
                board: String::try_from("x".repeat(MAX_NAME).as_str()).unwrap(),
                firmware: [u16::MAX; 3],
                clock_hz: u32::MAX,
                cost_unit: CostUnit::Cycles,
                inputs: u16::MAX,
                hidden: Vec::from_slice(&[u16::MAX; MAX_LAYERS - 1]).unwrap(),
                outputs: u16::MAX,
                model_crc: u32::MAX,
            }),
        };
        assert!(frame(&info).len() <= MAX_FRAME);
        let logits = ResponseFrame {
            id: Some(u32::MAX),
            response: Response::Inference(Inference {
                class: u16::MAX,
                logits: core::iter::repeat_n(1.0, MAX_LOGITS).collect(),
                cost: u32::MAX,
            }),
        };
        assert!(frame(&logits).len() <= MAX_FRAME);
    }

    #[test]
    fn check_dims_names_each_limit() {
        let d = |i, h: &[usize], o| Dims::deep(i, h, o).unwrap();
        assert_eq!(check_dims(&d(13, &[32], 3)), Ok(()));
        assert_eq!(
            check_dims(&d(MAX_FEATURES, &[256; MAX_LAYERS - 1], MAX_LOGITS)),
            Ok(())
        );
        let e = check_dims(&d(13, &[32], MAX_LOGITS + 1)).unwrap_err();
        assert_eq!(e, LimitError::Logits { found: 17 });
        assert_eq!(
            e.to_string(),
            "the model has 17 classes, more than the device protocol carries (MAX_LOGITS = 16)"
        );
        let e = check_dims(&d(MAX_FEATURES + 1, &[32], 3)).unwrap_err();
        assert_eq!((e.name(), e.found(), e.limit()), ("MAX_FEATURES", 65, 64));
        // In a const, as the firmware checks its model.
        const FITS: Result<(), LimitError> = match Dims::new(13, 32, 3) {
            Ok(d) => check_dims(&d),
            Err(_) => panic!(),
        };
        const TOO_MANY: Result<(), LimitError> = match Dims::new(13, 32, 20) {
            Ok(d) => check_dims(&d),
            Err(_) => panic!(),
        };
        assert_eq!(FITS, Ok(()));
        assert_eq!(TOO_MANY.unwrap_err().name(), "MAX_LOGITS");
    }

    #[test]
    fn longest_frame_bounds_every_message_of_a_model() {
        let info = ResponseFrame {
            id: Some(u32::MAX),
            response: Response::Info(Info {
                protocol: u16::MAX,
                board: String::try_from("x".repeat(MAX_NAME).as_str()).unwrap(),
                firmware: [u16::MAX; 3],
                clock_hz: u32::MAX,
                cost_unit: CostUnit::Cycles,
                inputs: u16::MAX,
                hidden: Vec::from_slice(&[u16::MAX; MAX_LAYERS - 1]).unwrap(),
                outputs: u16::MAX,
                model_crc: u32::MAX,
            }),
        };
        let error = ResponseFrame {
            id: Some(u32::MAX),
            response: Response::Error(DeviceError::FeatureCount {
                expected: u16::MAX,
                found: u16::MAX,
            }),
        };
        let stats = ResponseFrame {
            id: Some(u32::MAX),
            response: Response::Stats(Stats {
                served: u32::MAX,
                rejected: u32::MAX,
                stack_peak: u32::MAX,
                stack_size: u32::MAX,
            }),
        };
        let fixed = [&info, &error, &stats].map(|m| frame(m).len());
        for inputs in [1, 2, 13, 31, 32, MAX_FEATURES] {
            for outputs in [1, 2, 3, 10, MAX_LOGITS] {
                let bound = longest_frame(inputs, outputs);
                let request = frame(&infer(u32::MAX, inputs)).len();
                let response = frame(&ResponseFrame {
                    id: Some(u32::MAX),
                    response: Response::Inference(Inference {
                        class: u16::MAX,
                        logits: core::iter::repeat_n(f32::MAX, outputs).collect(),
                        cost: u32::MAX,
                    }),
                })
                .len();
                assert!(request.max(response) <= bound, "{inputs}-{outputs}");
                assert!(fixed.iter().all(|&n| n <= bound), "{inputs}-{outputs}");
            }
        }
    }

    /// The in-place encoder against the `cobs` crate's `try_encode` (the reference): the same
    /// bytes for every length from 0 to 600 (blocks of 254 ending exactly at the end, or one
    /// byte before or after it), with no zeros, all zeros, and zeros at random places.
    #[test]
    fn cobs_in_place_gives_the_bytes_of_the_cobs_crate() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for n in 0..=600usize {
            for kind in 0..3 {
                let input: StdVec<u8> = (0..n)
                    .map(|_| match kind {
                        0 => (next() % 255 + 1) as u8,
                        1 => 0,
                        _ => (next() % 40).saturating_sub(20) as u8,
                    })
                    .collect();
                let mut expected = vec![0u8; n + n / 254 + 2];
                let len = cobs::try_encode(&input, &mut expected).unwrap();
                let from = n / 254 + 1;
                let mut buf = vec![0xAAu8; from + n];
                buf[from..].copy_from_slice(&input);
                let got = cobs_in_place(&mut buf, from, n).unwrap();
                assert_eq!(&buf[..got], &expected[..len], "n {n}, kind {kind}");
            }
        }
        // Too short a buffer is an error, not a panic.
        assert_eq!(cobs_in_place(&mut [0u8; 3], 1, 5), None);
    }

    #[test]
    fn encode_into_a_small_buffer_is_an_error() {
        let mut out = [0u8; 8];
        assert_eq!(encode(&infer(1, 13), &mut out), Err(FrameError::BufferFull));
        assert_eq!(encode(&infer(1, 13), &mut []), Err(FrameError::BufferFull));
    }

    #[test]
    fn empty_frames_are_ignored() {
        assert!(decode_all::<RequestFrame>(&[0, 0, 0]).is_empty());
        assert!(decode_all::<RequestFrame>(&[]).is_empty());
    }

    #[test]
    fn truncated_frame_is_an_error_and_the_next_frame_decodes() {
        let good = frame(&infer(5, 13));
        for cut in 1..good.len() - 1 {
            let mut wire = good[..cut].to_vec();
            wire.push(0); // the host's leading delimiter of the next frame
            wire.extend_from_slice(&good);
            let got = decode_all::<RequestFrame>(&wire);
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert!(matches!(got[0], Decoded::Err(_)), "cut at {cut}");
            assert_eq!(got[1], Decoded::Ok(infer(5, 13)));
        }
        // Shorter than a checksum.
        let got = decode_all::<RequestFrame>(&[3, 1, 2, 0]);
        assert_eq!(got, [Decoded::Err(FrameError::Truncated)]);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let good = frame(&infer(6, 13));
        for at in 0..good.len() - 1 {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[at] ^= 1 << bit;
                let got = decode_all::<RequestFrame>(&bad);
                // A flip may create a zero byte, splitting the frame: every piece is an error.
                assert!(!got.is_empty(), "byte {at} bit {bit}");
                assert!(
                    got.iter().all(|d| matches!(d, Decoded::Err(_))),
                    "byte {at} bit {bit}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn oversized_frame_is_dropped_to_its_delimiter() {
        let mut wire = vec![0x55u8; MAX_FRAME + 10];
        wire.push(0);
        wire.extend_from_slice(&frame(&infer(8, 3)));
        let got = decode_all::<RequestFrame>(&wire);
        assert_eq!(
            got,
            [
                Decoded::Err(FrameError::Oversized),
                Decoded::Ok(infer(8, 3))
            ]
        );
    }

    #[test]
    fn bad_cobs_and_malformed_contents() {
        // A COBS code pointing past the end of the frame.
        assert_eq!(
            decode_all::<RequestFrame>(&[9, 1, 2, 0]),
            [Decoded::Err(FrameError::BadCobs)]
        );
        // A correct checksum over bytes that are not a request: variant tag 200.
        let mut body = vec![1u8, 200];
        body.extend_from_slice(&crate::crc::crc32(&body).to_le_bytes());
        let mut wire = vec![0u8; body.len() + 3];
        let n = cobs::encode(&body, &mut wire);
        wire.truncate(n);
        wire.push(0);
        assert_eq!(
            decode_all::<RequestFrame>(&wire),
            [Decoded::Err(FrameError::Malformed)]
        );
        // Trailing bytes after a valid message are malformed too.
        let mut body = vec![1u8, 2, 0xAA];
        body.extend_from_slice(&crate::crc::crc32(&body).to_le_bytes());
        let mut wire = vec![0u8; body.len() + 3];
        let n = cobs::encode(&body, &mut wire);
        wire.truncate(n);
        wire.push(0);
        assert_eq!(
            decode_all::<RequestFrame>(&wire),
            [Decoded::Err(FrameError::Malformed)]
        );
        // Too many features for the bounded vector.
        let mut body = vec![1u8, 2, (MAX_FEATURES + 1) as u8];
        body.extend(core::iter::repeat_n(0x3F, 4 * (MAX_FEATURES + 1)));
        body.extend_from_slice(&crate::crc::crc32(&body).to_le_bytes());
        let mut wire = vec![0u8; body.len() + 8];
        let n = cobs::encode(&body, &mut wire);
        wire.truncate(n);
        wire.push(0);
        assert_eq!(
            decode_all::<RequestFrame>(&wire),
            [Decoded::Err(FrameError::Malformed)]
        );
    }

    #[test]
    fn feed_returns_the_rest() {
        let mut wire = frame(&infer(1, 2));
        wire.extend_from_slice(&frame(&infer(2, 2)));
        let mut d = FrameDecoder::<MAX_FRAME>::new();
        let (first, rest) = d.feed::<RequestFrame>(&wire).unwrap();
        assert_eq!(first, Decoded::Ok(infer(1, 2)));
        let (second, rest) = d.feed::<RequestFrame>(rest).unwrap();
        assert_eq!(second.into_result(), Ok(infer(2, 2)));
        assert!(rest.is_empty());
        assert!(d.feed::<RequestFrame>(&[1, 2]).is_none());
        assert_eq!(d.pending(), 2);
    }
}
