//! The C API on the host, through its `extern "C"` functions as a C firmware calls them: the
//! error codes of `mlprobe_agent_init`, and an agent's life (answers before and after it is
//! set up, set up again, a failed set-up that leaves it as it was). The answers are decoded
//! with core's protocol, the host's side of the link.
extern crate std;

use super::*;
use core::ffi::CStr;
use core::sync::atomic::{AtomicU32, Ordering};
use mlprobe_core::protocol::{
    self, CostUnit, DeviceError, MAX_FRAME, PROTOCOL_VERSION, Request, RequestFrame, Response,
    ResponseFrame,
};
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

/// One agent per program: the tests take turns.
static LOCK: Mutex<()> = Mutex::new(());
/// The frames the agent wrote, in order.
static SENT: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
/// The counter: 100 ticks per read.
static TICKS: AtomicU32 = AtomicU32::new(0);

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Outputs: the sum of the features, then the context as a number. Fails on a NaN first
/// feature.
unsafe extern "C" fn infer(
    context: *mut c_void,
    features: *const f32,
    n_features: u32,
    outputs: *mut f32,
    n_outputs: u32,
) -> i32 {
    // SAFETY: the agent's contract (MlprobeInferFn).
    let (x, out) = unsafe {
        (
            core::slice::from_raw_parts(features, n_features as usize),
            core::slice::from_raw_parts_mut(outputs, n_outputs as usize),
        )
    };
    if x[0].is_nan() {
        return 1;
    }
    out[0] = x.iter().sum();
    out[1] = context as usize as f32;
    0
}

unsafe extern "C" fn write(_: *mut c_void, bytes: *const u8, len: u32) {
    // SAFETY: the agent's contract (MlprobeWriteFn).
    let frame = unsafe { core::slice::from_raw_parts(bytes, len as usize) };
    SENT.lock().unwrap().push(frame.to_vec());
}

unsafe extern "C" fn counter(_: *mut c_void) -> u32 {
    TICKS.fetch_add(100, Ordering::Relaxed) + 100
}

const HIDDEN: [u16; 1] = [8];

/// A model of 3 features, one hidden layer of 8 to report, 2 outputs; a cycle counter at 2
/// cycles per tick.
fn config(board: &CStr) -> MlprobeAgentConfig {
    MlprobeAgentConfig {
        board: board.as_ptr(),
        firmware_version: [1, 2, 3],
        model_crc: 0xDEAD_BEEF,
        inputs: 3,
        outputs: 2,
        hidden: HIDDEN.as_ptr(),
        hidden_len: 1,
        infer: Some(infer),
        write: Some(write),
        counter: Some(counter),
        counter_mask: 0,
        cost_per_tick: 2,
        clock_hz: 48_000_000,
        cost_unit: MLPROBE_COST_CYCLES,
        context: 7 as *mut c_void,
    }
}

fn init(config: &MlprobeAgentConfig) -> i32 {
    // SAFETY: a valid configuration, its strings and arrays static.
    unsafe { mlprobe_agent_init(config) }
}

fn receive(bytes: &[u8]) -> i32 {
    // SAFETY: `bytes.len()` readable bytes.
    unsafe { mlprobe_agent_receive(bytes.as_ptr(), bytes.len() as u32) }
}

/// The request as the host sends it.
fn frame(id: u32, request: Request) -> Vec<u8> {
    let mut out = [0u8; MAX_FRAME];
    let n = protocol::encode(&RequestFrame { id, request }, &mut out).unwrap();
    out[..n].to_vec()
}

/// The last answer written, decoded.
fn last_answer() -> ResponseFrame {
    let mut frame = SENT.lock().unwrap().pop().expect("an answer was written");
    let (delimiter, body) = frame.split_last_mut().unwrap();
    assert_eq!(*delimiter, 0);
    protocol::decode(body).unwrap()
}

/// Sends one request in one piece and returns its answer.
fn ask(id: u32, request: Request) -> Response {
    assert_eq!(receive(&frame(id, request)), 1, "one answer");
    let answer = last_answer();
    assert_eq!(answer.id, Some(id));
    answer.response
}

fn infer_request(features: &[f32]) -> Request {
    Request::Infer {
        features: features.iter().copied().collect(),
    }
}

#[test]
fn an_agent_answers_once_set_up_and_is_set_up_again_in_place() {
    let _turn = lock();
    // Before `mlprobe_agent_init`: nothing is read, nothing written.
    assert_eq!(
        receive(&frame(1, Request::Info)),
        MLPROBE_ERR_NOT_INITIALISED
    );
    assert!(SENT.lock().unwrap().is_empty());

    assert_eq!(init(&config(c"board-one")), MLPROBE_OK);
    let Response::Info(info) = ask(2, Request::Info) else {
        panic!("not an Info")
    };
    assert_eq!(info.protocol, PROTOCOL_VERSION);
    assert_eq!(info.board.as_str(), "board-one");
    assert_eq!(info.firmware, [1, 2, 3]);
    assert_eq!(
        (info.clock_hz, info.cost_unit),
        (48_000_000, CostUnit::Cycles)
    );
    assert_eq!(
        (info.inputs, &info.hidden[..], info.outputs),
        (3, &[8][..], 2)
    );
    assert_eq!(info.model_crc, 0xDEAD_BEEF);

    // The features reach the callback and its outputs come back bit for bit; the cost is the
    // counter's 100 ticks at 2 cycles each; the class is the argmax (the context, 7 > 6).
    let Response::Inference(inf) = ask(3, infer_request(&[1.0, 2.0, 3.0])) else {
        panic!("not an Inference")
    };
    assert_eq!(
        (&inf.logits[..], inf.class, inf.cost),
        (&[6.0, 7.0][..], 1, 200)
    );
    // A failing callback and a wrong count are answered with errors.
    assert_eq!(
        ask(4, infer_request(&[f32::NAN, 0.0, 0.0])),
        Response::Error(DeviceError::Model)
    );
    assert_eq!(
        ask(5, infer_request(&[1.0, 2.0])),
        Response::Error(DeviceError::FeatureCount {
            expected: 3,
            found: 2
        })
    );
    let Response::Stats(stats) = ask(6, Request::Stats) else {
        panic!("not Stats")
    };
    assert_eq!((stats.served, stats.rejected), (2, 2));

    // Byte by byte: one answer, on the delimiter.
    let bytes = frame(7, Request::Ping);
    let (last, head) = bytes.split_last().unwrap();
    for b in head {
        assert_eq!(receive(core::slice::from_ref(b)), 0);
    }
    assert_eq!(receive(&[*last]), 1);
    assert_eq!(last_answer().id, Some(7));
    assert_eq!(receive(&[]), 0);

    // A set-up that fails leaves the agent as it was.
    let mut bad = config(c"board-two");
    bad.outputs = 17;
    assert_eq!(init(&bad), MLPROBE_ERR_SHAPE);
    let Response::Info(info) = ask(8, Request::Info) else {
        panic!("not an Info")
    };
    assert_eq!(info.board.as_str(), "board-one");

    // Set up again, with half a frame pending: the half is forgotten, the counters restart,
    // and without a counter the costs are unmeasured.
    let half = frame(9, Request::Stats);
    assert_eq!(receive(&half[..half.len() / 2]), 0);
    let mut second = config(c"board-two");
    second.counter = None;
    second.context = 3 as *mut c_void;
    assert_eq!(init(&second), MLPROBE_OK);
    let Response::Stats(stats) = ask(10, Request::Stats) else {
        panic!("not Stats")
    };
    assert_eq!((stats.served, stats.rejected), (0, 0));
    let Response::Info(info) = ask(11, Request::Info) else {
        panic!("not an Info")
    };
    assert_eq!(
        (info.board.as_str(), info.cost_unit),
        ("board-two", CostUnit::Unmeasured)
    );
    let Response::Inference(inf) = ask(12, infer_request(&[1.0, 1.0, 1.0])) else {
        panic!("not an Inference")
    };
    assert_eq!(
        (&inf.logits[..], inf.class, inf.cost),
        (&[3.0, 3.0][..], 0, 0)
    );
}

#[test]
fn init_names_what_is_wrong_with_a_configuration() {
    let _turn = lock();
    let ok = || config(c"board");
    let code = |change: &dyn Fn(&mut MlprobeAgentConfig)| {
        let mut c = ok();
        change(&mut c);
        init(&c)
    };
    // SAFETY: a null configuration is one of the cases the function checks.
    assert_eq!(
        unsafe { mlprobe_agent_init(core::ptr::null()) },
        MLPROBE_ERR_NULL
    );
    assert_eq!(code(&|c| c.infer = None), MLPROBE_ERR_NULL);
    assert_eq!(code(&|c| c.write = None), MLPROBE_ERR_NULL);
    assert_eq!(code(&|c| c.board = core::ptr::null()), MLPROBE_ERR_NULL);
    assert_eq!(code(&|c| c.hidden = core::ptr::null()), MLPROBE_ERR_NULL);
    // 24 bytes is the longest name; 25 is too long; a byte of 0x80 or more is not ASCII.
    assert_eq!(
        code(&|c| c.board = c"abcdefghijklmnopqrstuvwxy".as_ptr()),
        MLPROBE_ERR_NAME
    );
    assert_eq!(
        code(&|c| c.board = c"caf\xc3\xa9".as_ptr()),
        MLPROBE_ERR_NAME
    );
    assert_eq!(code(&|c| c.inputs = 0), MLPROBE_ERR_SHAPE);
    assert_eq!(code(&|c| c.inputs = 65), MLPROBE_ERR_SHAPE);
    assert_eq!(code(&|c| c.outputs = 0), MLPROBE_ERR_SHAPE);
    assert_eq!(code(&|c| c.outputs = 17), MLPROBE_ERR_SHAPE);
    static WIDE: [u16; 8] = [4; 8];
    assert_eq!(
        code(&|c| {
            c.hidden = WIDE.as_ptr();
            c.hidden_len = 8;
        }),
        MLPROBE_ERR_SHAPE
    );
    static ZERO: [u16; 1] = [0];
    assert_eq!(code(&|c| c.hidden = ZERO.as_ptr()), MLPROBE_ERR_SHAPE);
    static HUGE: [u16; 1] = [257];
    assert_eq!(code(&|c| c.hidden = HUGE.as_ptr()), MLPROBE_ERR_SHAPE);
    assert_eq!(code(&|c| c.cost_unit = 9), MLPROBE_ERR_COST_UNIT);
}
