//! The firmware as the host sees it: where its crate is, the boards it supports, building it
//! with a model compiled in, and the flash and RAM of the ELF it produces.

use crate::error::{Error, Result};
use crate::model_io;
use object::{Object, ObjectSection, ObjectSegment, SectionFlags, SectionKind};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A board the firmware supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Board {
    /// QEMU `mps2-an386` (Cortex-M4F).
    Qemu,
    /// Nordic nRF52840-DK (flash with probe-rs).
    Nrf52840,
}

impl Board {
    /// The firmware's cargo feature for this board.
    pub fn feature(self) -> &'static str {
        match self {
            Board::Qemu => "qemu",
            Board::Nrf52840 => "nrf52840",
        }
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
/// and returns the ELF. Each model gets its own target directory under `firmware/target/`, so
/// builds for different models never overwrite each other's ELF.
pub fn build_firmware(model: Option<&Path>, board: Board, firmware: &Path) -> Result<PathBuf> {
    let manifest = firmware.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Usage(format!(
            "{}: no firmware crate there (pass --firmware DIR or set MLPROBE_FIRMWARE)",
            manifest.display()
        )));
    }
    let model = match model {
        Some(m) => m.canonicalize().map_err(|e| Error::io(m, e))?,
        None => firmware.join("models/wine.mlpb"),
    };
    let bytes = std::fs::read(&model).map_err(|e| Error::io(&model, e))?;
    model_io::from_bytes(&bytes).map_err(|m| Error::file(&model, m))?;
    let tag = format!("{}-{:08x}", board.feature(), model_checksum(&bytes));
    let target_dir = firmware.join("target").join("models").join(tag);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(firmware)
        .args(["build", "--release", "--quiet", "--no-default-features"])
        .args(["--features", board.feature()])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("MLPROBE_MODEL", &model);
    // Settings of an enclosing cargo (tests, benches) must not leak into the firmware build:
    // it has its own target and flags in firmware/.cargo/config.toml.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTDOCFLAGS",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .map_err(|e| Error::Internal(format!("running cargo: {e}")))?;
    if !status.success() {
        return Err(Error::Internal(format!(
            "building the firmware failed ({status}); it needs `rustup target add thumbv7em-none-eabihf`"
        )));
    }
    Ok(target_dir.join("thumbv7em-none-eabihf/release/mlprobe-firmware"))
}

/// Flash and static RAM of a firmware ELF: flash is what a programmer writes (the file size of
/// the loadable segments), RAM the allocated sections in the RAM region.
pub fn elf_sizes(elf: &Path) -> Result<Sizes> {
    let bytes = std::fs::read(elf).map_err(|e| Error::io(elf, e))?;
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
