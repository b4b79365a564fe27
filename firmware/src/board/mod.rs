//! Board support: one file per board in this directory, each giving its `NAME`, a UART
//! (written against `embedded-io`), a cost clock (`init`) and a way to stop (`fail`). The one
//! named by `MLPROBE_BOARD` (default `qemu`) is compiled in as `selected` by build.rs, which
//! also gives the linker its `memory/<name>.x`.

include!(concat!(env!("OUT_DIR"), "/board.rs"));

// The board's name travels in `Info`: checked here so that no board can fail at boot for it.
const _: () = assert!(
    NAME.len() <= mlprobe_core::protocol::MAX_NAME,
    "the board's NAME is longer than mlprobe_core::protocol::MAX_NAME"
);

/// What a board hands to `main`.
pub struct Parts<U, C> {
    /// The link to the host.
    pub uart: U,
    /// The cost clock.
    pub clock: C,
}

/// The UART never fails on these boards; `embedded-io` wants an error type all the same.
#[derive(Debug, Clone, Copy)]
pub struct UartError;

impl embedded_io::Error for UartError {
    fn kind(&self) -> embedded_io::ErrorKind {
        embedded_io::ErrorKind::Other
    }
}
