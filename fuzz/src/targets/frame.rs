//! The protocol's frame decoder (`mlprobe_core::protocol::FrameDecoder` and `decode`) for both
//! directions: no panic on any byte stream, and every message decoded re-encodes to a frame that
//! decodes to a message with the same encoding.
//!
//! Input: a mode byte. Even: the rest is raw wire bytes. Odd: the next byte is a separator and
//! the rest is message bodies split on it, each sent as a well-formed frame (checksum appended,
//! COBS-encoded, delimited), so postcard sees arbitrary bodies past the checksum.
use mlprobe_core::protocol::{
    Decoded, FrameDecoder, MAX_FRAME, RequestFrame, ResponseFrame, decode, encode,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::common::frame;

fn round_trip<T: Serialize + DeserializeOwned>(msg: &T) {
    let mut wire = [0u8; MAX_FRAME];
    let n = encode(msg, &mut wire).expect("a decoded message re-encodes");
    assert_eq!(wire[n - 1], 0, "a frame ends with its delimiter");
    // `decode` works in place: on a copy, to compare the frames after.
    let again: T = decode(&mut wire[..n - 1].to_vec()).expect("a re-encoded frame decodes");
    let mut wire2 = [0u8; MAX_FRAME];
    let n2 = encode(&again, &mut wire2).expect("re-encodes");
    assert_eq!(&wire[..n], &wire2[..n2]);
}

fn stream<T: Serialize + DeserializeOwned>(bytes: &[u8]) {
    let mut dec = FrameDecoder::<MAX_FRAME>::new();
    for &b in bytes {
        if let Some(Decoded::Ok(msg)) = dec.push::<T>(b) {
            round_trip(&msg);
        }
        assert!(dec.pending() <= MAX_FRAME);
    }
    // `feed` over the same bytes sees the same frames.
    let mut dec = FrameDecoder::<MAX_FRAME>::new();
    let mut rest = bytes;
    while let Some((_, tail)) = dec.feed::<T>(rest) {
        assert!(tail.len() < rest.len());
        rest = tail;
    }
}

/// One execution of the `frame` target.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let wire = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let Some((&sep, rest)) = rest.split_first() else {
            return;
        };
        rest.split(|&b| b == sep).flat_map(frame).collect()
    };
    stream::<RequestFrame>(&wire);
    stream::<ResponseFrame>(&wire);
    // `decode` on the whole input as one frame's contents.
    let _ = decode::<RequestFrame>(&mut rest.to_vec());
    let _ = decode::<ResponseFrame>(&mut rest.to_vec());
}
