//! The byte link to a device, and a protocol client over it.
//!
//! [`Link`] is all the host knows of a device: bytes out, bytes in with a timeout. Two links
//! exist: [`TcpLink`] (QEMU's UART on a local socket) and [`SerialLink`] (a board's UART on a
//! serial port). [`Client`] speaks [`mlprobe_core::protocol`] over any of them; it never
//! touches board-specific code.

use mlprobe_core::protocol::{
    self, Decoded, FrameDecoder, FrameError, MAX_FRAME, Request, RequestFrame, Response,
    ResponseFrame,
};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A byte link to a device.
pub trait Link {
    /// Sends every byte.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Receives at least one byte, or fails with `ErrorKind::TimedOut` / `WouldBlock` after
    /// the timeout, or returns 0 when the link is closed.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Sets the receive timeout.
    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()>;
    /// A name for messages (`tcp://127.0.0.1:7878`, `/dev/ttyACM0`).
    fn describe(&self) -> String;
}

/// QEMU's UART (or anything else) on a TCP socket.
#[derive(Debug)]
pub struct TcpLink {
    stream: TcpStream,
}

impl TcpLink {
    /// Wraps a connected stream (Nagle off: requests are small and answered one by one).
    pub fn new(stream: TcpStream) -> io::Result<Self> {
        stream.set_nodelay(true)?;
        Ok(Self { stream })
    }

    /// Connects to `addr`, retrying until `within` has passed (QEMU may still be starting).
    pub fn connect(addr: &str, within: Duration) -> io::Result<Self> {
        let start = Instant::now();
        loop {
            match TcpStream::connect(addr) {
                Ok(s) => return Self::new(s),
                Err(e) if start.elapsed() >= within => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Link for TcpLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }

    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.stream.set_read_timeout(Some(timeout))
    }

    fn describe(&self) -> String {
        match self.stream.peer_addr() {
            Ok(a) => format!("tcp://{a}"),
            Err(_) => "tcp".into(),
        }
    }
}

/// A board's UART on a serial port (8N1, no flow control).
pub struct SerialLink {
    port: Box<dyn serialport::SerialPort>,
    path: String,
}

impl SerialLink {
    /// Opens `path` at `baud`.
    pub fn open(path: &str, baud: u32) -> Result<Self, serialport::Error> {
        let port = serialport::new(path, baud)
            .timeout(Duration::from_secs(2))
            .open()?;
        Ok(Self {
            port,
            path: path.into(),
        })
    }
}

impl Link for SerialLink {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.port.read(buf)
    }

    fn set_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.port.set_timeout(timeout).map_err(io::Error::other)
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}

/// What can go wrong talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The link failed.
    #[error("{link}: {source}")]
    Io {
        /// The link.
        link: String,
        /// The error.
        source: io::Error,
    },
    /// No complete answer within the timeout.
    #[error("{link}: no answer within {timeout:?} (is the firmware running and the link right?)")]
    Timeout {
        /// The link.
        link: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The device closed the link.
    #[error("{link}: the device closed the link")]
    Closed {
        /// The link.
        link: String,
    },
    /// A frame from the device could not be read.
    #[error("{link}: bad frame from the device: {error}")]
    Frame {
        /// The link.
        link: String,
        /// What was wrong.
        error: FrameError,
    },
    /// A request could not be encoded (too many features for the protocol).
    #[error("request does not fit a frame: {0}")]
    Encode(FrameError),
}

/// A protocol client over a [`Link`]: numbered requests, matched responses.
pub struct Client<L> {
    link: L,
    decoder: FrameDecoder<MAX_FRAME>,
    next_id: u32,
    timeout: Duration,
    pending: Vec<u8>,
}

impl<L: Link> Client<L> {
    /// A client with a 5 s answer timeout.
    pub fn new(link: L) -> Self {
        Self {
            link,
            decoder: FrameDecoder::new(),
            next_id: 1,
            timeout: Duration::from_secs(5),
            pending: Vec::new(),
        }
    }

    /// Sets the answer timeout.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The link.
    pub fn link(&mut self) -> &mut L {
        &mut self.link
    }

    fn io(&self, source: io::Error) -> LinkError {
        LinkError::Io {
            link: self.link.describe(),
            source,
        }
    }

    /// Encodes a request as it goes on the wire: a leading delimiter (so that a damaged
    /// frame before it ends there), then the frame.
    pub fn encode(id: u32, request: Request) -> Result<Vec<u8>, LinkError> {
        let mut buf = [0u8; MAX_FRAME];
        let n =
            protocol::encode(&RequestFrame { id, request }, &mut buf).map_err(LinkError::Encode)?;
        let mut wire = Vec::with_capacity(n + 1);
        wire.push(0);
        wire.extend_from_slice(&buf[..n]);
        Ok(wire)
    }

    /// Sends raw bytes (for fault injection).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.link.send(bytes).map_err(|e| self.io(e))
    }

    /// Sends a request and returns its id without waiting.
    pub fn send(&mut self, request: Request) -> Result<u32, LinkError> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let wire = Self::encode(id, request)?;
        self.send_raw(&wire)?;
        Ok(id)
    }

    /// The next response frame from the device.
    pub fn recv(&mut self) -> Result<ResponseFrame, LinkError> {
        let deadline = Instant::now() + self.timeout;
        let mut buf = [0u8; 512];
        loop {
            // Bytes already received after the previous frame come first.
            while !self.pending.is_empty() {
                let bytes = std::mem::take(&mut self.pending);
                if let Some((frame, rest)) = self.decoder.feed::<ResponseFrame>(&bytes) {
                    self.pending = rest.to_vec();
                    return match frame {
                        Decoded::Ok(f) => Ok(f),
                        Decoded::Err(error) => Err(LinkError::Frame {
                            link: self.link.describe(),
                            error,
                        }),
                    };
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(LinkError::Timeout {
                    link: self.link.describe(),
                    timeout: self.timeout,
                });
            }
            self.link.set_timeout(left).map_err(|e| self.io(e))?;
            match self.link.recv(&mut buf) {
                Ok(0) => {
                    return Err(LinkError::Closed {
                        link: self.link.describe(),
                    });
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    /// Pings until the device answers, for at most `within`. A freshly started device may drop
    /// what arrives before its UART is enabled (QEMU's CMSDK UART does), so the first request
    /// of a session goes through here.
    pub fn wait_ready(&mut self, within: Duration) -> Result<Response, LinkError> {
        let saved = self.timeout;
        let deadline = Instant::now() + within;
        self.timeout = Duration::from_millis(200);
        let result = loop {
            match self.call(Request::Ping) {
                Ok(r) => break Ok(r),
                Err(LinkError::Timeout { .. } | LinkError::Frame { .. })
                    if Instant::now() < deadline => {}
                Err(e) => break Err(e),
            }
        };
        self.timeout = saved;
        result
    }

    /// Sends a request and waits for its response (responses to other ids are skipped).
    pub fn call(&mut self, request: Request) -> Result<Response, LinkError> {
        let id = self.send(request)?;
        loop {
            let frame = self.recv()?;
            if frame.id == Some(id) {
                return Ok(frame.response);
            }
        }
    }
}
