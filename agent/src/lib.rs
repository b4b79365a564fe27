//! # mlprobe-agent
//!
//! The device side of mlprobe's [protocol](mlprobe_core::protocol) for **any** firmware: your
//! inference, served over any [`embedded_io`] byte transport (a UART, RTT, USB CDC, a TCP
//! socket), so that `mlprobe device validate`, `mlprobe load` and `mlprobe chaos` can test the
//! model your product runs, on your board, with your inference code (TensorFlow Lite Micro,
//! CMSIS-NN, emlearn, hand-written Rust).
//!
//! No allocation, no `unsafe`, every buffer sized at compile time. mlprobe's own firmware
//! (`firmware/`) is served by this crate too: there is one device server.
//!
//! ## Make your firmware testable
//!
//! Implement [`Inference`] for your model (features in, outputs out), give the agent a
//! transport, and loop:
//!
//! ```
//! use mlprobe_agent::{Agent, Dims, Failed, Ident, Inference, NoClock, NoStack};
//!
//! /// Your model: here two logits from three features.
//! struct MyModel;
//! impl Inference for MyModel {
//!     fn dims(&self) -> Dims {
//!         Dims::deep(3, &[], 2).unwrap() // 3 inputs, no hidden layer to report, 2 outputs
//!     }
//!     fn infer(&mut self, x: &[f32], out: &mut [f32]) -> Result<(), Failed> {
//!         out[0] = x[0] + x[1];
//!         out[1] = x[2];
//!         Ok(())
//!     }
//! }
//!
//! /// The firmware's entry point, once the board is set up: `uart` is any byte transport.
//! fn serve<U: embedded_io::Read + embedded_io::Write>(uart: &mut U) -> ! {
//!     let ident = Ident { board: "my-board", firmware: [1, 0, 0], model_crc: 0 };
//!     let mut agent = Agent::new(MyModel, NoClock, NoStack, ident).unwrap();
//!     loop {
//!         let _ = agent.poll(uart); // or log the transport's error
//!     }
//! }
//! ```
//!
//! - `model_crc` is the checksum of the mlprobe model file your model was made from
//!   (`MLPROBE_MODEL_CRC` in a header from `mlprobe export --format c`, or the model file's last
//!   four bytes): the host then checks that the device runs the model it validates against.
//!   `0` says "unknown": the host checks only the numbers of inputs and outputs.
//! - A [`Clock`] gives the cost of each inference (the DWT cycle counter, SysTick, a timer);
//!   [`NoClock`] reports none.
//! - A [`StackMeter`] reports the stack's high-water mark; [`NoStack`] reports none.
//!
//! A model with its own scratch buffer, such as mlprobe's compiled-in MLP, implements core's
//! [`Infer`] instead and is served with [`Agent::with_infer`].
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use embedded_io;
pub use mlprobe_core::mlp::{Dims, MlpError};
pub use mlprobe_core::protocol::{CostUnit, MAX_FEATURES, MAX_FRAME, MAX_LOGITS, MAX_NAME, Stats};
pub use mlprobe_core::server::{
    Clock, Ident, Infer, NoClock, NoStack, Server, ServerError, StackMeter,
};

use embedded_io::{Read, Write};

/// An inference failed (the user's model said so): the host is answered with a device error
/// for that request, and the agent carries on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failed;

/// The user's model, as the agent calls it.
pub trait Inference {
    /// The model's shape: its inputs and outputs (at most [`MAX_FEATURES`] and
    /// [`MAX_LOGITS`]), and the hidden widths to report (none is fine: `Dims::deep(inputs,
    /// &[], outputs)`). With an MLP exported by mlprobe, the same widths as its model file, so
    /// the host can check them.
    fn dims(&self) -> Dims;
    /// Computes the outputs (logits or scores) for one row of raw features: `features` has
    /// `dims().inputs()` values, `outputs` has `dims().outputs()` slots.
    fn infer(&mut self, features: &[f32], outputs: &mut [f32]) -> Result<(), Failed>;
}

/// An [`Inference`] as core's [`Infer`]: its scratch is the outputs.
#[derive(Clone, Debug)]
pub struct Outputs<M>(pub M);

impl<M: Inference> Infer for Outputs<M> {
    #[inline]
    fn dims(&self) -> Dims {
        self.0.dims()
    }

    #[inline]
    fn scratch_len(&self) -> usize {
        self.0.dims().outputs()
    }

    #[inline]
    fn infer<'s>(&mut self, raw: &[f32], scratch: &'s mut [f32]) -> Result<&'s [f32], MlpError> {
        let n = self.0.dims().outputs();
        let found = scratch.len();
        let out = scratch
            .get_mut(..n)
            .ok_or(MlpError::Length { expected: n, found })?;
        self.0.infer(raw, out).map_err(|Failed| MlpError::Failed)?;
        Ok(out)
    }
}

/// The agent: a protocol [`Server`] over the model, and the buffer its answers are encoded in.
/// `S` is the server's scratch length ([`MAX_LOGITS`] for an [`Inference`]). About 0.8 KB of
/// RAM; put it in a `static` or on `main`'s stack.
pub struct Agent<M, C = NoClock, K = NoStack, const S: usize = MAX_LOGITS> {
    server: Server<M, C, K, S>,
    out: [u8; MAX_FRAME],
}

impl<M: Inference, C: Clock, K: StackMeter> Agent<Outputs<M>, C, K, MAX_LOGITS> {
    /// An agent serving `model`, its cost measured by `clock`. Fails when the model's shape
    /// does not fit the protocol or the board name is longer than [`MAX_NAME`] bytes.
    pub fn new(model: M, clock: C, stack: K, ident: Ident<'_>) -> Result<Self, ServerError> {
        Self::with_infer(Outputs(model), clock, stack, ident)
    }
}

impl<M, C, K, const S: usize> Agent<M, C, K, S> {
    /// An agent that is not set up yet, for a `static` set up at run time with
    /// [`configure`](Self::configure) (see [`Server::unconfigured`]: zero-initialised memory
    /// when `model`, `clock` and `stack` are zero, so no flash).
    pub const fn unconfigured(model: M, clock: C, stack: K) -> Self {
        Self {
            server: Server::unconfigured(model, clock, stack),
            out: [0; MAX_FRAME],
        }
    }
}

impl<M: Infer, C: Clock, K: StackMeter, const S: usize> Agent<M, C, K, S> {
    /// An agent serving a model that implements core's [`Infer`] (a scratch buffer of `S`
    /// values of its own: mlprobe's firmware).
    pub fn with_infer(model: M, clock: C, stack: K, ident: Ident<'_>) -> Result<Self, ServerError> {
        Ok(Self {
            server: Server::new(model, clock, stack, ident)?,
            out: [0; MAX_FRAME],
        })
    }

    /// Sets the agent up (again) in place, with the checks of [`with_infer`](Self::with_infer)
    /// ([`Server::configure`]). On error the agent is left as it was.
    pub fn configure(
        &mut self,
        model: M,
        clock: C,
        stack: K,
        ident: Ident<'_>,
    ) -> Result<(), ServerError> {
        self.server.configure(model, clock, stack, ident)
    }

    /// Takes received bytes (any amount: part of a frame, several frames); each answer is
    /// passed to `send` as soon as its request is complete. An error of `send` stops the
    /// bytes after it from being read: they are dropped, and the host's retry resends them.
    pub fn receive<E>(
        &mut self,
        bytes: &[u8],
        mut send: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        for &b in bytes {
            if let Some(n) = self.feed(b) {
                send(&self.out[..n])?;
            }
        }
        Ok(())
    }

    /// One byte into the server. Not inlined: the server (decoding, the inference, encoding)
    /// is one copy in flash, not one per unrolled iteration of a read loop (a firmware built
    /// with a high unroll threshold for its dense loops doubled in size without this).
    #[inline(never)]
    fn feed(&mut self, byte: u8) -> Option<usize> {
        self.server.feed(byte, &mut self.out)
    }

    /// Reads one byte from the transport (blocking until it arrives) and, when it completes a
    /// request, writes and flushes the answer. One byte per call: no loop for the compiler to
    /// unroll around the server (decoding, the inference, encoding), which stays one copy in
    /// flash. Inlined: in a firmware's `main`, the server is a local whose scratch the
    /// compiler keeps in registers and on the stack; behind a pointer (this function not
    /// inlined) mlprobe's wine model took 2,520 instructions per inference instead of 1,320.
    #[inline]
    pub fn poll<T: Read + Write>(&mut self, io: &mut T) -> Result<(), T::Error> {
        let mut byte = [0u8; 1];
        if io.read(&mut byte)? == 1
            && let Some(n) = self.server.feed(byte[0], &mut self.out)
        {
            io.write_all(&self.out[..n])?;
            io.flush()?;
        }
        Ok(())
    }

    /// Serves forever; returns the transport's first error (a firmware that would rather log
    /// and go on calls [`poll`](Self::poll) in its own loop).
    pub fn serve<T: Read + Write>(&mut self, io: &mut T) -> T::Error {
        loop {
            if let Err(e) = self.poll(io) {
                return e;
            }
        }
    }

    /// The server: its counters, what it reports as [`Info`](mlprobe_core::protocol::Info).
    pub fn server(&self) -> &Server<M, C, K, S> {
        &self.server
    }
}

#[cfg(test)]
mod tests;
