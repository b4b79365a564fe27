//! The device server (`mlprobe_core::server::Server::feed`) over a small compiled-in model: no
//! panic on any byte stream, every reply is a frame that decodes as a `ResponseFrame`, and the
//! counters never count more frames than were answered.
//!
//! Input as for the `frame` target: a mode byte; even: raw wire bytes; odd: a separator byte,
//! then message bodies sent as well-formed frames, so requests reach the model.
use mlprobe_core::mlp::{Dims, Mlp, Model};
use mlprobe_core::protocol::{CostUnit, MAX_FRAME, Response, ResponseFrame, decode};
use mlprobe_core::server::{Clock, Ident, Server, StackMeter};
use mlprobe_core::transform::{Fill, Standardizer};

use super::common::frame;

struct Ticks(u32);
impl Clock for Ticks {
    fn now(&mut self) -> u32 {
        self.0 = self.0.wrapping_add(13);
        self.0
    }
    fn cost(&self, start: u32, end: u32) -> u32 {
        end.wrapping_sub(start)
    }
    fn unit(&self) -> CostUnit {
        CostUnit::Cycles
    }
    fn hz(&self) -> u32 {
        64_000_000
    }
}

struct Stack;
impl StackMeter for Stack {
    fn peak_bytes(&self) -> u32 {
        512
    }
    fn size_bytes(&self) -> u32 {
        4096
    }
}

/// One execution of the `server` target.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let wire: Vec<u8> = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let Some((&sep, rest)) = rest.split_first() else {
            return;
        };
        rest.split(|&b| b == sep).flat_map(frame).collect()
    };

    // 3 inputs, 4 hidden, 2 classes; parameters 0.1·i − 1 (any finite values do).
    let dims = Dims::new(3, 4, 2).unwrap();
    let params: Vec<f32> = (0..dims.param_count())
        .map(|i| 0.1 * i as f32 - 1.0)
        .collect();
    let norm =
        Standardizer::new(vec![0.5f32, -1.0, 2.0], vec![1.0f32, 0.5, 3.0], Fill::Mean).unwrap();
    let model = Model::new(norm, Mlp::new(dims, params).unwrap()).unwrap();
    let ident = Ident {
        board: "fuzz",
        firmware: [0, 1, 0],
        model_crc: 0x1234_5678,
    };
    let mut server = Server::<_, _, _, 16>::new(&model, Ticks(0), Stack, ident).unwrap();

    let mut out = [0u8; MAX_FRAME];
    let mut replies = 0u32;
    for &b in &wire {
        if let Some(n) = server.feed(b, &mut out) {
            replies += 1;
            assert!((1..=MAX_FRAME).contains(&n) && out[n - 1] == 0);
            let reply: ResponseFrame =
                decode(&mut out[..n - 1]).expect("the server's reply decodes");
            if let Response::Stats(s) = reply.response {
                // Counted before this request (a `Stats`) or zeroed (a `Reset`).
                assert!(
                    u64::from(s.served) + u64::from(s.rejected) < u64::from(replies),
                    "{s:?}"
                );
            }
        }
    }
    // Every frame is answered and counted once, unless a `Reset` zeroed the counters.
    let s = server.stats();
    assert!(
        u64::from(s.served) + u64::from(s.rejected) <= u64::from(replies),
        "{s:?} after {replies}"
    );
}
