//! The model on a device: one [`Session`] (firmware, QEMU or a board, boot, model check, stop)
//! that every device user opens, [`validate`] (bit for bit against the host), where a run went
//! ([`TargetSpec`], [`TargetReport`]), who a device is ([`DeviceInfo`]) and firmware builds
//! ([`build`]).
//!
//! The firmware (`firmware/`, its own cargo workspace) compiles the model in at build time;
//! [`crate::firmware`] builds it. The host talks to it through [`crate::link`] only.

mod session;
mod validate;

pub use session::{AnyLink, Emulator, Endpoint, ModelCheck, Session, SessionOptions, link_error};
pub use validate::{
    Cost, Largest, Mismatch, Tolerance, ValidateOptions, ValidateReport, abs_error, cost_unit_name,
    ulp_distance, validate,
};

use crate::error::Result;
use crate::firmware::{Board, build_firmware, elf_sizes, firmware_dir};
use mlprobe_core::protocol::Info;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where requests go: `host`, `qemu`, `serial:PATH` or `tcp:ADDR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// The model in this process.
    Host,
    /// The firmware for the model in QEMU (`mps2-an386`), built and started here.
    Qemu,
    /// A board on a serial port, flashed with the model.
    Serial(String),
    /// A device (or `mlprobe device run`) on a TCP socket.
    Tcp(String),
    /// A model server speaking the Open Inference Protocol v2 over HTTP (`mlprobe serve`,
    /// KServe, Triton): its infer URL, `http://HOST:PORT/v2/models/NAME/infer`.
    Http(String),
}

impl FromStr for TargetSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        const SUPPORTED: &str = "use host, qemu, serial:PATH, tcp:HOST:PORT or \
                                 http://HOST:PORT/v2/models/NAME/infer";
        let shown = match s.char_indices().nth(64) {
            Some((at, _)) => format!("{}…", &s[..at]),
            None => s.to_string(),
        };
        // An HTTP model server: the infer URL of the Open Inference Protocol, nothing else.
        if let Some(rest) = s.strip_prefix("http://") {
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let port_ok = authority
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
            let model = path
                .strip_prefix("v2/models/")
                .and_then(|p| p.strip_suffix("/infer"))
                .filter(|m| !m.is_empty() && !m.contains('/'));
            return match (port_ok, model) {
                (true, Some(_)) => Ok(Self::Http(s.into())),
                _ => Err(format!(
                    "`{shown}` is not a target: an HTTP target is a model's infer URL, \
                     http://HOST:PORT/v2/models/NAME/infer (the Open Inference Protocol v2); \
                     {SUPPORTED}"
                )),
            };
        }
        // Issue 15: `tcp:http://…` got as far as a DNS lookup and failed as a device error.
        if s.contains("://") {
            return Err(format!(
                "`{shown}` is not a target: URLs are not supported (the device speaks mlprobe's \
                 framed protocol, not HTTP); {SUPPORTED}"
            ));
        }
        match s {
            "host" => Ok(Self::Host),
            "qemu" => Ok(Self::Qemu),
            _ => match s.split_once(':') {
                Some(("serial", p)) if !p.is_empty() => Ok(Self::Serial(p.into())),
                Some(("tcp", a)) => match a.rsplit_once(':') {
                    Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                        Ok(Self::Tcp(a.into()))
                    }
                    _ => Err(format!(
                        "`{shown}` is not a target: tcp needs a host and a port number, as in \
                         tcp:127.0.0.1:7878; {SUPPORTED}"
                    )),
                },
                _ => Err(format!("`{shown}` is not a target: {SUPPORTED}")),
            },
        }
    }
}

impl std::fmt::Display for TargetSpec {
    /// As written on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host | Self::Qemu => f.write_str(self.kind()),
            Self::Serial(p) => write!(f, "serial:{p}"),
            Self::Tcp(a) => write!(f, "tcp:{a}"),
            Self::Http(u) => f.write_str(u),
        }
    }
}

impl TargetSpec {
    /// `host`, `qemu`, `serial`, `tcp` or `http`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Qemu => "qemu",
            Self::Serial(_) => "serial",
            Self::Tcp(_) => "tcp",
            Self::Http(_) => "http",
        }
    }

    /// True for a device reached through a [`Session`] (one request at a time).
    pub fn is_device(&self) -> bool {
        matches!(self, Self::Qemu | Self::Serial(_) | Self::Tcp(_))
    }

    /// The session that reaches this target's device running `model` (`None` for the host):
    /// `elf` is the firmware QEMU runs (built when `None`), `baud` the serial port's rate.
    pub fn session(&self, model: &Path, elf: Option<&Path>, baud: u32) -> Option<SessionOptions> {
        let endpoint = match self {
            Self::Host | Self::Http(_) => return None,
            Self::Qemu => Endpoint::Qemu { port: None },
            Self::Serial(path) => Endpoint::Serial {
                path: path.clone(),
                baud,
            },
            Self::Tcp(addr) => Endpoint::Tcp { addr: addr.clone() },
        };
        let mut opts = SessionOptions::new(endpoint);
        opts.model = Some(model.to_path_buf());
        opts.elf = elf.map(Path::to_path_buf);
        Some(opts)
    }
}

/// Which target a run went to (`load` and `chaos` JSON).
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    /// `host`, `qemu`, `serial` or `tcp`.
    pub kind: String,
    /// The board a device reported (`qemu-mps2-an386`), or `host`.
    pub board: String,
    /// The link (`tcp://127.0.0.1:…`), absent on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl TargetReport {
    /// The model in this process.
    pub fn host() -> Self {
        Self {
            kind: "host".into(),
            board: "host".into(),
            link: None,
        }
    }

    /// A model server at its infer URL.
    pub fn http(url: &str) -> Self {
        Self {
            kind: "http".into(),
            board: "http".into(),
            link: Some(url.into()),
        }
    }

    /// The device of `session`, reached as `spec`.
    pub fn device(spec: &TargetSpec, session: &Session) -> Self {
        Self {
            kind: spec.kind().into(),
            board: session.info().board.to_string(),
            link: Some(session.link_name().into()),
        }
    }

    /// `" via LINK"`, or nothing on the host.
    pub fn via(&self) -> String {
        self.link
            .as_deref()
            .map_or_else(String::new, |l| format!(" via {l}"))
    }
}

/// `major.minor.patch` of a device's firmware.
pub fn version(info: &Info) -> String {
    let [a, b, c] = info.firmware;
    format!("{a}.{b}.{c}")
}

/// Who a device is (`device run --ping` JSON).
#[derive(Clone, Debug, Serialize)]
pub struct DeviceInfo {
    /// The board.
    pub board: String,
    /// Firmware version.
    pub firmware: String,
    /// Protocol version.
    pub protocol: u16,
    /// Model inputs.
    pub inputs: u16,
    /// Units of each hidden layer.
    pub hidden: Vec<u16>,
    /// Model outputs.
    pub outputs: u16,
    /// The checksum of the model compiled in.
    pub model_crc: u32,
    /// The cost clock's frequency.
    pub clock_hz: u32,
    /// The cost clock's unit.
    #[serde(skip)]
    pub cost_unit: String,
}

/// `13-32-3`: a model's widths from inputs to classes.
fn join_widths(inputs: u16, hidden: &[u16], outputs: u16) -> String {
    std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .chain([outputs])
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// The widths of the model a device runs, as [`mlprobe_core::mlp::Dims`] prints them.
pub fn widths(i: &Info) -> String {
    join_widths(i.inputs, &i.hidden, i.outputs)
}

impl From<&Info> for DeviceInfo {
    fn from(i: &Info) -> Self {
        Self {
            board: i.board.to_string(),
            firmware: version(i),
            protocol: i.protocol,
            inputs: i.inputs,
            hidden: i.hidden.to_vec(),
            outputs: i.outputs,
            model_crc: i.model_crc,
            clock_hz: i.clock_hz,
            cost_unit: format!("{:?}", i.cost_unit),
        }
    }
}

impl DeviceInfo {
    /// One line.
    pub fn human(&self) -> String {
        format!(
            "{} firmware {} protocol {}: model {} (crc {:#010x}), clock {} Hz, cost in {}\n",
            self.board,
            self.firmware,
            self.protocol,
            join_widths(self.inputs, &self.hidden, self.outputs),
            self.model_crc,
            self.clock_hz,
            self.cost_unit
        )
    }
}

/// `device build` JSON.
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    /// The ELF built.
    pub elf: PathBuf,
    /// The board.
    pub board: Board,
    /// Flash bytes.
    pub flash_bytes: u64,
    /// Static RAM bytes.
    pub ram_bytes: u64,
}

/// Builds the firmware for `board` with `model` compiled in (the bundled model when `None`)
/// from the firmware crate `firmware` (default: [`firmware_dir`]`(None)`).
pub fn build(model: Option<&Path>, board: Board, firmware: Option<&Path>) -> Result<BuildReport> {
    let elf = build_firmware(model, board, &firmware_dir(firmware))?;
    let s = elf_sizes(&elf)?;
    Ok(BuildReport {
        elf,
        board,
        flash_bytes: s.flash_bytes,
        ram_bytes: s.ram_bytes,
    })
}

impl BuildReport {
    /// The ELF's path, flash and RAM.
    pub fn human(&self) -> String {
        format!(
            "{}\nflash {} bytes, static RAM {} bytes\n",
            self.elf.display(),
            self.flash_bytes,
            self.ram_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_specs() {
        assert_eq!("host".parse(), Ok(TargetSpec::Host));
        assert_eq!(
            "serial:/dev/ttyACM0".parse(),
            Ok(TargetSpec::Serial("/dev/ttyACM0".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:7878".parse(),
            Ok(TargetSpec::Tcp("127.0.0.1:7878".into()))
        );
        for s in ["host", "qemu", "serial:/dev/ttyACM0", "tcp:127.0.0.1:7878"] {
            assert_eq!(s.parse::<TargetSpec>().unwrap().to_string(), s);
        }
        assert!("serial:".parse::<TargetSpec>().is_err());
        assert!("board".parse::<TargetSpec>().is_err());
        // Issue 15: URLs and a tcp target without a port are usage errors naming the
        // supported targets, not a failed connection.
        for bad in [
            "http://127.0.0.1:8080",
            "tcp:http://127.0.0.1:8080",
            "tcp://127.0.0.1:7878",
            "tcp:127.0.0.1",
            "tcp::7878",
            "tcp:host:99999",
        ] {
            let e = bad.parse::<TargetSpec>().unwrap_err();
            assert!(e.contains("tcp:HOST:PORT"), "{bad}: {e}");
        }
        assert!("tcp:[::1]:7878".parse::<TargetSpec>().is_ok());
        // An OIP model server: its infer URL, and nothing else over HTTP.
        let url = "http://127.0.0.1:8080/v2/models/wine/infer";
        assert_eq!(url.parse(), Ok(TargetSpec::Http(url.into())));
        assert_eq!(TargetSpec::Http(url.into()).to_string(), url);
        for bad in [
            "http://127.0.0.1/v2/models/wine/infer",
            "http://127.0.0.1:8080/v2/models/wine",
            "http://127.0.0.1:8080/v2/models//infer",
            "https://127.0.0.1:8080/v2/models/wine/infer",
        ] {
            let e = bad.parse::<TargetSpec>().unwrap_err();
            assert!(
                e.contains("http://HOST:PORT/v2/models/NAME/infer"),
                "{bad}: {e}"
            );
        }
        let m = Path::new("m.mlpb");
        assert!(TargetSpec::Host.session(m, None, 9600).is_none());
        let s = TargetSpec::Serial("/dev/x".into())
            .session(m, None, 9600)
            .unwrap();
        assert_eq!(
            s.endpoint,
            Endpoint::Serial {
                path: "/dev/x".into(),
                baud: 9600
            }
        );
        assert_eq!(s.model.as_deref(), Some(m));
    }
}
