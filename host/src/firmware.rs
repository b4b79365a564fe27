//! The firmware as the host sees it: where its crate is, the boards it supports, building it
//! with a model compiled in, and the flash and RAM of the ELF it produces.

use crate::error::{Error, Result};
use crate::model_io;
use object::{Object, ObjectSection, ObjectSegment, SectionFlags, SectionKind};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Longest board name.
const MAX_BOARD: usize = 32;

/// The firmware crate's default Rust target (`firmware/.cargo/config.toml`).
pub const DEFAULT_TARGET: &str = "thumbv7em-none-eabihf";

/// A board the firmware supports, by name: the firmware crate's `src/board/<name>.rs` and
/// `memory/<name>.x` (`qemu`, the default, `microbit` and `nrf52840` today). Making one checks only the
/// name's form; [`build_firmware`] checks it against the firmware crate's boards
/// ([`Board::available`]). `Copy` (the name is held inline), serialized as its name.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Board {
    name: [u8; MAX_BOARD],
    len: u8,
}

impl Board {
    /// QEMU `mps2-an386` (Cortex-M4F): the default, and what the tests run.
    pub const fn qemu() -> Self {
        let mut name = [0u8; MAX_BOARD];
        let (bytes, mut i) = (b"qemu", 0);
        while i < bytes.len() {
            name[i] = bytes[i];
            i += 1;
        }
        Self {
            name,
            len: bytes.len() as u8,
        }
    }

    /// A board name: 1 to 32 ASCII letters, digits, `-` or `_` (the stem of its files).
    pub fn new(name: &str) -> Result<Self> {
        let ok = (1..=MAX_BOARD).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(Error::Usage(format!(
                "--board `{name}`: a board name is 1 to {MAX_BOARD} letters, digits, `-` or `_`"
            )));
        }
        let mut board = Self {
            name: [0; MAX_BOARD],
            len: name.len() as u8,
        };
        board.name[..name.len()].copy_from_slice(name.as_bytes());
        Ok(board)
    }

    /// The name.
    pub fn name(&self) -> &str {
        // Made from a `&str` of ASCII bytes only.
        std::str::from_utf8(&self.name[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The Rust target the board's firmware is built for: `thumbv6m-none-eabi` for the
    /// Cortex-M0 of the `microbit`, [`DEFAULT_TARGET`] (Cortex-M4F) for every other board.
    pub fn target(&self) -> &'static str {
        match self.name() {
            "microbit" => "thumbv6m-none-eabi",
            _ => DEFAULT_TARGET,
        }
    }

    /// The boards of a firmware crate, sorted: each `src/board/<name>.rs` (but `mod.rs`) that
    /// has its `memory/<name>.x`.
    pub fn available(firmware: &Path) -> Result<Vec<Board>> {
        let dir = firmware.join("src/board");
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut boards: Vec<Board> = entries
            .filter_map(|e| {
                let path = e.ok()?.path();
                let stem = path.file_stem()?.to_str()?;
                let memory = firmware.join("memory").join(format!("{stem}.x"));
                let module = path.extension()? == "rs" && stem != "mod";
                (module && memory.is_file()).then(|| Board::new(stem).ok())?
            })
            .collect();
        boards.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(boards)
    }

    /// This board if `firmware` has it, else a usage error listing the boards it has.
    fn check(self, firmware: &Path) -> Result<Self> {
        let boards = Board::available(firmware)?;
        if boards.contains(&self) {
            return Ok(self);
        }
        let names: Vec<&str> = boards.iter().map(Board::name).collect();
        Err(Error::Usage(format!(
            "--board {self}: the firmware at {} has no such board (it has {})",
            firmware.display(),
            names.join(", ")
        )))
    }
}

impl Default for Board {
    fn default() -> Self {
        Self::qemu()
    }
}

impl std::fmt::Display for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Board({:?})", self.name())
    }
}

impl std::str::FromStr for Board {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Board::new(name)
    }
}

impl Serialize for Board {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `--board NAME` for clap: any well-formed name (the firmware crate, which `--firmware` may
/// name, is checked when building), with the default firmware crate's boards as the possible
/// values that help lists.
#[derive(Clone)]
pub struct BoardParser;

impl clap::builder::TypedValueParser for BoardParser {
    type Value = Board;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> std::result::Result<Board, clap::Error> {
        let name = value.to_string_lossy();
        Board::new(&name).map_err(|e| {
            clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n")).with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let firmware = firmware_dir(None);
        let boards = Board::available(&firmware).ok()?;
        Some(Box::new(boards.into_iter().map(move |b| {
            // The title of the board module's docs (`//! QEMU `mps2-an386`: …`) as its help.
            let module = firmware.join("src/board").join(format!("{b}.rs"));
            let text = std::fs::read_to_string(module).unwrap_or_default();
            let first = text.lines().next().unwrap_or_default();
            let title = first
                .trim_start_matches("//!")
                .split(": ")
                .next()
                .unwrap_or("");
            clap::builder::PossibleValue::new(b.name().to_string()).help(title.trim().to_string())
        })))
    }
}

impl clap::builder::ValueParserFactory for Board {
    type Parser = BoardParser;

    fn value_parser() -> BoardParser {
        BoardParser
    }
}

/// Flash and static RAM of a firmware ELF.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes programmed into flash (the file size of every loadable segment).
    pub flash_bytes: u64,
    /// Bytes of RAM taken by statics (`.data`, `.bss`, `.uninit`); the stack is the rest of RAM.
    pub ram_bytes: u64,
}

/// The firmware crate: `--firmware`, `$MLPROBE_FIRMWARE`, or `firmware/` of this checkout.
pub fn firmware_dir(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("MLPROBE_FIRMWARE").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware"))
}

/// The model file's own checksum (its last 4 bytes, little-endian): what the firmware reports
/// as `model_crc`. (The CRC of the whole file would be the same for every model: a CRC over a
/// message followed by its own CRC is a constant.)
pub fn model_checksum(bytes: &[u8]) -> u32 {
    match bytes {
        [.., a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

/// Builds the firmware for `board` with `model` compiled in (the bundled model when `None`)
/// and returns the ELF. Each board and model gets its own target directory under
/// `firmware/target/models/`, so builds for different models never overwrite each other's ELF.
/// A board the firmware does not have is a usage error; a failed build (a model the protocol
/// cannot carry, a missing Rust target, …) is [`Error::Device`] with cargo's message.
pub fn build_firmware(model: Option<&Path>, board: Board, firmware: &Path) -> Result<PathBuf> {
    let manifest = firmware.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Usage(format!(
            "{}: no firmware crate there (pass --firmware DIR or set MLPROBE_FIRMWARE)",
            manifest.display()
        )));
    }
    let board = board.check(firmware)?;
    let model = match model {
        Some(m) => m.canonicalize().map_err(|e| Error::io(m, e))?,
        None => firmware.join("models/wine.mlpb"),
    };
    let bytes = crate::limits::read_bytes(&model, crate::limits::MODEL_BYTES, "model file")?;
    let parsed = model_io::from_bytes(&bytes).map_err(|m| Error::file(&model, m))?;
    let profile = profile(&parsed, &board);
    let tag = format!("{board}-{:08x}", model_checksum(&bytes));
    let target_dir = firmware.join("target").join("models").join(tag);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(firmware)
        .args([
            "build",
            "--profile",
            profile,
            "--quiet",
            "--target",
            board.target(),
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("MLPROBE_BOARD", board.name())
        .env("MLPROBE_MODEL", &model);
    // Settings of an enclosing cargo (tests, benches) must not leak into the firmware build:
    // it has its own target and flags in firmware/.cargo/config.toml. No backtrace: a build
    // script's panic message is the whole story.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "RUST_BACKTRACE",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::Device(format!("running cargo to build the firmware: {e}")))?;
    if !out.status.success() {
        return Err(Error::Device(format!(
            "building the firmware for board {board} failed ({}): {}",
            out.status,
            build_failure(&String::from_utf8_lossy(&out.stderr))
        )));
    }
    Ok(target_dir
        .join(board.target())
        .join(profile)
        .join("mlprobe-firmware"))
}

/// The firmware's cargo profile for `model` on `board`: `int8` (everything but the generated
/// kernel built for size, see firmware/Cargo.toml) for an int8 model on a board with the
/// Cortex-M4's DSP kernel, `release` otherwise.
fn profile(model: &model_io::HostModel, board: &Board) -> &'static str {
    if model.int8.is_some() && board.target().starts_with("thumbv7em") {
        "int8"
    } else {
        "release"
    }
}

/// What a failed firmware build's stderr says: a build script's panic message (the board or
/// the model rejected, a protocol limit exceeded) when there is one, else cargo's error lines.
fn build_failure(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let panic = lines.iter().position(|l| l.contains("panicked at"));
    let message: Vec<&str> = match panic {
        Some(at) => lines[at + 1..]
            .iter()
            .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack backtrace:"))
            .filter(|l| !l.is_empty())
            .copied()
            .collect(),
        None => lines
            .iter()
            .filter(|l| l.starts_with("error") || l.contains("will not fit in region"))
            .copied()
            .collect(),
    };
    let mut text = if message.is_empty() {
        stderr.trim().to_string()
    } else {
        message.join("\n")
    };
    if stderr.contains("will not fit in region") {
        text.push_str(
            "\n(the model and the firmware do not fit the board's memory: the regions are in \
             firmware/memory/<board>.x; a smaller model, or a board with more flash or RAM)",
        );
    }
    if stderr.contains("target may not be installed") {
        for target in [DEFAULT_TARGET, "thumbv6m-none-eabi"] {
            if stderr.contains(target) {
                text.push_str(&format!("\n(run `rustup target add {target}`)"));
            }
        }
    }
    text
}

/// Flash and static RAM of a firmware ELF: flash is what a programmer writes (the file size of
/// the loadable segments), RAM the allocated sections in the RAM region.
pub fn elf_sizes(elf: &Path) -> Result<Sizes> {
    let bytes = crate::limits::read_bytes(elf, crate::limits::ELF_BYTES, "firmware ELF file")?;
    let file =
        object::File::parse(&*bytes).map_err(|e| Error::file(elf, format!("not an ELF: {e}")))?;
    let flash_bytes = file.segments().map(|s| s.file_range().1).sum();
    let ram_bytes = file
        .sections()
        .filter(|s| {
            let alloc = matches!(s.flags(), SectionFlags::Elf { sh_flags } if sh_flags & 2 != 0);
            alloc
                && s.address() >= 0x2000_0000
                && matches!(
                    s.kind(),
                    SectionKind::Data
                        | SectionKind::UninitializedData
                        | SectionKind::Tls
                        | SectionKind::UninitializedTls
                )
        })
        .map(|s| s.size())
        .sum();
    Ok(Sizes {
        flash_bytes,
        ram_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlprobe_core::mlp::{Dims, Mlp, Model};
    use mlprobe_core::transform::{Fill, Standardizer};

    #[test]
    fn board_names_are_checked_for_form_and_against_the_firmware() {
        assert_eq!(Board::qemu().name(), "qemu");
        assert_eq!(Board::default(), Board::qemu());
        assert_eq!("nrf52840".parse::<Board>().unwrap().name(), "nrf52840");
        assert_eq!(serde_json::to_string(&Board::qemu()).unwrap(), "\"qemu\"");
        for bad in ["", "a b", "../qemu", &"x".repeat(33)] {
            assert!(matches!(Board::new(bad), Err(Error::Usage(_))), "{bad:?}");
        }
        let fw = firmware_dir(None);
        let names: Vec<String> = Board::available(&fw)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["microbit", "nrf52840", "qemu"]);
        assert_eq!(Board::qemu().target(), "thumbv7em-none-eabihf");
        assert_eq!(
            Board::new("microbit").unwrap().target(),
            "thumbv6m-none-eabi"
        );
        let Err(Error::Usage(m)) = Board::new("stm32").unwrap().check(&fw) else {
            panic!("an unknown board must be a usage error")
        };
        assert!(m.contains("microbit, nrf52840, qemu"), "{m}");
    }

    #[test]
    fn build_failure_keeps_the_build_scripts_message() {
        let stderr = "error: failed to run custom build command for `mlprobe-firmware`\n\
            \n  --- stderr\n\n  thread 'main' (1) panicked at build.rs:70:9:\n  \
            /m.mlpb: the model has 20 classes, more than the device protocol carries \
            (MAX_LOGITS = 16): this model cannot be served by the firmware\n  \
            note: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(
            build_failure(stderr),
            "/m.mlpb: the model has 20 classes, more than the device protocol carries \
             (MAX_LOGITS = 16): this model cannot be served by the firmware"
        );
        let stderr = "   Compiling x\nerror[E0463]: can't find crate for `core`\n  = note: \
            the `thumbv7em-none-eabihf` target may not be installed\n";
        let text = build_failure(stderr);
        assert!(text.starts_with("error[E0463]"), "{text}");
        assert!(
            text.contains("rustup target add thumbv7em-none-eabihf"),
            "{text}"
        );
        let stderr = "error[E0463]: can't find crate for `core`\n  = note: the \
            `thumbv6m-none-eabi` target may not be installed\n";
        assert!(
            build_failure(stderr).contains("rustup target add thumbv6m-none-eabi"),
            "{stderr}"
        );
    }

    /// The firmware refuses, while it is built, a model with more classes than a response
    /// carries logits: the build fails and the message names the limit.
    #[test]
    fn a_model_with_more_classes_than_the_protocol_carries_does_not_build() {
        let outputs = mlprobe_core::protocol::MAX_LOGITS + 4;
        let dims = Dims::new(2, 4, outputs).unwrap();
        let params = (0..dims.param_count()).map(|k| k as f32 * 0.01).collect();
        let norm = Standardizer::new(vec![0.0; 2], vec![1.0; 2], Fill::Mean).unwrap();
        let model = Model::new(norm, Mlp::new(dims, params).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.mlpb");
        model_io::save(&path, &model_io::HostModel::new(model), &[]).unwrap();
        match build_firmware(Some(&path), Board::qemu(), &firmware_dir(None)) {
            Err(Error::Device(m)) => {
                assert!(m.contains("MAX_LOGITS = 16"), "{m}");
                assert!(m.contains(&format!("{outputs} classes")), "{m}");
            }
            other => panic!("expected a failed build, got {other:?}"),
        }
    }
}
