//! Running the firmware in QEMU with deterministic timing, on the machine that emulates its
//! board ([`Machine`]: `mps2-an386`, Cortex-M4F, for `qemu`; `microbit`, Cortex-M0, for
//! `microbit`).
//!
//! QEMU runs with `-icount shift=0`: one guest instruction is one nanosecond of virtual time,
//! so the firmware's cost clock advances exactly once per 40 instructions (SysTick at 25 MHz,
//! `qemu`) or 62.5 instructions (TIMER0 at 16 MHz, `microbit`) and the cost it reports is an
//! instruction count, the same on every host. The UART is a TCP socket:
//! either QEMU connects to a listener of ours (race-free, [`Qemu::start`]) or it listens on a
//! fixed port for any client ([`Qemu::serve`]). Semihosting carries the firmware's logs on
//! QEMU's stdout: defmt frames, decoded here with the ELF's defmt table, or text lines from a
//! firmware without one.
//!
//! A [`Qemu`] kills its process when dropped: no QEMU is ever left behind, even on a panic.

use crate::firmware::Board;
use crate::link::TcpLink;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-arm";

/// What can go wrong with QEMU.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// The board has no QEMU machine.
    #[error(
        "board {0}: QEMU does not emulate it (the emulated boards are qemu and microbit); \
         flash the board and reach it with --serial"
    )]
    NoMachine(Board),
    /// QEMU is not installed.
    #[error("{QEMU} not found ({0}): install it (Debian/Ubuntu: apt-get install qemu-system-arm)")]
    NotFound(std::io::Error),
    /// QEMU could not be started or talked to.
    #[error("QEMU: {0}")]
    Io(#[from] std::io::Error),
    /// QEMU exited before the firmware connected.
    #[error("QEMU exited before the firmware's UART connected: {0}")]
    Exited(String),
    /// The ELF could not be read.
    #[error("{}: {message}", path.display())]
    Elf {
        /// The ELF.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl From<QemuError> for crate::error::Error {
    /// A bad ELF is a file error and a board QEMU does not emulate a usage error (exit 2);
    /// every other failure is the emulator's (exit 4).
    fn from(e: QemuError) -> Self {
        match e {
            QemuError::Elf { path, message } => Self::File { path, message },
            e @ QemuError::NoMachine(_) => Self::Usage(e.to_string()),
            other => Self::Device(other.to_string()),
        }
    }
}

/// A running QEMU.
pub struct Qemu {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

/// The QEMU machine that emulates a board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The board.
    pub board: Board,
    /// `-machine`.
    pub name: &'static str,
    /// `-cpu`, when the machine takes one (`microbit` has its Cortex-M0 built in).
    pub cpu: Option<&'static str>,
    /// The core, as messages name it.
    pub core: &'static str,
    /// The architectures its firmware is built for, as an ELF's `Tag_CPU_arch` build attribute
    /// gives them ([`cpu_arch`]).
    pub archs: &'static [u64],
}

impl Machine {
    /// The machine of `board`: `mps2-an386` with a Cortex-M4 for `qemu`, `microbit` for
    /// `microbit`; any other board is [`QemuError::NoMachine`].
    pub fn of(board: Board) -> Result<Self, QemuError> {
        match board.name() {
            "qemu" => Ok(Self {
                board,
                name: "mps2-an386",
                cpu: Some("cortex-m4"),
                core: "Cortex-M4F (ARMv7E-M)",
                archs: &[ARCH_V7EM],
            }),
            "microbit" => Ok(Self {
                board,
                name: "microbit",
                cpu: None,
                core: "Cortex-M0 (ARMv6-M)",
                archs: &[ARCH_V6M, ARCH_V6SM],
            }),
            _ => Err(QemuError::NoMachine(board)),
        }
    }

    /// An ELF built for another architecture than this machine's core is refused before QEMU
    /// starts: a micro:bit firmware on `mps2-an386` would boot, find no UART where it looks
    /// for one, and leave the host waiting for an answer. An ELF without the attribute passes.
    fn check(&self, elf: &Path, bytes: &[u8]) -> Result<(), QemuError> {
        match cpu_arch(bytes) {
            Some(arch) if !self.archs.contains(&arch) => {
                let fix = ["qemu", "microbit"]
                    .into_iter()
                    .filter_map(|name| Machine::of(Board::new(name).ok()?).ok())
                    .find(|m| m.archs.contains(&arch))
                    .map_or_else(
                        || "build it for this board".to_string(),
                        |m| format!("pass --board {}", m.board),
                    );
                Err(QemuError::Elf {
                    path: elf.into(),
                    message: format!(
                        "built for {} (build attribute Tag_CPU_arch = {arch}), but board {} is \
                         emulated as a {}: {fix}",
                        arch_name(arch),
                        self.board,
                        self.core
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

/// `Tag_CPU_arch` values (Arm IHI 0045, "Addenda to, and Errata in, the ABI for the Arm
/// Architecture", build attributes; `llvm-readelf --arch-specific` prints them).
const ARCH_V6M: u64 = 11;
const ARCH_V6SM: u64 = 12;
const ARCH_V7EM: u64 = 13;

fn arch_name(arch: u64) -> String {
    match arch {
        ARCH_V6M | ARCH_V6SM => "ARMv6-M".into(),
        ARCH_V7EM => "ARMv7E-M".into(),
        other => format!("Arm architecture {other}"),
    }
}

/// The `Tag_CPU_arch` build attribute of a 32-bit little-endian Arm ELF (its
/// `.ARM.attributes` section, vendor `aeabi`, file scope), if it has one.
pub fn cpu_arch(bytes: &[u8]) -> Option<u64> {
    use object::elf::{FileHeader32, SHT_ARM_ATTRIBUTES};
    use object::read::elf::{FileHeader, SectionHeader};
    let header = FileHeader32::<object::Endianness>::parse(bytes).ok()?;
    let endian = header.endian().ok()?;
    let sections = header.sections(endian, bytes).ok()?;
    let section = sections
        .iter()
        .find(|s| s.sh_type(endian) == SHT_ARM_ATTRIBUTES)?;
    let attributes = section.attributes(endian, bytes).ok()?;
    let mut subsections = attributes.subsections().ok()?;
    while let Some(sub) = subsections.next().ok()? {
        if sub.vendor() != b"aeabi" {
            continue;
        }
        let mut subsubs = sub.subsubsections();
        while let Some(subsub) = subsubs.next().ok()? {
            if subsub.tag() != object::elf::Tag_File {
                continue;
            }
            let mut reader = subsub.attributes();
            // Each value's form follows from its tag (the same addenda): tags 4, 5 and 67 and
            // odd tags above 32 are strings, tag 32 an integer and a string, the rest
            // integers. Tag 65 has a form of its own; the architecture comes before it.
            while let Some(tag) = reader.read_tag().ok()? {
                match tag {
                    6 => return reader.read_integer().ok(),
                    4 | 5 | 67 => {
                        reader.read_string().ok()?;
                    }
                    32 => {
                        reader.read_integer().ok()?;
                        reader.read_string().ok()?;
                    }
                    65 => return None,
                    t if t > 32 && t % 2 == 1 => {
                        reader.read_string().ok()?;
                    }
                    _ => {
                        reader.read_integer().ok()?;
                    }
                }
            }
        }
    }
    None
}

fn base_command(elf: &Path, machine: Machine) -> Command {
    let mut c = Command::new(QEMU);
    c.args(["-machine", machine.name]);
    if let Some(cpu) = machine.cpu {
        c.args(["-cpu", cpu]);
    }
    c.args(["-icount", "shift=0"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(["-display", "none", "-monitor", "none", "-nodefaults"])
        .arg("-kernel")
        .arg(elf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

impl Qemu {
    /// Starts QEMU on `elf`, built for `board`, and connects to its UART. QEMU connects to a
    /// listener of ours on a free local port, so two runs never race for a port. `echo`
    /// copies the defmt logs to stderr as they arrive.
    pub fn start(elf: &Path, board: Board, echo: bool) -> Result<(Self, TcpLink), QemuError> {
        let machine = Machine::of(board)?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mut cmd = base_command(elf, machine);
        cmd.arg("-serial")
            .arg(format!("tcp:127.0.0.1:{port},nodelay=on"));
        let mut qemu = Self::spawn(cmd, elf, machine, echo)?;
        listener.set_nonblocking(true)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false)?;
                    return Ok((qemu, TcpLink::new(stream)?));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(status) = qemu.child.try_wait()? {
                        let err = qemu.stderr_text();
                        return Err(QemuError::Exited(format!("{status}: {err}")));
                    }
                    if Instant::now() > deadline {
                        return Err(QemuError::Exited("no connection within 20 s".into()));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Starts QEMU on `elf`, built for `board`, with its UART listening on `127.0.0.1:port`
    /// for any client.
    pub fn serve(elf: &Path, board: Board, port: u16, echo: bool) -> Result<Self, QemuError> {
        let machine = Machine::of(board)?;
        let mut cmd = base_command(elf, machine);
        cmd.arg("-serial").arg(format!(
            "tcp:127.0.0.1:{port},server=on,wait=off,nodelay=on"
        ));
        Self::spawn(cmd, elf, machine, echo)
    }

    fn spawn(
        mut cmd: Command,
        elf: &Path,
        machine: Machine,
        echo: bool,
    ) -> Result<Self, QemuError> {
        let bytes = std::fs::read(elf).map_err(|e| QemuError::Elf {
            path: elf.into(),
            message: e.to_string(),
        })?;
        machine.check(elf, &bytes)?;
        // mlprobe's firmware logs through defmt; any other firmware (the C API's, a user's)
        // has no defmt table, and what it prints over semihosting is taken as text lines.
        let table = defmt_decoder::Table::parse(&bytes).map_err(|e| QemuError::Elf {
            path: elf.into(),
            message: format!("defmt table: {e}"),
        })?;
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => QemuError::NotFound(e),
            _ => QemuError::Io(e),
        })?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| QemuError::Io(std::io::Error::other("QEMU's stdout is not piped")))?;
        let sink = Arc::clone(&logs);
        let log = move |line: String| {
            if echo {
                crate::output::eprintln(&format!("device: {line}"));
            }
            if let Ok(mut l) = sink.lock() {
                l.push(line);
            }
        };
        let reader = std::thread::spawn(move || match table {
            Some(table) => read_defmt(stdout, &table, log),
            None => read_text(stdout, log),
        });
        let mut err = child.stderr.take();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut s);
            }
            s
        });
        Ok(Self {
            child,
            logs,
            reader: Some(reader),
            stderr: Some(stderr),
        })
    }

    fn stderr_text(&mut self) -> String {
        self.stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// The defmt log lines received so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits for QEMU to exit by itself (the firmware ended through semihosting).
    pub fn wait(&mut self) -> Result<std::process::ExitStatus, QemuError> {
        Ok(self.child.wait()?)
    }

    /// Stops QEMU and returns the defmt log lines it printed.
    pub fn stop(mut self) -> Vec<String> {
        self.kill();
        self.logs()
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if let Some(e) = self.stderr.take() {
            let _ = e.join();
        }
    }
}

/// Decodes the defmt frames of QEMU's stdout until it closes.
fn read_defmt(mut stdout: impl Read, table: &defmt_decoder::Table, mut log: impl FnMut(String)) {
    let mut decoder = table.new_stream_decoder();
    let mut buf = [0u8; 1024];
    while let Ok(n) = stdout.read(&mut buf) {
        if n == 0 {
            break;
        }
        decoder.received(&buf[..n]);
        loop {
            match decoder.decode() {
                Ok(frame) => {
                    let level = frame.level().map_or("", |l| l.as_str());
                    log(format!("{level:>5} {}", frame.display_message()));
                }
                Err(defmt_decoder::DecodeError::UnexpectedEof) => break,
                Err(defmt_decoder::DecodeError::Malformed) => {
                    log("(malformed defmt frame)".into());
                    break;
                }
            }
        }
    }
}

/// Takes QEMU's stdout as text lines until it closes (a firmware without defmt).
fn read_text(stdout: impl Read, mut log: impl FnMut(String)) {
    use std::io::BufRead;
    for line in std::io::BufReader::new(stdout).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end();
        if !line.is_empty() {
            log(line.to_string());
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.kill();
    }
}
