//! The agent over an in-memory transport: what a host sends, byte for byte, and what the agent
//! answers, decoded with core's protocol.

extern crate std;

use super::*;
use core::convert::Infallible;
use mlprobe_core::protocol::{
    DeviceError, Request, RequestFrame, Response, ResponseFrame, decode, encode,
};
use std::vec::Vec;

/// A linear model: `out[k] = Σ_i (k + 1)·x[i]`, failing on a negative first feature.
struct Linear;

impl Inference for Linear {
    fn dims(&self) -> Dims {
        Dims::deep(3, &[], 2).unwrap()
    }
    fn infer(&mut self, x: &[f32], out: &mut [f32]) -> Result<(), Failed> {
        if x[0] < 0.0 {
            return Err(Failed);
        }
        for (k, o) in out.iter_mut().enumerate() {
            *o = x.iter().map(|v| v * (k + 1) as f32).sum();
        }
        Ok(())
    }
}

/// A cycle counter that advances 100 per reading.
struct Ticks(u32);

impl Clock for Ticks {
    fn now(&mut self) -> u32 {
        self.0 += 100;
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

/// A transport: reads come from `rx` at most `chunk` bytes at a time, writes go to `tx`.
struct Wire {
    rx: Vec<u8>,
    at: usize,
    chunk: usize,
    tx: Vec<u8>,
}

impl embedded_io::ErrorType for Wire {
    type Error = Infallible;
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.chunk).min(self.rx.len() - self.at);
        buf[..n].copy_from_slice(&self.rx[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        self.tx.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

fn frame(id: u32, request: Request) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = encode(&RequestFrame { id, request }, &mut out).unwrap();
    out[..n].to_vec()
}

fn infer(x: &[f32]) -> Request {
    Request::Infer {
        features: x.iter().copied().collect(),
    }
}

/// Everything the agent answers to `rx`, read `chunk` bytes at a time.
fn exchange<M: Infer, C: Clock, K: StackMeter, const S: usize>(
    agent: &mut Agent<M, C, K, S>,
    rx: Vec<u8>,
    chunk: usize,
) -> Vec<ResponseFrame> {
    let mut wire = Wire {
        rx,
        at: 0,
        chunk,
        tx: Vec::new(),
    };
    while wire.at < wire.rx.len() {
        agent.poll(&mut wire).unwrap();
    }
    wire.tx
        .split_mut(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| decode(f).unwrap())
        .collect()
}

fn ident(model_crc: u32) -> Ident<'static> {
    Ident {
        board: "test-board",
        firmware: [0, 3, 1],
        model_crc,
    }
}

#[test]
fn a_users_inference_is_served_with_its_shape_and_cost() {
    let mut agent = Agent::new(Linear, Ticks(0), NoStack, ident(0xC0FF_EE00)).unwrap();
    let mut rx = frame(1, Request::Info);
    rx.extend(frame(2, infer(&[1.0, 2.0, 0.5])));
    rx.extend(frame(3, Request::Stats));
    for chunk in [1, 5, 16] {
        let got = exchange(&mut agent, rx.clone(), chunk);
        assert_eq!(got.len(), 3, "chunk {chunk}");
        let Response::Info(info) = &got[0].response else {
            panic!("{got:?}")
        };
        assert_eq!(
            (info.inputs, info.outputs, info.hidden.len(), info.model_crc),
            (3, 2, 0, 0xC0FF_EE00)
        );
        assert_eq!(
            (info.cost_unit, info.clock_hz),
            (CostUnit::Cycles, 64_000_000)
        );
        assert_eq!(info.board.as_str(), "test-board");
        let Response::Inference(i) = &got[1].response else {
            panic!("{got:?}")
        };
        // 1 + 2 + 0.5 and twice that; the class is the larger; one clock step of 100.
        assert_eq!((&i.logits[..], i.class, i.cost), (&[3.5, 7.0][..], 1, 100));
        assert_eq!(got[1].id, Some(2));
    }
}

#[test]
fn a_failed_inference_or_a_bad_frame_is_answered_and_the_agent_goes_on() {
    let mut agent = Agent::new(Linear, NoClock, NoStack, ident(0)).unwrap();
    let mut rx = frame(1, infer(&[-1.0, 0.0, 0.0]));
    rx.extend(frame(2, infer(&[1.0, 0.0])));
    let mut corrupted = frame(3, infer(&[1.0, 1.0, 1.0]));
    corrupted[4] ^= 0x10;
    rx.extend(corrupted);
    rx.extend(frame(4, infer(&[1.0, 1.0, 1.0])));
    rx.extend(frame(5, Request::Stats));
    let got = exchange(&mut agent, rx, 7);
    let responses: Vec<_> = got.iter().map(|r| (r.id, r.response.clone())).collect();
    assert_eq!(responses[0], (Some(1), Response::Error(DeviceError::Model)));
    assert_eq!(
        responses[1],
        (
            Some(2),
            Response::Error(DeviceError::FeatureCount {
                expected: 3,
                found: 2
            })
        )
    );
    assert!(
        matches!(responses[2], (None, Response::Error(DeviceError::Frame(_)))),
        "{responses:?}"
    );
    let Response::Inference(i) = &responses[3].1 else {
        panic!("{responses:?}")
    };
    // No clock: the cost is 0, and Info says it is unmeasured.
    assert_eq!((&i.logits[..], i.cost), (&[3.0, 6.0][..], 0));
    assert_eq!(agent.server().info().cost_unit, CostUnit::Unmeasured);
    let Response::Stats(s) = &responses[4].1 else {
        panic!("{responses:?}")
    };
    assert_eq!((s.served, s.rejected), (1, 3));
}

#[test]
fn a_shape_the_protocol_cannot_carry_is_refused() {
    struct Wide;
    impl Inference for Wide {
        fn dims(&self) -> Dims {
            Dims::deep(2, &[], MAX_LOGITS + 1).unwrap()
        }
        fn infer(&mut self, _: &[f32], _: &mut [f32]) -> Result<(), Failed> {
            Ok(())
        }
    }
    let e = Agent::new(Wide, NoClock, NoStack, ident(0)).err();
    assert!(matches!(e, Some(ServerError::ModelTooLarge(_))), "{e:?}");
    let long = Ident {
        board: "a board name longer than the limit",
        ..ident(0)
    };
    let e = Agent::new(Linear, NoClock, NoStack, long).err();
    assert_eq!(e, Some(ServerError::NameTooLong));
}

#[test]
fn an_mlprobe_model_is_served_bit_for_bit_through_infer() {
    use mlprobe_core::mlp::{Mlp, Model};
    use mlprobe_core::transform::{Fill, Standardizer};
    let dims = Dims::new(2, 3, 2).unwrap();
    let params: Vec<f32> = (0..dims.param_count())
        .map(|k| (k as f32 * 0.71).sin())
        .collect();
    let norm = Standardizer::new([0.5f32, -1.0], [2.0f32, 0.25], Fill::Mean).unwrap();
    let model = Model::new(norm, Mlp::new(dims, params).unwrap()).unwrap();
    let mut agent = Agent::<_, _, _, 7>::with_infer(&model, Ticks(0), NoStack, ident(7)).unwrap();
    let x = [0.3f32, f32::NAN];
    let got = exchange(&mut agent, frame(9, infer(&x)), 16);
    let Response::Inference(i) = &got[0].response else {
        panic!("{got:?}")
    };
    let mut scratch = [0.0; 7];
    let want = model.infer(&x, &mut scratch).unwrap();
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&i.logits), bits(want));
}
