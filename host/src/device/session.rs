//! One device session: the firmware (built for the model, or an ELF already built), the device
//! (QEMU started here, a board on a serial port, or anything on a TCP socket), the boot (pings
//! until the device answers: QEMU's UART drops what arrives before it is enabled), who it is,
//! and whether it runs the model it should. `device run`, `device validate`, `load`, `chaos`
//! and `run` all open their device here.
//!
//! A session that started QEMU stops it when it is dropped ([`Qemu`] kills its process), so no
//! path, error or panic leaves an emulator behind. Every failure of the device, its link or
//! its emulator is [`Error::Device`] (exit 4); a model the device does not run is a usage
//! error (the fix is to build or flash the right firmware).
//!
//! ```no_run
//! use mlprobe::device::{Endpoint, Session, SessionOptions};
//! use mlprobe_core::protocol::Request;
//! # fn main() -> mlprobe::error::Result<()> {
//! let mut opts = SessionOptions::new(Endpoint::Qemu { port: None });
//! opts.model = Some("wine.mlpb".into()); // built into the firmware, then checked
//! let mut session = Session::open(&opts)?;
//! println!("{} runs model {:#010x}", session.info().board, session.info().model_crc);
//! let answer = session.call(Request::Stats, "asking for stats")?;
//! let logs = session.stop(); // or just drop it
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::firmware::{Board, build_firmware, firmware_dir, model_checksum};
use crate::link::{Client, Link, LinkError, SerialLink, TcpLink};
use crate::model_io;
use crate::qemu::{Machine, Qemu};
use mlprobe_core::protocol::{Info, Request, Response, Stats};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

/// How to reach the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// QEMU started here, on the machine of [`SessionOptions::board`]. Its UART connects to a
    /// listener of ours (`port: None`, race-free), or listens on `127.0.0.1:port` for any
    /// client (`mlprobe device run`).
    Qemu {
        /// The fixed local port QEMU listens on, if any.
        port: Option<u16>,
    },
    /// A flashed board on a serial port.
    Serial {
        /// The port (`/dev/ttyACM0`).
        path: String,
        /// Baud rate.
        baud: u32,
    },
    /// A device (or `mlprobe device run`) on a TCP socket.
    Tcp {
        /// `HOST:PORT`.
        addr: String,
    },
}

/// What to open: the device, and the firmware and model it should run.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// How to reach the device.
    pub endpoint: Endpoint,
    /// The model the device must run (its checksum and shape are checked after the boot);
    /// for QEMU without `elf`, also the model built into the firmware (the firmware's bundled
    /// model when `None`, and nothing is checked).
    pub model: Option<PathBuf>,
    /// A firmware ELF already built: what QEMU runs, or what a board was flashed with (its
    /// sizes are then known).
    pub elf: Option<PathBuf>,
    /// The firmware crate to build from (default: [`firmware_dir`]`(None)`).
    pub firmware: Option<PathBuf>,
    /// The board the firmware is built for, and that QEMU emulates (default `qemu`).
    pub board: Board,
    /// Copy the device's defmt log to stderr as it arrives (QEMU).
    pub echo: bool,
    /// How long the device may take to answer its first ping.
    pub ready_within: Duration,
}

impl SessionOptions {
    /// Options for `endpoint` with no model, no ELF, the default firmware crate and board, no
    /// echo and 10 s to boot.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            model: None,
            elf: None,
            firmware: None,
            board: Board::qemu(),
            echo: false,
            ready_within: Duration::from_secs(10),
        }
    }

    /// The ELF QEMU runs: `elf`, or the firmware built for `model` and `board`.
    /// A board QEMU does not emulate is a usage error, before anything is built.
    pub fn elf_to_run(&self) -> Result<PathBuf> {
        Machine::of(self.board)?;
        match &self.elf {
            Some(e) => Ok(e.clone()),
            None => build_firmware(
                self.model.as_deref(),
                self.board,
                &firmware_dir(self.firmware.as_deref()),
            ),
        }
    }
}

/// Maps a link failure to [`Error::Device`], saying what was being done.
pub fn link_error(what: &str) -> impl Fn(LinkError) -> Error + '_ {
    move |e| Error::Device(format!("{what}: {e}"))
}

/// A byte link of any kind the session opens.
pub enum AnyLink {
    /// QEMU's UART or a socket.
    Tcp(TcpLink),
    /// A serial port.
    Serial(SerialLink),
}

impl Link for AnyLink {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Tcp(l) => l.send(bytes),
            Self::Serial(l) => l.send(bytes),
        }
    }
    fn recv(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(l) => l.recv(buf),
            Self::Serial(l) => l.recv(buf),
        }
    }
    fn set_timeout(&mut self, timeout: Duration) -> std::io::Result<()> {
        match self {
            Self::Tcp(l) => l.set_timeout(timeout),
            Self::Serial(l) => l.set_timeout(timeout),
        }
    }
    fn describe(&self) -> String {
        match self {
            Self::Tcp(l) => l.describe(),
            Self::Serial(l) => l.describe(),
        }
    }
}

/// How a device's model was found to be the model file's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelCheck {
    /// The checksum it reports is the model file's (and so are its widths).
    Checksum,
    /// It reports no checksum (0): its numbers of inputs and outputs (and hidden widths, when
    /// it reports them) are the model file's.
    Shape,
}

/// An open device: booted, identified, running the expected model.
pub struct Session {
    client: Client<AnyLink>,
    info: Info,
    link: String,
    elf: Option<PathBuf>,
    model_check: Option<ModelCheck>,
    // Last: dropped (QEMU killed) after the client has closed its socket.
    qemu: Option<Qemu>,
}

impl Session {
    /// Opens the device of `opts`: builds the firmware and starts QEMU when the endpoint is
    /// QEMU, opens the link, pings until the device answers, asks who it is and checks that it
    /// runs `opts.model`.
    pub fn open(opts: &SessionOptions) -> Result<Self> {
        match &opts.endpoint {
            Endpoint::Qemu { port: None } => {
                let elf = opts.elf_to_run()?;
                let (qemu, link) = Qemu::start(&elf, opts.board, opts.echo)?;
                Self::boot(AnyLink::Tcp(link), Some(qemu), Some(elf), opts)
            }
            Endpoint::Qemu { port: Some(_) } => Emulator::serve(opts)?.connect(opts),
            Endpoint::Serial { path, baud } => {
                let link = SerialLink::open(path, *baud)
                    .map_err(|e| Error::Device(format!("{path}: {e}")))?;
                Self::boot(AnyLink::Serial(link), None, opts.elf.clone(), opts)
            }
            Endpoint::Tcp { addr } => {
                let link = TcpLink::connect(addr, Duration::from_secs(5))
                    .map_err(|e| Error::Device(format!("tcp:{addr}: {e}")))?;
                Self::boot(AnyLink::Tcp(link), None, opts.elf.clone(), opts)
            }
        }
    }

    fn boot(
        link: AnyLink,
        qemu: Option<Qemu>,
        elf: Option<PathBuf>,
        opts: &SessionOptions,
    ) -> Result<Self> {
        let name = link.describe();
        let mut client = Client::new(link);
        let info = client
            .wait_ready(opts.ready_within)
            .map_err(link_error("waiting for the device"))
            .and_then(|_| match client.call(Request::Info) {
                Ok(Response::Info(i)) => Ok(i),
                Ok(other) => Err(Error::Device(format!(
                    "unexpected answer to Info: {other:?}"
                ))),
                Err(e) => Err(link_error("asking the device who it is")(e)),
            });
        let info = match (info, &qemu) {
            (Ok(i), _) => i,
            (Err(e), Some(q)) => return Err(with_logs(e, &q.logs())),
            (Err(e), None) => return Err(e),
        };
        let mut session = Self {
            client,
            info,
            link: name,
            elf,
            model_check: None,
            qemu,
        };
        if let Some(model) = &opts.model {
            session.check_model(model)?;
        }
        Ok(session)
    }

    /// Checks that the device runs the model in `path`: the checksum the model file stores
    /// and its shape. A device that reports checksum 0 (a firmware that does not know which
    /// model file its model came from: the agent's "unknown") is checked on its numbers of
    /// inputs and outputs, and on its hidden widths when it reports any.
    fn check_model(&mut self, path: &Path) -> Result<()> {
        let bytes = crate::limits::read_bytes(path, crate::limits::MODEL_BYTES, "model file")?;
        let d = model_io::from_bytes(&bytes)
            .map_err(|m| Error::file(path, m))?
            .dims();
        let (i, crc) = (&self.info, model_checksum(&bytes));
        let shape = usize::from(i.inputs) == d.inputs() && usize::from(i.outputs) == d.outputs();
        let (check, ok) = if i.model_crc == 0 {
            let hidden = i.hidden.is_empty() || i.hidden[..] == *d.hidden();
            (ModelCheck::Shape, shape && hidden)
        } else {
            (
                ModelCheck::Checksum,
                i.model_crc == crc && shape && i.hidden[..] == *d.hidden(),
            )
        };
        if ok {
            self.model_check = Some(check);
            return Ok(());
        }
        Err(Error::Usage(format!(
            "the device on {} runs another model ({}, crc {:#010x}) than {} ({d}, crc \
             {crc:#010x}): build and flash the firmware for this model",
            self.link,
            super::widths(i),
            i.model_crc,
            path.display(),
        )))
    }

    /// How the device's model was checked against the model file (`None` when no model was
    /// given).
    pub fn model_check(&self) -> Option<ModelCheck> {
        self.model_check
    }

    /// What the device said it is.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The link's name (`tcp://127.0.0.1:…`, `/dev/ttyACM0`).
    pub fn link_name(&self) -> &str {
        &self.link
    }

    /// The ELF the device runs, when known (QEMU; a board given `elf`).
    pub fn elf(&self) -> Option<&Path> {
        self.elf.as_deref()
    }

    /// The protocol client, for raw traffic (fault injection).
    pub fn client(&mut self) -> &mut Client<AnyLink> {
        &mut self.client
    }

    /// Sends `request` and waits for its answer; `what` names the step in the error.
    pub fn call(&mut self, request: Request, what: &str) -> Result<Response> {
        self.client.call(request).map_err(link_error(what))
    }

    /// Zeroes the device's counters.
    pub fn reset(&mut self) -> Result<()> {
        self.call(Request::Reset, "resetting the device's counters")
            .map(drop)
    }

    /// The device's counters.
    pub fn stats(&mut self) -> Result<Stats> {
        match self.call(Request::Stats, "asking for stats")? {
            Response::Stats(s) => Ok(s),
            other => Err(Error::Device(format!(
                "unexpected answer to Stats: {other:?}"
            ))),
        }
    }

    /// `e` with the device log appended (QEMU), when it is a device or internal failure.
    pub fn with_logs(&self, e: Error) -> Error {
        match &self.qemu {
            Some(q) => with_logs(e, &q.logs()),
            None => e,
        }
    }

    /// Closes the link, stops QEMU if the session started it, and returns its defmt log.
    pub fn stop(self) -> Vec<String> {
        let Self { client, qemu, .. } = self;
        drop(client);
        qemu.map(Qemu::stop).unwrap_or_default()
    }
}

fn with_logs(e: Error, logs: &[String]) -> Error {
    if logs.is_empty() {
        return e;
    }
    let log = logs.join("\n");
    match e {
        Error::Device(m) => Error::Device(format!("{m}\ndevice log:\n{log}")),
        Error::Internal(m) => Error::Internal(format!("{m}\ndevice log:\n{log}")),
        other => other,
    }
}

/// QEMU serving its UART on a fixed local port, not yet connected to: `mlprobe device run`
/// leaves the port to another client, or connects itself ([`Emulator::connect`]).
pub struct Emulator {
    qemu: Qemu,
    elf: PathBuf,
    port: u16,
}

impl Emulator {
    /// Builds or takes the ELF of `opts` and starts QEMU on it, its UART listening on
    /// `127.0.0.1:port` (`opts.endpoint` is `Endpoint::Qemu { port: Some(port) }`).
    pub fn serve(opts: &SessionOptions) -> Result<Self> {
        let Endpoint::Qemu { port: Some(port) } = opts.endpoint else {
            return Err(Error::Internal(format!(
                "Emulator::serve needs a QEMU endpoint with a port, not {:?}",
                opts.endpoint
            )));
        };
        let elf = opts.elf_to_run()?;
        let qemu = Qemu::serve(&elf, opts.board, port, opts.echo)?;
        Ok(Self { qemu, elf, port })
    }

    /// The ELF QEMU runs.
    pub fn elf(&self) -> &Path {
        &self.elf
    }

    /// The local port of the UART.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Waits for QEMU to exit by itself (the firmware ended through semihosting, or QEMU was
    /// killed).
    pub fn wait(mut self) -> Result<ExitStatus> {
        Ok(self.qemu.wait()?)
    }

    /// Connects to the UART and boots a session as [`Session::open`] does.
    pub fn connect(self, opts: &SessionOptions) -> Result<Session> {
        let addr = format!("127.0.0.1:{}", self.port);
        let link = TcpLink::connect(&addr, Duration::from_secs(10))
            .map_err(|e| Error::Device(format!("connecting to QEMU on {addr}: {e}")))?;
        Session::boot(AnyLink::Tcp(link), Some(self.qemu), Some(self.elf), opts)
    }
}
